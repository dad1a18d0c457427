using CompiledNets.Samples.Regression;

return RegressionCommand.Run(args, Console.Out, Console.Error);
