using System.CommandLine;
using CompiledNets.Samples.Digits;

var defaults = new DigitsOptions();
var epochs = new Option<int>("--epochs") { Description = "Training epochs (passes over the 1347 training images).", DefaultValueFactory = _ => defaults.Epochs };
var lr = new Option<float>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
var batchSize = new Option<int>("--batch-size") { Description = "Rows per shuffled mini-batch.", DefaultValueFactory = _ => defaults.BatchSize };
var seed = new Option<ulong>("--seed") { Description = "Seed for the split, the initial weights and the shuffling.", DefaultValueFactory = _ => defaults.Seed };
var root = new RootCommand("An MLP (64 → 128 → 64 → 10) for scikit-learn's 8×8 handwritten digits, compiled by CompiledNets.") { epochs, lr, batchSize, seed };

var parsed = root.Parse(args);
var errors = parsed.Errors.Select(e => e.Message).ToList();
if (errors.Count == 0)
{
    if (parsed.GetValue(epochs) < 1)
    {
        errors.Add($"--epochs must be at least 1; got {parsed.GetValue(epochs)}.");
    }
    if (!(parsed.GetValue(lr) > 0f) || !float.IsFinite(parsed.GetValue(lr)))
    {
        errors.Add($"--lr must be a positive number; got {parsed.GetValue(lr)}.");
    }
    if (parsed.GetValue(batchSize) < 1)
    {
        errors.Add($"--batch-size must be at least 1; got {parsed.GetValue(batchSize)}.");
    }
}
if (errors.Count > 0)
{
    errors.ForEach(e => Console.Error.WriteLine("error: " + e));
    Console.Error.WriteLine("Run with --help for the options.");
    return 2;
}

root.SetAction(result =>
{
    DigitsTraining.Run(new DigitsOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(batchSize), result.GetValue(seed)), Console.Out);
    return 0;
});
return parsed.Invoke();
