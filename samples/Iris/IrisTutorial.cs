using System.Globalization;

namespace CompiledNets.Samples.Iris;

/// <summary>The options of a run.</summary>
/// <param name="Epochs">Passes over the training set.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="Seed">Seeds the split, the initial weights and the dropout masks.</param>
/// <param name="LogEvery">Print the loss every this many epochs.</param>
/// <param name="CheckpointPath">
/// When set, a checkpoint is saved there after every epoch, and training resumes from it when the file
/// exists (same options needed; the run then continues bit for bit as if it had never stopped).
/// </param>
/// <param name="CheckpointEvery">Save the checkpoint every this many epochs (and after the last one).</param>
public sealed record IrisOptions(
    int Epochs = 2500, float LearningRate = 0.01f, ulong Seed = 42, int LogEvery = 250, string? CheckpointPath = null, int CheckpointEvery = 1);

/// <summary>The outcome of a run.</summary>
public sealed record IrisResult(float FinalLoss, float TrainAccuracy, float TestAccuracy);

/// <summary>The tutorial, end to end: build the net, print it, train it with Adam and cross-entropy, measure accuracy.</summary>
public static class IrisTutorial
{
    /// <summary>Runs the tutorial, writing its progress to <paramref name="log"/>.</summary>
    public static IrisResult Run(IrisOptions options, TextWriter log)
    {
        var (x, y) = IrisData.Load();
        var (xTrain, yTrain, xTest, yTest) = IrisData.Split(x, y, options.Seed);
        log.WriteLine($"train: {xTrain.Size(0)} rows, test: {xTest.Size(0)} rows");

        Generator.Default.ManualSeed(options.Seed);
        var net = new IrisNet();
        log.WriteLine(net);
        log.WriteLine($"parameters: {net.ParameterCount} in {net.Parameters().Count()} tensors");
        foreach (var (name, p) in net.NamedParameters())
        {
            log.WriteLine($"  {name,-14} [{string.Join(", ", p.Shape.ToArray())}]");
        }

        var lossFn = new CrossEntropyLoss();
        var opt = new Adam(net.Parameters(), lr: options.LearningRate);
        float lastLoss = float.NaN;
        int firstEpoch = 1;
        string seedText = options.Seed.ToString(CultureInfo.InvariantCulture);
        var checkpointMetadata = new Dictionary<string, string> { ["seed"] = seedText };
        if (options.CheckpointPath is { } path && Checkpoint.TryResume(path, net, opt, loaderGenerator: null, out var resumed))
        {
            firstEpoch = resumed.NextEpoch;
            log.WriteLine($"resumed from {path} at epoch {resumed.Epoch} (step {resumed.Step}); continuing with epoch {firstEpoch}");
            if (resumed.Metadata.TryGetValue("seed", out string? savedSeed) && savedSeed != seedText)
            {
                log.WriteLine($"note: the checkpoint was made with --seed {savedSeed}, this run uses {seedText} (another train/test split)");
            }
        }
        for (int epoch = firstEpoch; epoch <= options.Epochs; epoch++)
        {
            net.Train();
            var loss = lossFn.Forward(net.Forward(xTrain), yTrain);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            lastLoss = loss.Item();
            if (options.CheckpointPath is not null && (epoch % options.CheckpointEvery == 0 || epoch == options.Epochs))
            {
                Checkpoint.Save(options.CheckpointPath, net, opt, epoch, metadata: checkpointMetadata);
            }
            if (epoch % options.LogEvery == 0 || epoch == options.Epochs)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch,5}  loss {lastLoss:0.0000}"));
            }
        }

        net.Eval();
        float trainAccuracy = Metrics.Accuracy(net.Forward(xTrain), yTrain);
        float testAccuracy = Metrics.Accuracy(net.Forward(xTest), yTest);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train accuracy: {trainAccuracy:0.0000}"));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {testAccuracy:0.0000}"));
        return new IrisResult(lastLoss, trainAccuracy, testAccuracy);
    }
}
