using HjMl.Data;
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
            double metric = Evaluate(model, data.Subset(test));
            var result = new FoldResult(fold + 1, train.Length, test.Length, metric, stopwatch.Elapsed);
            results.Add(result);
            progress?.Report(result);
        }

        return results;
    }

    /// <summary>Accuracy (classifiers) or R^2 (regression) of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static double Evaluate(HopfColeModel model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var scores = new double[data.Rows * model.OutputLength];
        model.ScoreBatch(data.Features, scores);
        if (model.Kind == ModelKind.Regression)
        {
            double mean = 0;
            foreach (double label in data.Labels)
            {
                mean += label;
            }

            mean /= data.Rows;
            double residual = 0, total = 0;
            for (int i = 0; i < data.Rows; i++)
            {
                residual += (scores[i] - data.Labels[i]) * (scores[i] - data.Labels[i]);
                total += (data.Labels[i] - mean) * (data.Labels[i] - mean);
            }

            return total > 0 ? 1 - (residual / total) : double.NaN;
        }

        int correct = 0;
        for (int i = 0; i < data.Rows; i++)
        {
            Prediction prediction = model.Interpret(scores.AsSpan(i * model.OutputLength, model.OutputLength));
            correct += prediction.PredictedLabel == data.Labels[i] ? 1 : 0;
        }

        return correct / (double)data.Rows;
    }
}
