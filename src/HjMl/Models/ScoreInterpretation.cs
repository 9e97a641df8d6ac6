using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using HjMl.Layers;
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

    // sum_k exp(s_k - m) for m = max_k s_k (at least 1), with whole vectors on the widest the machine accelerates: a
    // handful of class scores cost one or two vector exponentials, not library calls.
    private static unsafe double ShiftedExponentialSum(ReadOnlySpan<double> scores, double maximum)
    {
        fixed (double* values = scores)
        {
            return LseKernel<double>.PreferredWidth switch
            {
                VectorWidth.Bits512 => ShiftedExponentialSum<Vector512<double>, Simd512<double>>(values, scores.Length, maximum),
                VectorWidth.Bits256 => ShiftedExponentialSum<Vector256<double>, Simd256<double>>(values, scores.Length, maximum),
                _ => ShiftedExponentialSum<Vector128<double>, Simd128<double>>(values, scores.Length, maximum),
            };
        }
    }

    // The ragged end goes through a vector padded with -infinity, whose exponential is 0.
    private static unsafe double ShiftedExponentialSum<TVector, TSimd>(double* values, int count, double maximum)
        where TVector : unmanaged
        where TSimd : struct, ISimd<double, TVector>
    {
        TVector shift = TSimd.Broadcast(maximum);
        TVector sum = TSimd.Broadcast(0);
        int k = 0;
        for (; k <= count - TSimd.Count; k += TSimd.Count)
        {
            sum = TSimd.Add(sum, TSimd.Exponential(TSimd.Subtract(TSimd.Load(values + k), shift)));
        }

        if (k < count)
        {
            double* padded = stackalloc double[TSimd.Count];
            for (int lane = 0; lane < TSimd.Count; lane++)
            {
                padded[lane] = k + lane < count ? values[k + lane] : double.NegativeInfinity;
            }

            sum = TSimd.Add(sum, TSimd.Exponential(TSimd.Subtract(TSimd.Load(padded), shift)));
        }

        return TSimd.SumAcross(sum);
    }
}
