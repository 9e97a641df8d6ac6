using System.Globalization;
using System.Text;

namespace HjMl.Accuracy;

/// <summary>Where and how a run happened, for the report's header.</summary>
/// <param name="Command">The command that regenerates the report.</param>
/// <param name="Started">When the run started (UTC).</param>
/// <param name="WallSeconds">The whole run's wall time.</param>
/// <param name="Machine">CPU, cores, OS, .NET, Microsoft.ML and the load averages.</param>
/// <param name="Folds">k of the cross-validation.</param>
/// <param name="Seed">The seed of the splits and of every MLContext.</param>
/// <param name="Configurations">HjMl's columns.</param>
/// <param name="Skipped">Data sets not run and why.</param>
internal sealed record RunInfo(
    string Command,
    DateTime Started,
    double WallSeconds,
    IReadOnlyList<string> Machine,
    int Folds,
    int Seed,
    IReadOnlyList<HjMlConfiguration> Configurations,
    IReadOnlyList<string> Skipped);

/// <summary>The Markdown report: header (command, machine, protocol), then one row per data set and metric.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The whole document.</summary>
    public static string Markdown(RunInfo run, IReadOnlyList<DataSetResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("# Accuracy against ML.NET's trainers");
        text.AppendLine();
        text.AppendLine("HjMl's Hopf–Cole trainers through the ML.NET plug-in (`src/HjMl.MLNet`) and the ML.NET trainers a user would");
        text.AppendLine("pick, trained by one command on the same folds with the same featurisation. Regenerate with:");
        text.AppendLine();
        text.AppendLine("```");
        text.AppendLine(run.Command);
        text.AppendLine("```");
        text.AppendLine();
        text.AppendLine(Invariant, $"- Run: {run.Started:yyyy-MM-dd HH:mm} UTC, {run.WallSeconds / 60:F1} minutes wall time in all.");
        foreach (string line in run.Machine)
        {
            text.AppendLine(Invariant, $"- {line}");
        }

        text.AppendLine(Invariant, $"- Splits: {run.Folds}-fold cross-validation (ML.NET `CrossValidationSplit`, seed {run.Seed}); mnist-10000: one 80/20");
        text.AppendLine(Invariant, $"  hold-out (`TrainTestSplit`, seed {run.Seed}). Every fit gets a fresh `MLContext(seed: {run.Seed})`.");
        text.AppendLine("- Featurisation, fitted on each training fold as a user's pipeline would be: numeric columns concatenated into");
        text.AppendLine("  `Features`; for adult the text columns one-hot encoded (`OneHotEncoding`) and concatenated too; then");
        text.AppendLine("  `NormalizeMeanVariance` and `AppendCacheCheckpoint`. Multiclass labels go through `MapValueToKey`.");
        text.AppendLine("- **Every learner at its catalog defaults**: `LightGbm()`; `FastTree()` (multiclass: `OneVersusAll(FastTree())`,");
        text.AppendLine("  as ML.NET has no multiclass FastTree); Linear is `LbfgsLogisticRegression()` (binary), `LbfgsMaximumEntropy()`");
        text.AppendLine("  (multiclass) or `Sdca()` (regression); HjMl is `HopfCole(options)` on the task's catalog with the plug-in's");
        text.AppendLine("  default options, changed only where a column's heading names an option:");
        foreach (HjMlConfiguration configuration in run.Configurations)
        {
            text.AppendLine(Invariant, $"  - {configuration.Heading}: {(configuration.Assignments.Count == 0 ? "the plug-in's defaults" : $"`--hjml {configuration.Text}`")}, that is");
            text.AppendLine(Invariant, $"    {configuration.Effective()}.");
        }

        text.AppendLine("- A cell is the mean over the folds ± their standard deviation, then the mean training time per fold (the");
        text.AppendLine("  pipeline's `Fit`: featurisation and training) as wall clock and as the process's CPU time (all threads).");
        text.AppendLine("  Each learner first fits once, untimed, on the first training fold, so no time includes loading a native library or JIT.");
        text.AppendLine("  HjMl's cells add its best epoch (the parameters kept) of the epochs run, as means over the folds.");
        text.AppendLine("  Accuracy is ML.NET's micro accuracy; AUC its area under the ROC curve; R^2 its coefficient of determination.");
        text.AppendLine("- Gap: HjMl's mean minus LightGbm's, in points (1 point = 0.01), and HjMl's training time over LightGbm's");
        text.AppendLine("  (wall clock, then CPU time).");
        text.AppendLine("- Bar: issue 15's quality bar for that row (it also asks for a gap of at most -0.5 points at no more than 3×");
        text.AppendLine("  LightGbm's time on digits, mnist-10000 and adult).");
        foreach (string skipped in run.Skipped)
        {
            text.AppendLine(Invariant, $"- Not run: {skipped}.");
        }

        text.AppendLine();
        AppendTable(text, results);
        return text.ToString();
    }

    /// <summary>The table alone (also printed to the console).</summary>
    public static void AppendTable(StringBuilder text, IReadOnlyList<DataSetResult> results)
    {
        if (results.Count == 0)
        {
            text.AppendLine("No data set was run.");
            return;
        }

        // Every data set runs the same learners, so the first one's give the columns.
        IReadOnlyList<Learner> learners = results[0].Results.Select(r => r.Learner).ToArray();
        Learner[] hjml = learners.Where(l => l.IsHjMl).ToArray();
        var headings = new List<string> { "Data set", "Rows × features", "Metric", "Bar" };
        headings.AddRange(learners.Select(l => l.Name));
        headings.AddRange(hjml.Select(l => hjml.Length == 1 ? "Gap to LightGbm" : $"Gap: {l.Name}"));
        text.AppendLine("| " + string.Join(" | ", headings) + " |");
        text.AppendLine("|" + string.Concat(headings.Select((_, i) => i < 3 ? "---|" : "--:|")));

        foreach (DataSetResult result in results)
        {
            string split = result.Folds == 1 ? "hold-out" : $"{result.Folds} folds";
            foreach (string metric in CrossValidation.MetricNames(result.DataSet.Task))
            {
                double? bar = result.DataSet.Bars.Where(b => b.Metric == metric).Select(b => (double?)b.Bar).FirstOrDefault();
                var cells = new List<string>
                {
                    $"{result.DataSet.Name} ({split})",
                    string.Create(Invariant, $"{result.Rows} × {result.Features}"),
                    metric,
                    bar is double b ? string.Create(Invariant, $"≥ {b:0.###}") : string.Empty,
                };
                cells.AddRange(result.Results.Select(r => Cell(r.Folds, metric)));
                IReadOnlyList<FoldResult>? lightGbm = result.Results.FirstOrDefault(r => r.Learner.Name == "LightGbm").Folds;
                cells.AddRange(result.Results.Where(r => r.Learner.IsHjMl).Select(r => lightGbm is null ? string.Empty : Gap(r.Folds, lightGbm, metric)));
                text.AppendLine("| " + string.Join(" | ", cells) + " |");
            }
        }
    }

    private static string Cell(IReadOnlyList<FoldResult> folds, string metric)
    {
        double[] values = folds.Select(f => f.Metrics[metric]).ToArray();
        double mean = values.Average();
        string spread = values.Length > 1 ? string.Create(Invariant, $" ± {StandardDeviation(values):F4}") : string.Empty;
        string epochs = folds[0].Epochs is null
            ? string.Empty
            : string.Create(Invariant, $", epoch {folds.Average(f => f.Epochs!.Value.Best):0.#} of {folds.Average(f => f.Epochs!.Value.Run):0.#}");
        return string.Create(Invariant, $"{mean:F4}{spread} ({Seconds(folds.Average(f => f.TrainingSeconds))}, CPU {Seconds(folds.Average(f => f.ProcessorSeconds))}{epochs})");
    }

    private static string Gap(IReadOnlyList<FoldResult> hjml, IReadOnlyList<FoldResult> lightGbm, string metric)
    {
        double points = 100 * (hjml.Average(f => f.Metrics[metric]) - lightGbm.Average(f => f.Metrics[metric]));
        double time = hjml.Average(f => f.TrainingSeconds) / lightGbm.Average(f => f.TrainingSeconds);
        double processor = hjml.Average(f => f.ProcessorSeconds) / lightGbm.Average(f => f.ProcessorSeconds);
        return string.Create(Invariant, $"{points:+0.00;-0.00;0.00} pt, time {Ratio(time)} (CPU {Ratio(processor)})");
    }

    private static string Ratio(double ratio) => ratio.ToString(ratio < 0.1 ? "0.00" : "0.0", Invariant) + "×";

    private static double StandardDeviation(double[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static string Seconds(double seconds) => seconds switch
    {
        < 10 => string.Create(Invariant, $"{seconds:F2} s"),
        < 100 => string.Create(Invariant, $"{seconds:F1} s"),
        _ => string.Create(Invariant, $"{seconds:F0} s"),
    };
}
