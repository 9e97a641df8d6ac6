using System.Globalization;
using HjMl.Cli.Report;
using HjMl.Relaxation;

namespace HjMl.Cli.Commands.Relaxation;

/// <summary>
/// <c>hjml over-relaxation</c>: the depth-versus-omega experiment of arXiv:2502.06739 — iterations to a fixed point and
/// trained depth, final loss and stability for omega over [0.5, 1.5] (THEORY.md section 10).
/// </summary>
internal sealed class OverRelaxationCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("epochs", "training iterations per network", OptionValue.Integer, "300"),
        new("rows", "training rows of the fixed target", OptionValue.Integer, "256"),
        new("seeds", "comma-separated seeds", OptionValue.Text, "1,2,3"),
        new("target", "the loss a depth must reach to count as converged", OptionValue.Number, "0.01"),
        new("horizon", "the time horizon the steps share", OptionValue.Number, "6"),
        new("factors", "comma-separated relaxation factors omega to sweep", OptionValue.Text, "0.5,0.6,...,1.5"),
        new("out", "a .csv or .json file for the table"),
        new("plot", "a chart: .svg or .png"),
    ];

    public string Name => "over-relaxation";

    public string Summary => "does over-relaxation (omega > 1) help? fixed-point depth, trained depth, loss and stability per omega";

    public string Usage => "hjml over-relaxation [--epochs 300] [--rows 256] [--seeds 1,2,3] [--target 0.01] [--horizon 6] [--factors 0.5,0.6,...,1.5] [--out omega.csv|.json] [--plot omega.svg|.png]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        var settings = new OverRelaxationSettings
        {
            Epochs = arguments.Integer("epochs", 300, 1, 1_000_000),
            Rows = arguments.Integer("rows", 256, 1, 1_000_000),
            Seeds = AdrRecoveryCommand.Seeds(arguments.Text("seeds") ?? "1,2,3"),
            Target = arguments.Number("target", 0.01),
            Horizon = arguments.Number("horizon", 6.0),
            Factors = Numbers(arguments.Text("factors")) ?? new OverRelaxationSettings().Factors,
        };
        string? outPath = arguments.Text("out");
        string? plotPath = arguments.Text("plot");
        arguments.RejectUnknown();
        RelaxationCharts.Check(plotPath);
        if (!(settings.Target > 0))
        {
            throw new UsageException($"--target is {settings.Target}; it must be > 0 (a relative mean squared error).");
        }

        output.WriteLine($"over-relaxation: tanh relaxation networks of homogeneous ADR steps on {settings.Sites} sites, fitting u(0) -> u({settings.Horizon}) of ADR dynamics; depths {string.Join(", ", settings.Depths)}; {settings.Seeds.Count} seeds x {settings.Epochs} Adam epochs");
        OverRelaxationResult result = OverRelaxationSweep.Run(settings, new InlineProgress<string>(output.WriteLine), cancellation);
        string depthColumns = string.Join(" ", result.Depths.Select(d => $"{"L=" + d.ToString(CultureInfo.InvariantCulture),9}"));
        output.WriteLine();
        output.WriteLine($"{"omega",5} | {"fixed point: smoothing",22} {"oscillating",18} | {"depth to",8} {"unstable",8} | relative loss {depthColumns}");
        output.WriteLine($"{string.Empty,5} | {"iterations  rho",22} {"iterations  rho",18} | {"target",8} {"runs",8} |");
        for (int i = 0; i < result.Training.Count; i++)
        {
            FixedPointRow point = result.FixedPoints[i];
            DepthRow row = result.Training[i];
            string losses = string.Join(" ", row.RelativeLoss.Select(v => v.ToString("E2", CultureInfo.InvariantCulture).PadLeft(9)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.RelaxationFactor,5:F2} | {Iterations(point.SmoothingIterations),12} {point.SmoothingContraction,9:F3} {Iterations(point.OscillatingIterations),8} {point.OscillatingContraction,9:F3} | {(row.DepthToTarget < 0 ? "none" : row.DepthToTarget.ToString(CultureInfo.InvariantCulture)),8} {row.UnstableRuns,3} of {row.Runs,2} | {string.Empty,13} {losses}"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"omega learned from 1 at depth {result.Depths[result.Depths.Count / 2]}: {result.LearnedFactor:F3}"));
        if (outPath is not null)
        {
            string[] columns = ["RelaxationFactor", "SmoothingIterations", "SmoothingContraction", "OscillatingIterations", "OscillatingContraction", "DepthToTarget", "UnstableRuns", "Runs", .. result.Depths.Select(d => $"RelativeLossDepth{d}"), .. result.Depths.Select(d => $"WorstRelativeLossDepth{d}")];
            TableOutput.Write(outPath, columns, result.Training.Select((row, i) => (IReadOnlyList<object>)[row.RelaxationFactor, result.FixedPoints[i].SmoothingIterations, result.FixedPoints[i].SmoothingContraction, result.FixedPoints[i].OscillatingIterations, result.FixedPoints[i].OscillatingContraction, row.DepthToTarget, row.UnstableRuns, row.Runs, .. row.RelativeLoss.Cast<object>(), .. row.WorstRelativeLoss.Cast<object>()]));
            output.WriteLine($"table written to {outPath}");
        }

        if (plotPath is not null)
        {
            using Figure figure = RelaxationCharts.OverRelaxation(result);
            figure.Save(plotPath);
            output.WriteLine($"chart written to {plotPath}");
        }

        return 0;
    }

    private static string Iterations(int count) => count < 0 ? "none" : count.ToString(CultureInfo.InvariantCulture);

    private static double[]? Numbers(string? text)
    {
        if (text is null)
        {
            return null;
        }

        string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !(values[i] > 0) || !double.IsFinite(values[i]))
            {
                throw new UsageException($"--factors is '{text}'; write relaxation factors > 0 separated by commas, e.g. 0.5,1,1.5.");
            }
        }

        return values.Length > 0 ? values : throw new UsageException("--factors names no factor.");
    }
}
