using CompiledNets.Samples.Iris;
using Xunit;

namespace CompiledNets.Tests.Samples;

/// <summary>The tutorial's full-batch training learns Iris and prints what the tutorial prints.</summary>
public class IrisTutorialTests
{
    [Fact]
    public void FullBatchTrainingReachesTheBarAndPrintsTheNet()
    {
        var log = new StringWriter();
        var result = IrisTutorial.Run(new IrisOptions(Epochs: 300, LogEvery: 100), log);
        string text = log.ToString();
        Assert.Contains("(hidden): Linear(in_features=4, out_features=10, bias=True)", text);
        Assert.Contains("parameters: 83 in 4 tensors", text);
        Assert.Contains("test accuracy: ", text);
        Assert.True(result.FinalLoss < 0.35f, $"final loss {result.FinalLoss}\n{text}");
        Assert.True(result.TestAccuracy >= 0.93f, $"Iris test accuracy {result.TestAccuracy} < 0.93\n{text}");
    }

    [Fact]
    public void LossFallsFromChance()
    {
        var first = IrisTutorial.Run(new IrisOptions(Epochs: 1, LogEvery: 1), TextWriter.Null);
        var later = IrisTutorial.Run(new IrisOptions(Epochs: 100, LogEvery: 100), TextWriter.Null);
        Assert.InRange(first.FinalLoss, 0.5f, 3f); // near ln 3 ≈ 1.1 for an untrained net
        Assert.True(later.FinalLoss < first.FinalLoss / 2, $"{later.FinalLoss} vs {first.FinalLoss}");
    }
}
