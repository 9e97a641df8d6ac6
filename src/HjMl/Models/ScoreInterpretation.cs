using System.Numerics.Tensors;
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
                return new Prediction(scores[0], double.NaN, -1, scores[0]);
            case ModelKind.BinaryClassification:
                double probability = HopfColeModel.Sigmoid(scores[0]);
                int positive = scores[0] > 0 ? 1 : 0;
                return new Prediction(scores[0], probability, positive, classLabels[positive]);
            default:
                int classes = classLabels.Count;
                int best = TensorPrimitives.IndexOfMax(scores[..classes]);
                if (probabilities.Length >= classes)
                {
                    LogSumExp.GibbsWeights(scores[..classes], 1.0, probabilities[..classes]);
                    return new Prediction(scores[best], probabilities[best], best, classLabels[best]);
                }

                // Only the predicted class's probability: 1 / sum_k exp(s_k - s_best), the softmax at its own maximum.
                return new Prediction(scores[best], 1 / ShiftedExponentialSum(scores[..classes], scores[best]), best, classLabels[best]);
        }
    }

    // sum_k exp(s_k - m) for m = max_k s_k, in at least 1.
    private static double ShiftedExponentialSum(ReadOnlySpan<double> scores, double maximum)
    {
        double[]? rented = null;
        Span<double> work = scores.Length <= 64 ? stackalloc double[scores.Length] : (rented = System.Buffers.ArrayPool<double>.Shared.Rent(scores.Length));
        try
        {
            return LogSumExp.ShiftedExponentials(scores, maximum, 1.0, work[..scores.Length]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<double>.Shared.Return(rented);
            }
        }
    }
}
