using System.Globalization;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary><c>hjml cross-validate</c>: k-fold cross-validation with a seeded shuffle; prints each fold and the mean.</summary>
internal sealed class CrossValidateCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("data", "the CSV file (numeric columns); without it, the breast_cancer set embedded in the tool"),
        new("label", "the label column", OptionValue.Text, "Label"),
        new("folds", "k of k-fold cross-validation", OptionValue.Integer, "5"),
        new("split-seed", "seed of the fold split", OptionValue.Integer, "0"),
        .. TrainingSettings.Options,
    ];

    public string Name => "cross-validate";

    public string Summary => "k-fold cross-validation of the trainer on a CSV file";

    public string Usage => $"hjml cross-validate --data <csv> [--label <column>] [--folds 5] [--split-seed s] {TrainingSettings.Usage}";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        int folds = arguments.Integer("folds", 5);
        int splitSeed = arguments.Integer("split-seed", 0);
        HopfColeTrainerOptions options = TrainingSettings.Read(arguments, ModelKind.BinaryClassification);
        arguments.RejectUnknown();
        (Dataset data, string name) = DataSource.Load(dataPath, label);
        TrainingSize.Check(data, options);
        string metric = options.Kind == ModelKind.Regression ? "R²" : "accuracy";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{folds}-fold cross-validation of {TrainingSettings.TaskName(options.Kind)} on {name} ({data.Rows} rows x {data.Columns} features), split seed {splitSeed}"));
        var progress = new InlineProgress<FoldResult>(fold => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  fold {fold.Fold}: {metric} {fold.Metric:F4} ({fold.TestRows} rows, {fold.Elapsed.TotalSeconds:F1}s)")));
        IReadOnlyList<FoldResult> results = CrossValidation.Run(data, options, folds, splitSeed, progress, cancellation);
        double mean = results.Average(r => r.Metric);
        double deviation = Math.Sqrt(results.Sum(r => (r.Metric - mean) * (r.Metric - mean)) / Math.Max(1, results.Count - 1));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean {metric} {mean:F4} ± {deviation:F4}"));
        return 0;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (System.Progress posts to the thread pool).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
