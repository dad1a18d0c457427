using CompiledNets.Samples.Digits;
using CompiledNets.Samples.Iris;
using Xunit;

namespace CompiledNets.Tests.Samples;

/// <summary>The samples reach their accuracy bars on mini-batches from the DataLoader, with short schedules.</summary>
public class MiniBatchSampleTests
{
    [Fact]
    public void IrisOnMiniBatchesOf32ReachesItsBar()
    {
        var log = new StringWriter();
        var result = IrisTutorial.Run(new IrisOptions(Epochs: 60, LogEvery: 20, BatchSize: 32), log);
        Assert.Contains("mini-batches of 32 rows, shuffled each epoch: 4 steps per epoch", log.ToString());
        Assert.Contains("train: 112 rows, test: 38 rows", log.ToString());
        Assert.True(result.TestAccuracy >= 0.93f, $"Iris test accuracy {result.TestAccuracy} < 0.93\n{log}");
    }

    [Fact]
    public void IrisMiniBatchRunsAreReproducible()
    {
        var options = new IrisOptions(Epochs: 5, LogEvery: 5, BatchSize: 16, Seed: 7);
        var first = IrisTutorial.Run(options, TextWriter.Null);
        var second = IrisTutorial.Run(options, TextWriter.Null);
        Assert.Equal(first.FinalLoss, second.FinalLoss);
    }

    [Fact]
    public void DigitsReachesItsBarAndPrintsALinePerEpoch()
    {
        var log = new StringWriter();
        var result = DigitsTraining.Run(new DigitsOptions(Epochs: 10), log);
        string text = log.ToString();
        Assert.Contains("digits: 1797 images of 64 pixels, 10 classes; train 1347, test 450", text);
        Assert.Equal(10, text.Split('\n').Count(line => line.StartsWith("epoch ", StringComparison.Ordinal)));
        Assert.True(result.TestAccuracy >= 0.95f, $"Digits test accuracy {result.TestAccuracy} < 0.95\n{text}");
    }

    [Fact]
    public void DigitsResidualReachesItsBarWithDefaultOptions()
    {
        var log = new StringWriter();
        var result = DigitsTraining.Run(new DigitsOptions(Model: "residual"), log);
        string text = log.ToString();
        Assert.Contains("DigitsResidualNet(", text);
        Assert.Contains("  (blocks): ModuleList(\n    (0-1): 2 x Linear(in_features=128, out_features=128, bias=True)\n  )", text.Replace("\r\n", "\n"));
        Assert.Contains("test accuracy: ", text);
        Assert.True(result.TestAccuracy >= 0.97f, $"Digits residual test accuracy {result.TestAccuracy} < 0.97\n{text}");
    }
}
