namespace HjMl.Cli;

/// <summary>A verb of the <c>hjml</c> tool: one class per verb, its settings beside it, the console injected.</summary>
internal interface ICommand
{
    /// <summary>The verb, e.g. "verify".</summary>
    string Name { get; }

    /// <summary>One line for <c>hjml help</c>.</summary>
    string Summary { get; }

    /// <summary>The usage line.</summary>
    string Usage { get; }

    /// <summary>Runs the verb; returns the process exit code.</summary>
    int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation);
}

/// <summary>Dispatches <c>hjml &lt;verb&gt; ...</c> to its command. Exit codes: 0 success, 1 failure, 2 usage or input error.</summary>
internal static class CommandLine
{
    /// <summary>Every verb, in the order <c>hjml help</c> lists them.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        new Commands.VerifyCommand(),
        new Commands.TrainCommand(),
        new Commands.PredictCommand(),
        new Commands.CrossValidateCommand(),
        new Commands.ScalingCommand(),
        new Commands.QualityCommand(),
        new Commands.ExplainCommand(),
        new Commands.CertifyCommand(),
        new Commands.BudgetCommand(),
        new Commands.EnsembleCommand(),
        new Commands.LandscapeCommand(),
        new Commands.ExportCommand(),
        new Commands.InspectCommand(),
        new Commands.InfoCommand(),
    ];

    /// <summary>Runs the tool with <paramref name="arguments"/>, writing to the given console streams.</summary>
    public static int Run(string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        if (arguments.Length == 0 || arguments[0] is "help" or "--help" or "-h")
        {
            PrintHelp(output);
            return arguments.Length == 0 ? 2 : 0;
        }

        ICommand? command = Commands.FirstOrDefault(c => c.Name == arguments[0]);
        if (command is null)
        {
            error.WriteLine($"hjml: unknown command '{arguments[0]}'.");
            PrintHelp(error);
            return 2;
        }

        try
        {
            ParsedArguments parsed = ParsedArguments.Parse(arguments[1..], SwitchesOf(command));
            return command.Run(parsed, output, error, cancellation);
        }
        catch (UsageException usage)
        {
            error.WriteLine($"hjml {command.Name}: {usage.Message}");
            error.WriteLine($"usage: {command.Usage}");
            return 2;
        }
        catch (Exception problem) when (problem is ArgumentException or InvalidDataException or FormatException or IOException or InvalidOperationException or NotSupportedException)
        {
            error.WriteLine($"hjml {command.Name}: {problem.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"hjml {command.Name}: cancelled.");
            return 130;
        }
    }

    private static string[] SwitchesOf(ICommand command) => command is IHasSwitches switches ? switches.Switches : [];

    private static void PrintHelp(TextWriter writer)
    {
        writer.WriteLine("hjml: Hamilton–Jacobi (Hopf–Cole) log-sum-exp models");
        writer.WriteLine();
        foreach (ICommand command in Commands)
        {
            writer.WriteLine($"  {command.Name,-10} {command.Summary}");
            writer.WriteLine($"  {string.Empty,-10} usage: {command.Usage}");
        }
    }
}

/// <summary>A command with options that take no value.</summary>
internal interface IHasSwitches
{
    /// <summary>The names of its value-less options.</summary>
    string[] Switches { get; }
}
