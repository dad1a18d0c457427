using System.CommandLine;
using CompiledNets;
using CompiledNets.Samples.Iris;

var epochs = new Option<int>("--epochs") { Description = "Training epochs (full passes over the 112 training rows).", DefaultValueFactory = _ => 2500 };
var lr = new Option<float>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 0.01f };
var seed = new Option<ulong>("--seed") { Description = "Seed for the split, the initial weights and the dropout masks.", DefaultValueFactory = _ => 42UL };
var batchSize = new Option<int?>("--batch-size")
{
    Description = "Train on shuffled mini-batches of this many rows (the tutorial uses 32); default: the full 112-row batch.",
    CustomParser = result =>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value))
        {
            return value;
        }
        result.AddError($"--batch-size must be a whole number; got '{text}'.");
        return null;
    },
};
var checkpoint = new Option<string>("--checkpoint")
{
    Description = "Save a checkpoint to this file after every epoch; if the file exists, resume from it first.",
};
var checkpointEvery = new Option<int>("--checkpoint-every")
{
    Description = "With --checkpoint: save every this many epochs (and after the last); each save is flushed to disk.",
    DefaultValueFactory = _ => 1,
};
var root = new RootCommand("The PyTorch tutorial's Iris classifier, compiled by CompiledNets.") { epochs, lr, seed, batchSize, checkpoint, checkpointEvery };

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
    if (parsed.GetValue(batchSize) is int b && b < 1)
    {
        errors.Add($"--batch-size must be at least 1; got {b}.");
    }
    if (parsed.GetValue(checkpointEvery) < 1)
    {
        errors.Add($"--checkpoint-every must be at least 1; got {parsed.GetValue(checkpointEvery)}.");
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
    try
    {
        IrisTutorial.Run(
            new IrisOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(seed), BatchSize: result.GetValue(batchSize),
                CheckpointPath: result.GetValue(checkpoint), CheckpointEvery: result.GetValue(checkpointEvery)),
            Console.Out);
        return 0;
    }
    catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException && result.GetValue(checkpoint) is not null)
    {
        Console.Error.WriteLine("error: " + e.Message);
        return 1;
    }
});
return parsed.Invoke();
