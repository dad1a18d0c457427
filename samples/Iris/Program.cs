using System.CommandLine;
using CompiledNets.Samples.Iris;

var epochs = new Option<int>("--epochs") { Description = "Training epochs (full passes over the 112 training rows).", DefaultValueFactory = _ => 2500 };
var lr = new Option<float>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 0.01f };
var seed = new Option<ulong>("--seed") { Description = "Seed for the split, the initial weights and the dropout masks.", DefaultValueFactory = _ => 42UL };
var root = new RootCommand("The PyTorch tutorial's Iris classifier, compiled by CompiledNets.") { epochs, lr, seed };

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
}
if (errors.Count > 0)
{
    errors.ForEach(e => Console.Error.WriteLine("error: " + e));
    Console.Error.WriteLine("Run with --help for the options.");
    return 2;
}

root.SetAction(result =>
{
    IrisTutorial.Run(new IrisOptions(result.GetValue(epochs), result.GetValue(lr), result.GetValue(seed)), Console.Out);
    return 0;
});
return parsed.Invoke();
