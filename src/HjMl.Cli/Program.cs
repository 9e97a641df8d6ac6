using HjMl.Cli;

return CommandLine.Run(args, Console.Out, Console.Error);
