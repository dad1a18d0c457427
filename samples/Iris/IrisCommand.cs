using System.CommandLine;

namespace CompiledNets.Samples.Iris;

/// <summary>The sample's command line: parses and checks the options, then runs <see cref="IrisTutorial"/>.</summary>
public static class IrisCommand
{
    /// <summary>Runs the sample with <paramref name="args"/>, writing progress to <paramref name="output"/> and errors to <paramref name="error"/>.</summary>
    /// <returns>0 after training; 1 when training or a checkpoint failed (one <c>error:</c> line); 2 for a bad command line.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var defaults = new IrisOptions();
        var epochs = SampleOptions.Int("--epochs", "Training epochs (full passes over the 112 training rows).", defaults.Epochs);
        var lr = SampleOptions.Float("--lr", "Adam learning rate.", defaults.LearningRate, "0.01");
        var seed = SampleOptions.Seed("--seed", "Seed for the split, the initial weights and the dropout masks.", defaults.Seed);
        var batchSize = SampleOptions.OptionalInt("--batch-size",
            "Train on shuffled mini-batches of this many rows (the tutorial uses 32); default: the full 112-row batch.");
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Save a checkpoint to this file after every epoch; if the file exists, resume from it first.",
        };
        var checkpointEvery = SampleOptions.Int("--checkpoint-every",
            "With --checkpoint: save every this many epochs (and after the last); each save is flushed to disk.", defaults.CheckpointEvery);
        var plot = SampleOptions.PlotPath();
        var device = new Option<string>("--device")
        {
            Description = "Where to train: cpu (the SIMD path, default), cuda (or cuda:N; without CUDA, says why and uses the CPU), or ilgpu-cpu (the GPU kernels on ILGPU's CPU accelerator).",
            DefaultValueFactory = _ => "cpu",
        };
        var root = new RootCommand("The PyTorch tutorial's Iris classifier, compiled by CompiledNets.") { epochs, lr, seed, batchSize, checkpoint, checkpointEvery, plot, device };

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
            if (parsed.GetValue(batchSize) is int b && b < 1)
            {
                errors.Add($"--batch-size must be at least 1; got {b}");
            }
            if (parsed.GetValue(checkpointEvery) < 1)
            {
                errors.Add($"--checkpoint-every must be at least 1; got {parsed.GetValue(checkpointEvery)}");
            }
            if (parsed.GetValue(checkpoint) is { } path && SampleOptions.MissingFolder(path) is { } folder)
            {
                errors.Add($"--checkpoint {path}: the folder '{folder}' does not exist; create it or choose another path");
            }
            SampleOptions.CheckPlotPath(parsed.GetValue(plot), errors);
            if (!Device.TryParse(parsed.GetValue(device), out _))
            {
                errors.Add($"--device must be cpu, cuda, cuda:N or ilgpu-cpu; got '{parsed.GetValue(device)}'");
            }
        }
        if (errors.Count > 0)
        {
            return SampleOptions.ReportErrors(errors, error);
        }

        root.SetAction(result => SampleOptions.RunTraining(
            () => IrisTutorial.Run(
                new IrisOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(seed), BatchSize: result.GetValue(batchSize),
                    CheckpointPath: result.GetValue(checkpoint), CheckpointEvery: result.GetValue(checkpointEvery), PlotPath: result.GetValue(plot),
                    Device: Device.Parse(result.GetValue(device)!)),
                output),
            error));
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
