using CompiledNets.Samples.Iris;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>The Iris sample's <c>--checkpoint</c>: saves after every epoch, resumes from the file, ends where an uninterrupted run ends.</summary>
public class IrisSampleCheckpointTests
{
    [Theory]
    [InlineData(null)]
    [InlineData(32)]
    public void StoppedAndResumed_EndsExactlyLikeTheUninterruptedRun(int? batchSize)
    {
        using var dir = new TempDir();
        string path = dir.File("iris.ckpt");
        var full = IrisTutorial.Run(new IrisOptions(Epochs: 30, LogEvery: 10, BatchSize: batchSize), TextWriter.Null);

        var first = new StringWriter();
        IrisTutorial.Run(new IrisOptions(Epochs: 12, LogEvery: 10, BatchSize: batchSize, CheckpointPath: path), first);
        Assert.DoesNotContain("resumed", first.ToString());
        Assert.True(File.Exists(path));
        var log = new StringWriter();
        var resumed = IrisTutorial.Run(new IrisOptions(Epochs: 30, LogEvery: 10, BatchSize: batchSize, CheckpointPath: path), log);

        Assert.Contains($"resumed from {path} at epoch 12", log.ToString());
        Assert.Contains("continuing with epoch 13", log.ToString());
        Assert.Equal(full.FinalLoss, resumed.FinalLoss);
        Assert.Equal(full.TrainAccuracy, resumed.TrainAccuracy);
        Assert.Equal(full.TestAccuracy, resumed.TestAccuracy);
        Assert.Equal("30", SafeTensors.Load(path).Metadata["epoch"]);
    }
}
