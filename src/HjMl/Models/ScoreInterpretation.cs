using System.Numerics.Tensors;
using HjMl.Kernels;
using HjMl.Numerics;

namespace HjMl.Models;

/// <summary>How scores with <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s convention turn into a prediction; shared by models and ensembles.</summary>
internal static class ScoreInterpretation
{
    /// <summary>The number of scores per row for a kind: K for multiclass, 1 otherwise.</summary>
    public static int OutputLength(ModelKind kind, int classes) => kind == ModelKind.MulticlassClassification ? classes : 1;

    /// <summary>
    /// Regression: the value. Binary: the margin, P(positive) = sigmoid(margin), positive iff margin &gt; 0. Multiclass:
    /// the largest class score (the first on ties) and softmax probabilities, written to <paramref name="probabilities"/> if it holds K.
    /// </summary>
    public static Prediction Interpret(ModelKind kind, IReadOnlyList<double> classLabels, ReadOnlySpan<double> scores, Span<double> probabilities)
    {
        switch (kind)
        {
            case ModelKind.Regression:
                return Regression(scores[0]);
            case ModelKind.BinaryClassification:
                return Binary(scores[0], classLabels[0], classLabels[1]);
            default:
                int classes = classLabels.Count;
                int best = TensorPrimitives.IndexOfMax(scores[..classes]);
                if (probabilities.Length >= classes)
                {
                    LogSumExp.GibbsWeights(scores[..classes], 1.0, probabilities[..classes]);
                    return new Prediction(scores[best], probabilities[best], best, classLabels[best]);
                }

                return Multiclass(scores[..classes], best, classLabels[best]);
        }
    }

    /// <summary>A regression prediction: the value.</summary>
    public static Prediction Regression(double value) => new(value, double.NaN, -1, value);

    /// <summary>A binary prediction from the margin: P(positive) = sigmoid(margin), positive iff margin &gt; 0.</summary>
    public static Prediction Binary(double margin, double negativeLabel, double positiveLabel)
    {
        double probability = HopfColeModel.Sigmoid(margin);
        bool positive = margin > 0;
        return new Prediction(margin, probability, positive ? 1 : 0, positive ? positiveLabel : negativeLabel);
    }

    /// <summary>
    /// A multiclass prediction of class <paramref name="best"/> (the caller's argmax, the first on ties) with only its own
    /// probability: 1 / sum_k exp(s_k - s_best), the softmax at its own maximum.
    /// </summary>
    /// <param name="scores">The class scores.</param>
    /// <param name="best">The predicted class.</param>
    /// <param name="label">Its label value.</param>
    /// <param name="slack">Whether memory past the scores' end may be read up to a whole vector (a padded buffer): the ragged end is then masked in place instead of copied.</param>
    public static Prediction Multiclass(ReadOnlySpan<double> scores, int best, double label, bool slack = false)
        => new(scores[best], 1 / SoftmaxNormaliser.Sum(scores, scores[best], slack), best, label);
}
