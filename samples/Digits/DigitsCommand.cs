using System.CommandLine;

namespace CompiledNets.Samples.Digits;

/// <summary>The sample's command line: parses and checks the options, then runs <see cref="DigitsTraining"/>.</summary>
public static class DigitsCommand
{
    /// <summary>Runs the sample with <paramref name="args"/>, writing progress to <paramref name="output"/> and errors to <paramref name="error"/>.</summary>
    /// <returns>0 after training; 1 when training failed (one <c>error:</c> line); 2 for a bad command line.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var defaults = new DigitsOptions();
        var epochs = SampleOptions.Int("--epochs", "Training epochs (passes over the 1347 training images).", defaults.Epochs);
        var lr = SampleOptions.Float("--lr", "Adam learning rate.", defaults.LearningRate, "0.01");
        var batchSize = SampleOptions.Int("--batch-size", "Rows per shuffled mini-batch.", defaults.BatchSize);
        var seed = SampleOptions.Seed("--seed", "Seed for the split, the initial weights and the shuffling.", defaults.Seed);
        var plot = SampleOptions.PlotPath();
        var model = new Option<string>("--model")
        {
            Description = "mlp: 64 → 128 → 64 → 10 in field order; residual: 64 → 128, two residual blocks from a layer array, dropout, → 10, with a [Forward] method.",
            DefaultValueFactory = _ => defaults.Model,
        };
        var root = new RootCommand("An MLP (64 → 128 → 64 → 10) or a residual network for scikit-learn's 8×8 handwritten digits, compiled by CompiledNets.") { epochs, lr, batchSize, seed, plot, model };

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
            if (parsed.GetValue(model) is not ("mlp" or "residual"))
            {
                errors.Add($"--model must be mlp or residual; got '{parsed.GetValue(model)}'");
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
            () => DigitsTraining.Run(new DigitsOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(batchSize), result.GetValue(seed), result.GetValue(plot), result.GetValue(model)!), output),
            error));
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
