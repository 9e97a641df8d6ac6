namespace HjMl.Cli.Report;

/// <summary>One ROC curve: the false and true positive rates at every distinct score threshold, and the area under it.</summary>
/// <param name="Name">What is positive ("class 1", "class 2 vs rest").</param>
/// <param name="FalsePositiveRates">From 0 to 1.</param>
/// <param name="TruePositiveRates">From 0 to 1.</param>
/// <param name="Area">The trapezoid area under the curve: the Mann–Whitney statistic, ties counting a half.</param>
internal sealed record RocCurve(string Name, double[] FalsePositiveRates, double[] TruePositiveRates, double Area);

/// <summary>One bin of a calibration (reliability) curve.</summary>
/// <param name="Low">The bin's lowest predicted probability.</param>
/// <param name="High">The bin's highest predicted probability.</param>
/// <param name="Rows">Rows whose predicted probability falls in the bin.</param>
/// <param name="MeanPredicted">Their mean predicted probability.</param>
/// <param name="ObservedFrequency">The fraction of them whose outcome happened.</param>
internal sealed record CalibrationBin(double Low, double High, int Rows, double MeanPredicted, double ObservedFrequency);

/// <summary>A classifier's confusion matrix, ROC curves and calibration curve, from predictions and labels.</summary>
internal static class ClassifierCurves
{
    /// <summary>Counts[truth, predicted] over the rows whose true class is known (<paramref name="truth"/> &gt;= 0).</summary>
    public static int[,] Confusion(int classes, IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        var counts = new int[classes, classes];
        for (int i = 0; i < truth.Count; i++)
        {
            if (truth[i] >= 0 && predicted[i] >= 0)
            {
                counts[truth[i], predicted[i]]++;
            }
        }

        return counts;
    }

    /// <summary>The ROC curve of <paramref name="scores"/> (higher means positive) against <paramref name="positive"/>.</summary>
    public static RocCurve Roc(string name, IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        int positives = positive.Count(p => p), negatives = positive.Count - positives;
        int[] order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        int truePositives = 0, falsePositives = 0;
        double area = 0;
        for (int k = 0; k < order.Length;)
        {
            // Rows with equal scores pass the threshold together: one step of the curve, a trapezoid of the area.
            int end = k;
            while (end < order.Length && scores[order[end]] == scores[order[k]])
            {
                truePositives += positive[order[end]] ? 1 : 0;
                falsePositives += positive[order[end]] ? 0 : 1;
                end++;
            }

            double x = negatives > 0 ? falsePositives / (double)negatives : 0;
            double y = positives > 0 ? truePositives / (double)positives : 0;
            area += (x - fpr[^1]) * (y + tpr[^1]) / 2;
            fpr.Add(x);
            tpr.Add(y);
            k = end;
        }

        return new RocCurve(name, [.. fpr], [.. tpr], positives > 0 && negatives > 0 ? area : double.NaN);
    }

    /// <summary>
    /// <paramref name="bins"/> equal-width bins of predicted probability in [0, 1]; empty bins are left out.
    /// </summary>
    public static CalibrationBin[] Calibration(IReadOnlyList<double> probabilities, IReadOnlyList<bool> outcomes, int bins = 10)
    {
        var rows = new int[bins];
        var predicted = new double[bins];
        var happened = new int[bins];
        for (int i = 0; i < probabilities.Count; i++)
        {
            int bin = Math.Clamp((int)(probabilities[i] * bins), 0, bins - 1);
            rows[bin]++;
            predicted[bin] += probabilities[i];
            happened[bin] += outcomes[i] ? 1 : 0;
        }

        return Enumerable.Range(0, bins)
            .Where(b => rows[b] > 0)
            .Select(b => new CalibrationBin(b / (double)bins, (b + 1) / (double)bins, rows[b], predicted[b] / rows[b], happened[b] / (double)rows[b]))
            .ToArray();
    }

    /// <summary>The expected calibration error: the row-weighted mean gap |observed - predicted| over the bins.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<CalibrationBin> bins)
    {
        int total = bins.Sum(b => b.Rows);
        return total == 0 ? double.NaN : bins.Sum(b => b.Rows * Math.Abs(b.ObservedFrequency - b.MeanPredicted)) / total;
    }
}
