using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>One fold's outcome.</summary>
/// <param name="Fold">1-based fold.</param>
/// <param name="TrainingRows">Rows trained on (including the trainer's own validation split).</param>
/// <param name="TestRows">Rows held out and scored.</param>
/// <param name="Metric">Accuracy (classifiers) or R^2 (regression) on the held-out rows.</param>
/// <param name="Elapsed">Training time.</param>
public sealed record FoldResult(int Fold, int TrainingRows, int TestRows, double Metric, TimeSpan Elapsed);

/// <summary>k-fold cross-validation with a seeded shuffle; the metric is accuracy for classifiers and R^2 for regression.</summary>
public static class CrossValidation
{
    /// <summary>Runs <paramref name="folds"/>-fold cross-validation of <paramref name="options"/> on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">Fewer rows than folds, or fewer than 2 folds.</exception>
    public static IReadOnlyList<FoldResult> Run(Dataset data, HopfColeTrainerOptions options, int folds = 5, int seed = 0, IProgress<FoldResult>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (folds < 2)
        {
            throw new ArgumentException($"folds is {folds}; cross-validation needs at least 2.", nameof(folds));
        }

        if (data.Rows < folds)
        {
            throw new ArgumentException($"The data set has {data.Rows} rows, fewer than the {folds} folds asked for.", nameof(data));
        }

        int[] order = data.ShuffledRows(seed);
        var results = new List<FoldResult>();
        for (int fold = 0; fold < folds; fold++)
        {
            int start = fold * data.Rows / folds;
            int end = (fold + 1) * data.Rows / folds;
            int[] test = order[start..end];
            int[] train = [.. order[..start], .. order[end..]];
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            HopfColeModel model = new HopfColeTrainer(options).Fit(data.Subset(train), cancellation: cancellation);
            double metric = ModelMetrics.Evaluate(model, data.Subset(test)).Primary;
            var result = new FoldResult(fold + 1, train.Length, test.Length, metric, stopwatch.Elapsed);
            results.Add(result);
            progress?.Report(result);
        }

        return results;
    }
}
