using HjMl.Cli.Commands;

namespace HjMl.Cli;

/// <summary>The <c>hjml</c> tool: assembles its verbs and hands them, with the console, to <see cref="CommandLine"/>.</summary>
internal static class Program
{
    /// <summary>Every verb, in the order <c>hjml help</c> lists them.</summary>
    public static IReadOnlyList<ICommand> Verbs { get; } =
    [
        new VerifyCommand(),
        new TrainCommand(),
        new PredictCommand(),
        new CrossValidateCommand(),
        new ScalingCommand(),
        new QualityCommand(),
        new ExplainCommand(),
        new CertifyCommand(),
        new BudgetCommand(),
        new EnsembleCommand(),
        new LandscapeCommand(),
        new ExportCommand(),
        new InspectCommand(),
        new InfoCommand(),
        new HjMl.Cli.Report.ReportCommand(),
        new Commands.Relaxation.AdrRecoveryCommand(),
        new Commands.Relaxation.OverRelaxationCommand(),
        new Commands.Relaxation.AdrEfficiencyCommand(),
    ];

    /// <summary>Runs the tool with <paramref name="arguments"/>, writing to the given console streams.</summary>
    public static int Run(string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellation = default)
        => CommandLine.Run(Verbs, arguments, output, error, cancellation);

    private static int Main(string[] args)
    {
        // Ctrl+C cancels the verb, which stops at its next check and writes nothing (outputs replace their files only
        // once whole); a second Ctrl+C ends the process at once.
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, press) =>
        {
            press.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        return Run(args, Console.Out, Console.Error, cancellation.Token);
    }
}
