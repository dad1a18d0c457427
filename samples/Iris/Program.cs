using CompiledNets.Samples.Iris;

return IrisCommand.Run(args, Console.Out, Console.Error);
