namespace HjMl.Cli;

/// <summary>Dispatches <c>hjml &lt;verb&gt; ...</c> to its command. Exit codes: 0 success, 1 failure, 2 usage or input error.</summary>
internal static class CommandLine
{
    /// <summary>
    /// Runs the verb <paramref name="arguments"/> names, one of <paramref name="commands"/> (listed by <c>hjml help</c> in
    /// their order), writing to the given console streams.
    /// </summary>
    public static int Run(IReadOnlyList<ICommand> commands, string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        if (arguments.Length == 0 || arguments[0] is "help" or "--help" or "-h")
        {
            PrintHelp(commands, output);
            return arguments.Length == 0 ? 2 : 0;
        }

        ICommand? command = commands.FirstOrDefault(c => c.Name == arguments[0]);
        if (command is null)
        {
            error.WriteLine($"hjml: unknown command '{arguments[0]}'.");
            PrintHelp(commands, error);
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

    private static void PrintHelp(IReadOnlyList<ICommand> commands, TextWriter writer)
    {
        writer.WriteLine("hjml: Hamilton–Jacobi (Hopf–Cole) log-sum-exp models");
        writer.WriteLine();
        foreach (ICommand command in commands)
        {
            writer.WriteLine($"  {command.Name,-10} {command.Summary}");
            writer.WriteLine($"  {string.Empty,-10} usage: {command.Usage}");
        }
    }
}
