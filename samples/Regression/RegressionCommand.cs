using System.CommandLine;

namespace CompiledNets.Samples.Regression;

/// <summary>The sample's command line: parses and checks the options, then runs <see cref="RegressionTraining"/>.</summary>
public static class RegressionCommand
{
    /// <summary>Runs the sample with <paramref name="args"/>, writing progress to <paramref name="output"/> and errors to <paramref name="error"/>.</summary>
    /// <returns>0 after training; 1 when training failed (one <c>error:</c> line); 2 for a bad command line.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var defaults = new RegressionOptions();
        var epochs = SampleOptions.Int("--epochs", "Training epochs (passes over the 112 training rows).", defaults.Epochs);
        var lr = SampleOptions.Float("--lr", "Adam learning rate.", defaults.LearningRate, "0.01");
        var batchSize = SampleOptions.Int("--batch-size", "Rows per shuffled mini-batch.", defaults.BatchSize);
        var seed = SampleOptions.Seed("--seed", "Seed for the split, the initial weights and the shuffling.", defaults.Seed);
        var plot = SampleOptions.PlotPath();
        var root = new RootCommand("Predicts Iris petal width (cm) from the other three measurements with MSELoss, compiled by CompiledNets.")
        {
            epochs, lr, batchSize, seed, plot,
        };

        var parsed = root.Parse(args);
        var errors = parsed.Errors.Select(e => e.Message).ToList();
        if (errors.Count == 0)
        {
            if (parsed.GetValue(epochs) < 1)
            {
                errors.Add($"--epochs must be at least 1; got {parsed.GetValue(epochs)}");
            }
            if (!(parsed.GetValue(lr) > 0f) || !float.IsFinite(parsed.GetValue(lr)))
            {
                errors.Add($"--lr must be a positive number; got {parsed.GetValue(lr)}");
            }
            if (parsed.GetValue(batchSize) < 1)
            {
                errors.Add($"--batch-size must be at least 1; got {parsed.GetValue(batchSize)}");
            }
            SampleOptions.CheckPlotPath(parsed.GetValue(plot), errors);
        }
        if (errors.Count > 0)
        {
            return SampleOptions.ReportErrors(errors, error);
        }

        root.SetAction(result => SampleOptions.RunTraining(
            () => RegressionTraining.Run(
                new RegressionOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(batchSize), result.GetValue(seed),
                    PlotPath: result.GetValue(plot)),
                output),
            error));
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
