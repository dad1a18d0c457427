using System.Diagnostics;
using System.Globalization;
using CompiledNets.Data;

namespace CompiledNets.Samples.Digits;

/// <summary>The options of a run.</summary>
/// <param name="Epochs">Passes over the training set.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="BatchSize">Rows per mini-batch, shuffled each epoch.</param>
/// <param name="Seed">Seeds the split, the initial weights and the shuffling.</param>
/// <param name="PlotPath">When set, the training loss and test accuracy of every epoch are drawn to this PNG at the end.</param>
/// <param name="Model"><c>mlp</c> (<see cref="DigitsNet"/>, field order) or <c>residual</c> (<see cref="DigitsResidualNet"/>, a custom forward).</param>
public sealed record DigitsOptions(int Epochs = 30, float LearningRate = 0.001f, int BatchSize = 32, ulong Seed = 42, string? PlotPath = null, string Model = "mlp");

/// <summary>The outcome of a run.</summary>
/// <param name="FinalLoss">The last epoch's mean training loss.</param>
/// <param name="TrainAccuracy">Accuracy on the training rows.</param>
/// <param name="TestAccuracy">Accuracy on the test rows.</param>
/// <param name="EpochTime">The mean wall time of one training epoch (not counting the evaluation).</param>
public sealed record DigitsResult(float FinalLoss, float TrainAccuracy, float TestAccuracy, TimeSpan EpochTime);

/// <summary>
/// Handwritten digits end to end: read the CSV, split 75/25 stratified, standardise the pixels with statistics
/// of the training part, train with mini-batch Adam, and print a line per epoch.
/// </summary>
public static class DigitsTraining
{
    /// <summary>Runs the training, writing its progress to <paramref name="log"/>.</summary>
    public static DigitsResult Run(DigitsOptions options, TextWriter log)
    {
        var data = CsvLoader.Load(Path.Combine(AppContext.BaseDirectory, "digits.csv"));
        var split = Dataset.TrainTestSplit(data.Features, data.Labels, testSize: 0.25, seed: options.Seed, stratify: true);
        var scaler = new StandardScaler().Fit(split.XTrain);
        Tensor xTrain = scaler.Transform(split.XTrain), xTest = scaler.Transform(split.XTest);
        IntTensor yTrain = split.YTrain, yTest = split.YTest;
        log.WriteLine($"digits: {data.Count} images of {data.Features.Size(1)} pixels, {data.NumClasses} classes; train {xTrain.Size(0)}, test {xTest.Size(0)}");

        Generator.Default.ManualSeed(options.Seed);
        Module net;
        Func<Tensor, Tensor> forward;
        if (options.Model == "residual")
        {
            var residual = new DigitsResidualNet();
            (net, forward) = (residual, residual.Forward);
        }
        else
        {
            var mlp = new DigitsNet();
            (net, forward) = (mlp, mlp.Forward);
        }
        log.WriteLine(net);
        log.WriteLine($"parameters: {net.ParameterCount}");

        var loader = new DataLoader(new TensorDataset(xTrain, yTrain, data.NumClasses), options.BatchSize, shuffle: true, seed: options.Seed);
        var lossFn = new CrossEntropyLoss();
        var opt = new Adam(net.Parameters(), lr: options.LearningRate);
        float lastLoss = float.NaN, trainAccuracy = 0, testAccuracy = 0;
        var training = new Stopwatch();
        var progress = TrainingProgress.Run(log, 1, options.Epochs, logEvery: 1, "test acc", progress =>
        {
            for (int epoch = 1; epoch <= options.Epochs; epoch++)
            {
                training.Start();
                var epochClock = Stopwatch.StartNew();
                net.Train();
                double sum = 0;
                foreach (var (xb, yb) in loader)
                {
                    var loss = lossFn.Forward(forward(xb), yb);
                    loss.Backward();
                    opt.Step();
                    opt.ZeroGrad();
                    sum += loss.Item() * xb.Size(0);
                }
                epochClock.Stop();
                training.Stop();
                lastLoss = (float)(sum / xTrain.Size(0));

                net.Eval();
                trainAccuracy = Metrics.Accuracy(forward(xTrain), yTrain);
                testAccuracy = Metrics.Accuracy(forward(xTest), yTest);
                progress.Report(epoch, lastLoss, testAccuracy,
                    string.Create(CultureInfo.InvariantCulture, $"  train acc {trainAccuracy:0.0000}  {epochClock.Elapsed.TotalMilliseconds:0.0} ms"));
            }
        });
        var epochTime = training.Elapsed / options.Epochs;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"training: {training.Elapsed.TotalSeconds:0.00} s, {epochTime.TotalMilliseconds:0.00} ms per epoch ({loader.BatchCount} steps of {options.BatchSize})"));
        if (options.PlotPath is { } plotPath)
        {
            TrainingPlot.Save(plotPath, progress.History, "Digits: training loss and test accuracy", "test accuracy");
            log.WriteLine($"plot: {plotPath}");
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {testAccuracy:0.0000}"));
        return new DigitsResult(lastLoss, trainAccuracy, testAccuracy, epochTime);
    }
}
