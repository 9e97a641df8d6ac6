using System.Globalization;
using HjMl.Cli.Report;
using HjMl.Relaxation;

namespace HjMl.Cli.Commands.Relaxation;

/// <summary>
/// <c>hjml adr-recovery</c>: the recovery experiment of arXiv:2502.06739 — known ADR dynamics on a line, a one-step ADR
/// relaxation network trained on its data, and U, D, R read back from the moments, over three seeds (THEORY.md section 10).
/// </summary>
internal sealed class AdrRecoveryCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("sites", "lattice sites of the generated 1-D fields (3 to 100000)", OptionValue.Integer, "64"),
        new("fields", "random initial fields generated per case", OptionValue.Integer, "48"),
        new("time-step", "dt between the generated samples, in lattice time units", OptionValue.Number, "0.1"),
        new("epochs", "optimiser iterations per fit", OptionValue.Integer, "4000"),
        new("optimizer", "lbfgs or adam", OptionValue.Text, "lbfgs"),
        new("seeds", "comma-separated seeds; each case is fitted once per seed", OptionValue.Text, "1,2,3"),
        new("out", "a .csv or .json file for the table"),
        new("plot", "a chart: .svg or .png"),
    ];

    public string Name => "adr-recovery";

    public string Summary => "recover constant and space-varying advection, diffusion, reaction from ADR data (relaxation layers)";

    public string Usage => "hjml adr-recovery [--sites 64] [--fields 48] [--time-step 0.1] [--epochs 4000] [--optimizer lbfgs|adam] [--seeds 1,2,3] [--out recovery.csv|.json] [--plot recovery.svg|.png]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        var settings = new RecoverySettings
        {
            Sites = arguments.Integer("sites", 64, 3, 100_000),
            Fields = arguments.Integer("fields", 48, 1, 1_000_000),
            TimeStep = arguments.Number("time-step", 0.1),
            Epochs = arguments.Integer("epochs", 4000, 1, 1_000_000),
            Optimizer = arguments.Text("optimizer") switch
            {
                null or "lbfgs" => RelaxationOptimizer.Lbfgs,
                "adam" => RelaxationOptimizer.Adam,
                string other => throw new UsageException($"--optimizer is '{other}'; use lbfgs or adam."),
            },
            Seeds = Seeds(arguments.Text("seeds") ?? "1,2,3"),
        };
        string? outPath = arguments.Text("out");
        string? plotPath = arguments.Text("plot");
        arguments.RejectUnknown();
        RelaxationCharts.Check(plotPath);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ADR recovery: {settings.Sites} sites, {settings.Fields} fields x {settings.StepsPerField} steps of dt {settings.TimeStep}, {settings.Optimizer} {settings.Epochs} epochs"));
        output.WriteLine($"{"case",-14} {"seed",4} {"U error",9} {"D error",9} {"R error",9} {"bar",5} {"loss",10} {"ok",3}");
        var progress = new InlineProgress<RecoveryRow>(row => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.Case,-14} {row.Seed,4} {100 * row.AdvectionError,8:F2}% {100 * row.DiffusionError,8:F2}% {100 * row.ReactionError,8:F2}% {100 * row.Bound,4:F0}% {row.TrainingLoss,10:E2} {(row.Passed ? "yes" : "NO"),3}")));
        IReadOnlyList<RecoveryRow> rows = RecoveryExperiment.Run(settings, progress, cancellation);
        if (outPath is not null)
        {
            TableOutput.Write(outPath, ["Case", "Seed", "AdvectionError", "DiffusionError", "ReactionError", "Bound", "TrainingLoss", "Passed"], rows.Select(r => (IReadOnlyList<object>)[r.Case, r.Seed, r.AdvectionError, r.DiffusionError, r.ReactionError, r.Bound, r.TrainingLoss, r.Passed]));
            output.WriteLine($"table written to {outPath}");
        }

        if (plotPath is not null)
        {
            using Figure figure = RelaxationCharts.Recovery(rows.First(r => r.Case == "space-varying"));
            figure.Save(plotPath);
            output.WriteLine($"chart written to {plotPath}");
        }

        return rows.All(r => r.Passed) ? 0 : 1;
    }

    internal static int[] Seeds(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var seeds = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out seeds[i]))
            {
                throw new UsageException($"--seeds is '{text}'; write whole numbers separated by commas, e.g. 1,2,3.");
            }
        }

        return seeds.Length > 0 ? seeds : throw new UsageException("--seeds names no seed.");
    }
}
