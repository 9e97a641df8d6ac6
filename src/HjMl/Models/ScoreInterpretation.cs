using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    // sum_k exp(s_k - m) for m = max_k s_k (at least 1), with whole vectors: a ragged end is read as the last full vector,
    // its lanes already summed masked out. A handful of class scores cost one or two vector exponentials, not library calls.
    private static double ShiftedExponentialSum(ReadOnlySpan<double> scores, double maximum)
    {
        int count = scores.Length;
        ref double start = ref MemoryMarshal.GetReference(scores);
        if (Vector512.IsHardwareAccelerated && count >= Vector512<double>.Count)
        {
            Vector512<double> shift = Vector512.Create(maximum);
            Vector512<double> sum = Vector512<double>.Zero;
            int k = 0;
            for (; k <= count - Vector512<double>.Count; k += Vector512<double>.Count)
            {
                sum += Vector512.Exp(Vector512.LoadUnsafe(ref start, (nuint)k) - shift);
            }

            if (k < count)
            {
                int last = count - Vector512<double>.Count;
                Vector512<double> tail = Vector512.Exp(Vector512.LoadUnsafe(ref start, (nuint)last) - shift);
                Vector512<double> fresh = Vector512.GreaterThanOrEqual(Vector512<double>.Indices, Vector512.Create((double)(k - last)));
                sum += Vector512.ConditionalSelect(fresh, tail, Vector512<double>.Zero);
            }

            return Vector512.Sum(sum);
        }

        if (Vector256.IsHardwareAccelerated && count >= Vector256<double>.Count)
        {
            Vector256<double> shift = Vector256.Create(maximum);
            Vector256<double> sum = Vector256<double>.Zero;
            int k = 0;
            for (; k <= count - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                sum += Vector256.Exp(Vector256.LoadUnsafe(ref start, (nuint)k) - shift);
            }

            if (k < count)
            {
                int last = count - Vector256<double>.Count;
                Vector256<double> tail = Vector256.Exp(Vector256.LoadUnsafe(ref start, (nuint)last) - shift);
                Vector256<double> fresh = Vector256.GreaterThanOrEqual(Vector256<double>.Indices, Vector256.Create((double)(k - last)));
                sum += Vector256.ConditionalSelect(fresh, tail, Vector256<double>.Zero);
            }

            return Vector256.Sum(sum);
        }

        double total = 0;
        foreach (double score in scores)
        {
            total += Math.Exp(score - maximum);
        }

        return total;
    }
}
