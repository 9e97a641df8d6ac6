using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace HjMl.Cli;

/// <summary>
/// Dispatches <c>hjml &lt;verb&gt; ...</c> to its command through System.CommandLine: help per verb (<c>--help</c>), typo
/// suggestions, typed option values. No stack trace reaches the user. Exit codes: <see cref="ExitCodes"/>.
/// </summary>
internal static class CommandLine
{
    /// <summary>The exit codes, as <c>hjml --help</c> lists them.</summary>
    public const string ExitCodes = "Exit codes: 0 success; 1 a check the verb makes failed (verify, quality, certify --attack); 2 a usage or input error (the message names it); 3 an unexpected error (its message, no stack trace); 130 cancelled (Ctrl+C; no partial output is left).";

    /// <summary>
    /// Runs the verb <paramref name="arguments"/> names, one of <paramref name="commands"/> (listed by <c>hjml help</c> in
    /// their order), writing to the given console streams.
    /// </summary>
    public static int Run(IReadOnlyList<ICommand> commands, string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        var root = new RootCommand("hjml: Hamilton–Jacobi (Hopf–Cole) log-sum-exp models. 'hjml <verb> --help' shows a verb's options. " + ExitCodes);
        int exit = 0;
        foreach (ICommand command in commands)
        {
            root.Subcommands.Add(Build(command, output, error, code => exit = code, cancellation));
        }

        if (arguments.Length == 0 || arguments is ["help"])
        {
            // Bare 'hjml' is a usage error that shows the verbs; 'hjml help' asks for them.
            int asked = arguments.Length == 0 ? 2 : 0;
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = asked == 0 ? output : error });
            return asked;
        }
        else if (arguments is ["help", string verb, ..])
        {
            arguments = [verb, "--help"];
        }

        ParseResult parsed = root.Parse(arguments);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        if (parsed.Errors.Count > 0)
        {
            if (parsed.Action is ParseErrorAction action)
            {
                action.ShowHelp = false;
            }

            Command at = parsed.CommandResult.Command;
            foreach (string token in parsed.UnmatchedTokens)
            {
                if (ReferenceEquals(at, root))
                {
                    error.WriteLine($"hjml: unknown command '{token}'.");
                    break;
                }

                if (token.StartsWith('-'))
                {
                    error.WriteLine($"hjml {at.Name}: {token} is not an option of this command.");
                }
            }

            // System.CommandLine's own messages, with its suggestions for a mistyped verb or option, all to the error stream.
            parsed.Invoke(new InvocationConfiguration { Output = error, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
            error.WriteLine(ReferenceEquals(at, root) ? "'hjml --help' lists the verbs." : $"'hjml {at.Name} --help' lists its options.");
            return 2;
        }

        int code = parsed.Invoke(configuration);
        return parsed.Action is null || ReferenceEquals(parsed.CommandResult.Command, root) ? code : exit;
    }

    private static Command Build(ICommand command, TextWriter output, TextWriter error, Action<int> done, CancellationToken cancellation)
    {
        var verb = new Command(command.Name, $"{command.Summary}.\nusage: {command.Usage}");
        var options = new List<(VerbOption Spec, Option Option)>();
        Argument<string[]>? rest = null;
        if (command is IDescribedCommand described)
        {
            foreach (VerbOption spec in described.Options)
            {
                Option option = spec.Value switch
                {
                    OptionValue.Integer => new Option<int>("--" + spec.Name),
                    OptionValue.Number => new Option<double>("--" + spec.Name),
                    OptionValue.Switch => new Option<bool>("--" + spec.Name) { Arity = ArgumentArity.Zero },
                    _ => new Option<string>("--" + spec.Name),
                };
                option.Description = spec.Default is null ? spec.Description : $"{spec.Description} [default: {spec.Default}]";
                verb.Options.Add(option);
                options.Add((spec, option));
            }

            if (described.Positional is { } positional)
            {
                rest = new Argument<string[]>(positional) { Arity = ArgumentArity.ZeroOrMore };
            }
        }
        else
        {
            // A verb written against ICommand alone: its tokens are handed to it as they came.
            verb.TreatUnmatchedTokensAsErrors = false;
            rest = new Argument<string[]>("arguments") { Arity = ArgumentArity.ZeroOrMore };
        }

        if (rest is not null)
        {
            verb.Arguments.Add(rest);
        }

        verb.SetAction(result =>
        {
            int code = Execute(command, () => Arguments(command, result, options, rest), output, error, cancellation);
            done(code);
            return code;
        });
        return verb;
    }

    private static ParsedArguments Arguments(ICommand command, ParseResult result, List<(VerbOption Spec, Option Option)> options, Argument<string[]>? rest)
    {
        string[] positional = rest is null ? [] : result.GetValue(rest) ?? [];
        if (command is not IDescribedCommand)
        {
            return ParsedArguments.Parse([.. positional, .. result.UnmatchedTokens], command is IHasSwitches switches ? switches.Switches : []);
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach ((VerbOption spec, Option option) in options)
        {
            if (result.GetResult(option) is { Implicit: false } given)
            {
                values[spec.Name] = spec.Value == OptionValue.Switch ? null : given.Tokens[^1].Value;
            }
        }

        return ParsedArguments.From(values, positional);
    }

    private static int Execute(ICommand command, Func<ParsedArguments> parse, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        try
        {
            return command.Run(parse(), output, error, cancellation);
        }
        catch (UsageException usage)
        {
            error.WriteLine($"hjml {command.Name}: {usage.Message}");
            error.WriteLine($"usage: {command.Usage}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"hjml {command.Name}: cancelled; nothing was written.");
            return 130;
        }
        catch (Exception problem) when (problem is ArgumentException or InvalidDataException or FormatException or IOException or InvalidOperationException or NotSupportedException or UnauthorizedAccessException)
        {
            error.WriteLine($"hjml {command.Name}: {problem.Message}");
            return 2;
        }
        catch (Exception problem) when (problem is OutOfMemoryException or InsufficientExecutionStackException or OverflowException)
        {
            error.WriteLine($"hjml {command.Name}: the work asked for does not fit ({problem.GetType().Name}: {problem.Message}); ask for less (a smaller --width, fewer rows or steps).");
            return 2;
        }
#pragma warning disable CA1031 // The tool's last line of defence: a user sees a message, never a stack trace.
        catch (Exception problem)
#pragma warning restore CA1031
        {
            error.WriteLine($"hjml {command.Name}: unexpected error ({problem.GetType().Name}): {problem.Message}");
            error.WriteLine("Please report it with the command line; set HJML_DEBUG=1 to see where it happened.");
            if (Environment.GetEnvironmentVariable("HJML_DEBUG") == "1")
            {
                error.WriteLine(problem.ToString());
            }

            return 3;
        }
    }
}
