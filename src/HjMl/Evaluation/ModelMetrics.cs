using HjMl.Data;
using HjMl.Models;

namespace HjMl.Evaluation;

/// <summary>
/// Quality of a model on labelled rows, with ML.NET's metric names. Classifiers fill accuracy and log-loss (and, for
/// binary, AUC and F1 of the positive class); regressors fill R^2, RMSE and MAE. Unused metrics are NaN.
/// </summary>
/// <param name="Kind">The model kind the metrics are for.</param>
/// <param name="Rows">Rows evaluated.</param>
/// <param name="Accuracy">Fraction of rows whose predicted label is the label (micro accuracy).</param>
/// <param name="MacroAccuracy">Mean over classes of per-class accuracy (recall).</param>
/// <param name="LogLoss">Mean -log P(true class), natural log.</param>
/// <param name="AreaUnderRocCurve">Binary: probability a positive row scores above a negative one.</param>
/// <param name="F1Score">Binary: F1 of the positive class.</param>
/// <param name="RSquared">Regression: 1 - SSE / SST.</param>
/// <param name="RootMeanSquaredError">Regression: sqrt(mean squared error).</param>
/// <param name="MeanAbsoluteError">Regression: mean |error|.</param>
public sealed record ModelMetrics(
    ModelKind Kind,
    int Rows,
    double Accuracy,
    double MacroAccuracy,
    double LogLoss,
    double AreaUnderRocCurve,
    double F1Score,
    double RSquared,
    double RootMeanSquaredError,
    double MeanAbsoluteError)
{
    /// <summary>The metric model selection uses: accuracy for classifiers, R^2 for regression.</summary>
    public double Primary => Kind == ModelKind.Regression ? RSquared : Accuracy;

    /// <summary>The name of <see cref="Primary"/>.</summary>
    public string PrimaryName => Kind == ModelKind.Regression ? "R²" : "accuracy";

    /// <summary>Scores every row of <paramref name="data"/> with <paramref name="model"/> and computes the metrics.</summary>
    /// <exception cref="ArgumentException">The data's feature count differs from the model's.</exception>
    public static ModelMetrics Evaluate(HopfColeModel model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Columns != model.InputDimension)
        {
            throw new ArgumentException($"The data has {data.Columns} feature columns but the model takes {model.InputDimension}.", nameof(data));
        }

        var scores = new double[data.Rows * model.OutputLength];
        model.ScoreBatch(data.Features, scores);
        return FromScores(model.Kind, model.ClassLabels, scores, data.Labels);
    }

    /// <summary>
    /// The metrics of scores with <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s convention
    /// (one value per row for regression and binary, K class scores per row for multiclass) against
    /// <paramref name="labels"/>; any scorer that follows the convention (an ensemble, a user's function) is measured
    /// exactly as a model is.
    /// </summary>
    /// <param name="kind">How the scores are read.</param>
    /// <param name="classLabels">The class label values (binary: negative then positive); empty for regression.</param>
    /// <param name="scores">Row-major scores, one or K per row.</param>
    /// <param name="labels">One label per row.</param>
    /// <exception cref="ArgumentException">There are no labels, or the scores are not one (or K) per label.</exception>
    public static ModelMetrics FromScores(ModelKind kind, IReadOnlyList<double> classLabels, ReadOnlySpan<double> scores, ReadOnlySpan<double> labels)
    {
        ArgumentNullException.ThrowIfNull(classLabels);
        int outputs = Models.ScoreInterpretation.OutputLength(kind, classLabels.Count);
        if (labels.IsEmpty)
        {
            throw new ArgumentException("labels is empty; metrics need at least one row.", nameof(labels));
        }

        if (scores.Length != labels.Length * outputs)
        {
            throw new ArgumentException($"scores has length {scores.Length} but {labels.Length} rows of a {kind} scorer need {labels.Length * outputs}.", nameof(scores));
        }

        if (kind == ModelKind.Regression)
        {
            double mean = 0;
            foreach (double label in labels)
            {
                mean += label;
            }

            mean /= labels.Length;
            double squared = 0, absolute = 0, total = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                double error = scores[i] - labels[i];
                squared += error * error;
                absolute += Math.Abs(error);
                total += (labels[i] - mean) * (labels[i] - mean);
            }

            return new ModelMetrics(kind, labels.Length, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, total > 0 ? 1 - (squared / total) : double.NaN, Math.Sqrt(squared / labels.Length), absolute / labels.Length);
        }

        int classes = classLabels.Count;
        var perClassTotal = new int[classes];
        var perClassCorrect = new int[classes];
        var probabilities = new double[classes];
        int correct = 0;
        double logLoss = 0;
        int truePositive = 0, falsePositive = 0, falseNegative = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            Prediction prediction = Models.ScoreInterpretation.Interpret(kind, classLabels, scores.Slice(i * outputs, outputs), probabilities);
            int truth = IndexOf(classLabels, labels[i]);
            bool hit = prediction.PredictedLabel == labels[i];
            correct += hit ? 1 : 0;
            if (truth >= 0)
            {
                perClassTotal[truth]++;
                perClassCorrect[truth] += hit ? 1 : 0;
            }

            double probabilityOfTruth = kind == ModelKind.BinaryClassification
                ? (truth == 1 ? prediction.Probability : 1 - prediction.Probability)
                : truth >= 0 ? probabilities[truth] : 0;
            logLoss -= Math.Log(Math.Max(probabilityOfTruth, 1e-15));
            if (kind == ModelKind.BinaryClassification)
            {
                truePositive += prediction.ClassIndex == 1 && truth == 1 ? 1 : 0;
                falsePositive += prediction.ClassIndex == 1 && truth != 1 ? 1 : 0;
                falseNegative += prediction.ClassIndex != 1 && truth == 1 ? 1 : 0;
            }
        }

        double macro = 0;
        int present = 0;
        for (int c = 0; c < classes; c++)
        {
            if (perClassTotal[c] > 0)
            {
                macro += perClassCorrect[c] / (double)perClassTotal[c];
                present++;
            }
        }

        double auc = double.NaN, f1 = double.NaN;
        if (kind == ModelKind.BinaryClassification)
        {
            auc = RankArea(scores, labels, classLabels[1]);
            f1 = truePositive == 0 ? 0 : 2.0 * truePositive / ((2.0 * truePositive) + falsePositive + falseNegative);
        }

        return new ModelMetrics(kind, labels.Length, correct / (double)labels.Length, macro / Math.Max(1, present), logLoss / labels.Length, auc, f1, double.NaN, double.NaN, double.NaN);
    }

    private static int IndexOf(IReadOnlyList<double> classLabels, double label)
    {
        for (int c = 0; c < classLabels.Count; c++)
        {
            if (classLabels[c] == label)
            {
                return c;
            }
        }

        return -1;
    }

    // Mann–Whitney: the fraction of (positive, negative) pairs ordered correctly by score, ties counting a half.
    private static double RankArea(ReadOnlySpan<double> scoreSpan, ReadOnlySpan<double> labels, double positiveLabel)
    {
        double[] scores = scoreSpan.ToArray();
        int[] order = Enumerable.Range(0, labels.Length).OrderBy(i => scores[i]).ToArray();
        double rankSumPositive = 0;
        int positives = 0;
        int i = 0;
        while (i < order.Length)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]])
            {
                j++;
            }

            double averageRank = ((i + j) / 2.0) + 1;
            for (int k = i; k <= j; k++)
            {
                if (labels[order[k]] == positiveLabel)
                {
                    rankSumPositive += averageRank;
                    positives++;
                }
            }

            i = j + 1;
        }

        int negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (rankSumPositive - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }
}
