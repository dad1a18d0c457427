using CompiledNets.Samples.Iris;
using Xunit;

namespace CompiledNets.Tests.Samples;

/// <summary>The tutorial's device step: <c>--device</c> in the Iris sample.</summary>
public class IrisDeviceTests
{
    [Fact]
    public void OnTheIlgpuCpuAccelerator_TheTutorialTrains_AndSaysWhere()
    {
        var log = new StringWriter();
        var result = IrisTutorial.Run(new IrisOptions(Epochs: 5, LogEvery: 5, Device: Device.IlgpuCpu), log);
        string text = log.ToString();
        Assert.Contains("device: ilgpu-cpu", text);
        Assert.InRange(result.FinalLoss, 0.3f, 3f); // near ln 3 ≈ 1.1 after 5 epochs of a fresh net
        Assert.InRange(result.TestAccuracy, 0f, 1f);
    }

    [Fact]
    public void WithoutCuda_AskingForCuda_SaysWhyInOneLine_AndTrainsOnTheCpu()
    {
        if (Cuda.IsAvailable())
        {
            return; // the fallback is only observable on a machine without CUDA
        }
        var log = new StringWriter();
        var result = IrisTutorial.Run(new IrisOptions(Epochs: 20, LogEvery: 20, Device: Device.Cuda(0)), log);
        var lines = log.ToString().Split('\n').Where(l => l.StartsWith("cuda: not available (", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("training on the CPU", lines[0]);
        Assert.Contains("device: cpu", log.ToString());
        Assert.True(float.IsFinite(result.FinalLoss));
    }

    [Fact]
    public void AnUnknownDevice_IsACommandLineError()
    {
        var error = new StringWriter();
        int code = IrisCommand.Run(["--device", "tpu"], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains("--device must be cpu, cuda, cuda:N or ilgpu-cpu; got 'tpu'", error.ToString());
    }
}
