using System.Globalization;
using CompiledNets.Data;

namespace CompiledNets.Samples.Iris;

/// <summary>The options of a run.</summary>
/// <param name="Epochs">Passes over the training set.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="Seed">Seeds the split, the initial weights and the dropout masks.</param>
/// <param name="LogEvery">Print the loss every this many epochs.</param>
/// <param name="BatchSize">
/// Rows per mini-batch, drawn shuffled from a <see cref="DataLoader"/> each epoch (the tutorial's third step uses 32);
/// <see langword="null"/> (default): one full batch of all 112 training rows per epoch.
/// </param>
/// <param name="CheckpointPath">
/// When set, a checkpoint (model, Adam state, epoch, the dropout and shuffling generators) is saved there after
/// every epoch, and training resumes from it when the file exists; with the same options the resumed run
/// continues bit for bit as if it had never stopped. Its folder must exist. A checkpoint made with another
/// <see cref="Seed"/> or <see cref="LearningRate"/> is resumed with a note (this run's learning rate is used); one
/// already at or past <see cref="Epochs"/> trains no further and only reports the accuracy.
/// </param>
/// <param name="CheckpointEvery">Save the checkpoint every this many epochs (and after the last one).</param>
/// <param name="PlotPath">When set, the training loss and test accuracy of every epoch are drawn to this PNG at the end.</param>
/// <param name="Device">
/// Where the net trains (the tutorial's <c>net.to(device)</c>): <see langword="null"/> or <see cref="Device.Cpu"/> for the
/// SIMD path, <c>Device.Cuda(0)</c> (on a machine without CUDA: one line saying why, then the CPU), or
/// <see cref="Device.IlgpuCpu"/> (the GPU kernels on ILGPU's CPU accelerator: slow, for checking the GPU path).
/// </param>
public sealed record IrisOptions(
    int Epochs = 2500, float LearningRate = 0.01f, ulong Seed = 42, int LogEvery = 250, int? BatchSize = null,
    string? CheckpointPath = null, int CheckpointEvery = 1, string? PlotPath = null, Device? Device = null);

/// <summary>The outcome of a run.</summary>
/// <param name="FinalLoss">
/// The last epoch's training loss (the mean over its batches, weighted by their sizes); NaN when a resumed checkpoint
/// had nothing left to train.
/// </param>
/// <param name="TrainAccuracy">Accuracy on the training rows, in eval mode.</param>
/// <param name="TestAccuracy">Accuracy on the test rows, in eval mode.</param>
/// <param name="EpochTime">The mean wall time of one training epoch.</param>
public sealed record IrisResult(float FinalLoss, float TrainAccuracy, float TestAccuracy, TimeSpan EpochTime = default);

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

        // The tutorial's device step: pick the device, move the net, then build the optimizer; batches follow with To.
        var device = options.Device ?? Device.Cpu;
        if (device.Type == DeviceType.Cuda && !CompiledNets.Cuda.IsAvailable())
        {
            log.WriteLine($"cuda: not available ({CompiledNets.Cuda.UnavailableReason?.TrimEnd('.')}); training on the CPU");
            device = Device.Cpu;
        }
        net.To(device);
        log.WriteLine($"device: {device}");
        (xTrain, xTest) = (xTrain.To(device), xTest.To(device));

        var lossFn = new CrossEntropyLoss();
        var opt = new Adam(net.Parameters(), lr: options.LearningRate);
        DataLoader? loader = null;
        if (options.BatchSize is int batchSize)
        {
            loader = new DataLoader(new TensorDataset(xTrain, yTrain, numClasses: IrisData.Species.Length), batchSize, shuffle: true, seed: options.Seed);
            loader.Device = device; // batches arrive on the net's device
            log.WriteLine($"mini-batches of {batchSize} rows, shuffled each epoch: {loader.BatchCount} steps per epoch");
        }
        float lastLoss = float.NaN;
        int firstEpoch = 1;
        string seedText = options.Seed.ToString(CultureInfo.InvariantCulture);
        var checkpointMetadata = new Dictionary<string, string> { ["seed"] = seedText };
        if (options.CheckpointPath is { } path && Checkpoint.TryResume(path, net, opt, loader?.Generator, out var resumed))
        {
            firstEpoch = resumed.NextEpoch;
            log.WriteLine($"resumed from {path} at epoch {resumed.Epoch} (step {resumed.Step}); continuing with epoch {firstEpoch}");
            if (resumed.Metadata.TryGetValue("seed", out string? savedSeed) && savedSeed != seedText)
            {
                log.WriteLine($"note: the checkpoint was made with --seed {savedSeed}, this run uses {seedText} (another train/test split)");
            }
            // TryResume restored the checkpoint's learning rate (as PyTorch's load_state_dict does); this run's --lr wins.
            if (opt.LearningRate != options.LearningRate)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"note: the checkpoint was made with --lr {opt.LearningRate}, this run uses {options.LearningRate} from here on"));
                opt.LearningRate = options.LearningRate;
            }
            if (firstEpoch > options.Epochs)
            {
                log.WriteLine($"nothing left to train: {path} is already at epoch {resumed.Epoch} and --epochs is {options.Epochs}; raise --epochs to train further");
            }
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var progress = TrainingProgress.Run(log, firstEpoch, options.Epochs, options.LogEvery, "test acc", progress =>
        {
            for (int epoch = firstEpoch; epoch <= options.Epochs; epoch++)
            {
                net.Train();
                if (loader is null)
                {
                    var loss = lossFn.Forward(net.Forward(xTrain), yTrain);
                    loss.Backward();
                    opt.Step();
                    opt.ZeroGrad();
                    lastLoss = loss.Item();
                }
                else
                {
                    double sum = 0;
                    foreach (var (xb, yb) in loader)
                    {
                        var loss = lossFn.Forward(net.Forward(xb), yb);
                        loss.Backward();
                        opt.Step();
                        opt.ZeroGrad();
                        sum += loss.Item() * xb.Size(0);
                    }
                    lastLoss = (float)(sum / xTrain.Size(0));
                }
                if (options.CheckpointPath is not null && (epoch % options.CheckpointEvery == 0 || epoch == options.Epochs))
                {
                    Checkpoint.Save(options.CheckpointPath, net, opt, epoch, loader?.Generator, checkpointMetadata);
                }
                // Evaluation draws no random numbers, so measuring it leaves the run unchanged.
                float accuracy = options.PlotPath is not null || progress.WantsMetric(epoch)
                    ? Metrics.Accuracy(net.Eval().Forward(xTest), yTest)
                    : float.NaN;
                progress.Report(epoch, lastLoss, accuracy);
            }
        });

        var epochTime = clock.Elapsed / Math.Max(1, options.Epochs - firstEpoch + 1);
        if (firstEpoch <= options.Epochs)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {clock.Elapsed.TotalSeconds:0.00} s, {epochTime.TotalMilliseconds * 1000:0.0} µs per epoch"));
        }
        if (options.PlotPath is { } plotPath)
        {
            TrainingPlot.Save(plotPath, progress.History, "Iris: training loss and test accuracy", "test accuracy");
            log.WriteLine($"plot: {plotPath}");
        }

        net.Eval();
        float trainAccuracy = Metrics.Accuracy(net.Forward(xTrain), yTrain);
        float testAccuracy = Metrics.Accuracy(net.Forward(xTest), yTest);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train accuracy: {trainAccuracy:0.0000}"));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {testAccuracy:0.0000}"));
        return new IrisResult(lastLoss, trainAccuracy, testAccuracy, epochTime);
    }
}
