using CompiledNets.Samples.Digits;

return DigitsCommand.Run(args, Console.Out, Console.Error);
