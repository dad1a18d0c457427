using System.Diagnostics;
using System.Globalization;
using CompiledNets.Data;

namespace CompiledNets.Samples.Regression;

/// <summary>The options of a run.</summary>
/// <param name="Epochs">Passes over the training set.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="BatchSize">Rows per mini-batch, shuffled each epoch.</param>
/// <param name="Seed">Seeds the split, the initial weights and the shuffling.</param>
/// <param name="LogEvery">Print a progress line every this many epochs (when the output is not a terminal).</param>
/// <param name="PlotPath">When set, the training loss and test RMSE of every epoch are drawn to this PNG at the end.</param>
public sealed record RegressionOptions(
    int Epochs = 100, float LearningRate = 0.01f, int BatchSize = 16, ulong Seed = 42, int LogEvery = 10, string? PlotPath = null);

/// <summary>The outcome of a run.</summary>
/// <param name="FinalLoss">The last epoch's training loss (mean squared error, cm², weighted by batch size).</param>
/// <param name="TrainRmse">Root mean squared error on the training rows, in cm.</param>
/// <param name="TestRmse">Root mean squared error on the test rows, in cm.</param>
/// <param name="EpochTime">The mean wall time of one training epoch.</param>
public sealed record RegressionResult(float FinalLoss, float TrainRmse, float TestRmse, TimeSpan EpochTime);

/// <summary>
/// Regression end to end: predict Iris petal width (cm) from sepal length, sepal width and petal length with
/// <see cref="MSELoss"/>, mini-batches from a <see cref="RegressionDataLoader"/>, Adam with a cosine learning-rate
/// schedule, and gradient clipping.
/// </summary>
public static class RegressionTraining
{
    /// <summary>The feature columns of iris.csv used to predict <see cref="Target"/>.</summary>
    public static readonly string[] Features = ["sepal_length", "sepal_width", "petal_length"];

    /// <summary>The target column.</summary>
    public const string Target = "petal_width";

    /// <summary>Runs the training, writing its progress to <paramref name="log"/>.</summary>
    public static RegressionResult Run(RegressionOptions options, TextWriter log)
    {
        var data = CsvLoader.LoadRegression(Path.Combine(AppContext.BaseDirectory, "iris.csv"), Target, Features);
        var split = Dataset.TrainTestSplit(data.Features, data.Targets, testSize: 0.25, seed: options.Seed);
        var scaler = new StandardScaler().Fit(split.XTrain);
        Tensor xTrain = scaler.Transform(split.XTrain), xTest = scaler.Transform(split.XTest);
        // The net predicts [batch, 1]; MSELoss wants the target in the same shape.
        Tensor yTrain = split.YTrain.Reshape(-1, 1), yTest = split.YTest.Reshape(-1, 1);
        log.WriteLine($"{data}; train {xTrain.Size(0)}, test {xTest.Size(0)}");

        Generator.Default.ManualSeed(options.Seed);
        var net = new PetalWidthNet();
        log.WriteLine(net);
        log.WriteLine($"parameters: {net.ParameterCount}");

        var loader = new RegressionDataLoader(new RegressionDataset(xTrain, yTrain), options.BatchSize, shuffle: true, seed: options.Seed);
        log.WriteLine($"mini-batches of {options.BatchSize} rows, shuffled each epoch: {loader.BatchCount} steps per epoch");
        var lossFn = new MSELoss();
        var opt = new Adam(net.Parameters(), lr: options.LearningRate);
        // Cosine annealing from --lr down to 0 over the run, stepped once per epoch (PyTorch: CosineAnnealingLR(opt, T_max)).
        var scheduler = new CosineAnnealingLR(opt, tMax: options.Epochs);
        var parameters = net.Parameters().ToArray();
        float lastLoss = float.NaN;
        var clock = Stopwatch.StartNew();
        var progress = TrainingProgress.Run(log, 1, options.Epochs, options.LogEvery, "test RMSE", progress =>
        {
            for (int epoch = 1; epoch <= options.Epochs; epoch++)
            {
                net.Train();
                double sum = 0;
                foreach (var (xb, yb) in loader)
                {
                    var loss = lossFn.Forward(net.Forward(xb), yb);
                    loss.Backward();
                    NNUtils.ClipGradNorm(parameters, maxNorm: 1f);   // clip_grad_norm_: between Backward and Step
                    opt.Step();
                    opt.ZeroGrad();
                    sum += loss.Item() * xb.Size(0);
                }
                scheduler.Step();   // once per epoch, after the optimizer's steps
                lastLoss = (float)(sum / xTrain.Size(0));
                float rmse = options.PlotPath is not null || progress.WantsMetric(epoch)
                    ? Metrics.RootMeanSquaredError(net.Eval().Forward(xTest), yTest)
                    : float.NaN;
                progress.Report(epoch, lastLoss, rmse);
            }
        });
        var epochTime = clock.Elapsed / options.Epochs;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"training: {clock.Elapsed.TotalSeconds:0.00} s, {epochTime.TotalMilliseconds * 1000:0.0} µs per epoch"));
        if (options.PlotPath is { } plotPath)
        {
            TrainingPlot.Save(plotPath, progress.History, "Iris petal width: training loss (MSE) and test RMSE", "test RMSE (cm)");
            log.WriteLine($"plot: {plotPath}");
        }

        net.Eval();
        float trainRmse = Metrics.RootMeanSquaredError(net.Forward(xTrain), yTrain);
        float testRmse = Metrics.RootMeanSquaredError(net.Forward(xTest), yTest);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train RMSE: {trainRmse:0.0000} cm"));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test RMSE: {testRmse:0.0000} cm"));
        return new RegressionResult(lastLoss, trainRmse, testRmse, epochTime);
    }
}
