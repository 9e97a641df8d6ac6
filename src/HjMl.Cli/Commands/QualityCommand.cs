using System.Globalization;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>One data set of the quality table: its file, task, settings, how it is scored, and the bar it must clear.</summary>
/// <param name="File">File name in the data folder.</param>
/// <param name="Options">Trainer settings.</param>
/// <param name="Folds">k of k-fold cross-validation, or 0 for a single 20% hold-out.</param>
/// <param name="Target">The least acceptable accuracy or R^2.</param>
internal sealed record QualityCase(string File, HopfColeTrainerOptions Options, int Folds, double Target)
{
    public string Metric => Options.Kind == ModelKind.Regression ? "R²" : "accuracy";

    /// <summary>Runs the case: the mean metric over folds (or on the hold-out) and the per-fold values.</summary>
    public (double Mean, double[] Values) Evaluate(string folder, CancellationToken cancellation = default)
    {
        Dataset data = CsvDataset.Load(Path.Combine(folder, File), "Label");
        if (Folds > 0)
        {
            double[] values = CrossValidation.Run(data, Options, Folds, seed: 0, cancellation: cancellation).Select(f => f.Metric).ToArray();
            return (values.Average(), values);
        }

        int[] order = data.ShuffledRows(0);
        int test = data.Rows / 5;
        HopfColeModel model = new HopfColeTrainer(Options).Fit(data.Subset(order[test..]), cancellation: cancellation);
        double metric = ModelMetrics.Evaluate(model, data.Subset(order[..test])).Primary;
        return (metric, [metric]);
    }
}

/// <summary>
/// <c>hjml quality</c>: the quality table of the README: 5-fold cross-validation (seeded) on the shipped data sets and a
/// 20% hold-out on mnist-10000, each against its bar. Exits 1 if any misses.
/// </summary>
internal sealed class QualityCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("data-folder", "folder holding the shipped data sets", OptionValue.Text, "data"),
    ];

    /// <summary>The table's rows; the tests run the same cases.</summary>
    public static IReadOnlyList<QualityCase> Cases { get; } =
    [
        new("breast_cancer.csv", new HopfColeTrainerOptions { Kind = ModelKind.BinaryClassification, NumberOfSupportPoints = 8, Seed = 1 }, 5, 0.95),
        new("digits.csv", new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, Seed = 1 }, 5, 0.95),
        new("iris.csv", new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, Seed = 1 }, 5, 0.93),
        new("diabetes.csv", new HopfColeTrainerOptions { Kind = ModelKind.Regression, NumberOfSupportPoints = 16, Viscosity = 2, Seed = 1 }, 5, 0.40),
        new("mnist-10000.csv.gz", new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, MaximumEpochs = 30, Seed = 1 }, 0, 0.92),
    ];

    public string Name => "quality";

    public string Summary => "the README's quality table: cross-validated metrics on the shipped data sets";

    public string Usage => "hjml quality [--data-folder data]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string folder = arguments.Text("data-folder") ?? "data";
        arguments.RejectUnknown();
        if (!File.Exists(Path.Combine(folder, Cases[0].File)))
        {
            throw new ArgumentException($"hjml quality reads the repository's data sets ({string.Join(", ", Cases.Select(c => c.File))}) from --data-folder, here '{Path.GetFullPath(folder)}', which lacks {Cases[0].File}. Run it from a checkout of HjMl or give --data-folder <checkout>/data.");
        }

        output.WriteLine("| data | task | width | eps | t | scored by | metric | result | bar | folds | time |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        int missed = 0;
        foreach (QualityCase quality in Cases)
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            (double mean, double[] values) = quality.Evaluate(folder, cancellation);
            bool met = mean >= quality.Target;
            missed += met ? 0 : 1;
            HopfColeTrainerOptions options = quality.Options;
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {quality.File} | {TrainingSettings.TaskName(options.Kind)} | {options.NumberOfSupportPoints} | {options.Viscosity:G3} | d/4 | {(quality.Folds > 0 ? $"{quality.Folds}-fold CV" : "20% hold-out")} | {quality.Metric} | **{mean:F4}**{(met ? string.Empty : " (MISSED)")} | ≥ {quality.Target:F2} | {string.Join(" ", values.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))} | {stopwatch.Elapsed.TotalSeconds:F1}s |"));
        }

        return missed == 0 ? 0 : 1;
    }
}
