using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// S = sum_k exp(s_k - m) of a handful of class scores with m their maximum (at least 1): the softmax's normaliser,
/// the max-shifted log-sum-exp's sum at eps = 1 (THEORY.md section 1), with whole vectors on the widest the machine
/// accelerates, so that a handful of class scores cost one or two vector exponentials, not library calls. Pinned to
/// <see cref="Numerics.LogSumExp"/> by a test.
/// </summary>
internal static unsafe class SoftmaxNormaliser
{
    /// <summary>
    /// S for <paramref name="scores"/> and their <paramref name="maximum"/>. <paramref name="slack"/>: whether memory past
    /// the scores' end may be read up to a whole vector (a padded buffer), so that the ragged end is masked in place
    /// instead of copied.
    /// </summary>
    public static double Sum(ReadOnlySpan<double> scores, double maximum, bool slack = false)
    {
        fixed (double* values = scores)
        {
            return LseKernel<double>.PreferredWidth switch
            {
                VectorWidth.Bits512 => Sum<Vector512<double>, Simd512<double>>(values, scores.Length, maximum, slack),
                VectorWidth.Bits256 => Sum<Vector256<double>, Simd256<double>>(values, scores.Length, maximum, slack),
                _ => Sum<Vector128<double>, Simd128<double>>(values, scores.Length, maximum, slack),
            };
        }
    }

    /// <summary>
    /// <see cref="Sum(ReadOnlySpan{double}, double, bool)"/> on one vector width. The ragged end goes through a vector
    /// padded with -infinity, whose exponential is 0: masked in place where the buffer has slack, else copied.
    /// </summary>
    internal static double Sum<TVector, TSimd>(double* values, int count, double maximum, bool slack)
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

        if (k < count && slack)
        {
            sum = TSimd.Add(sum, TSimd.Exponential(TSimd.Subtract(TSimd.FirstLanes(TSimd.Load(values + k), count - k, double.NegativeInfinity), shift)));
        }
        else if (k < count)
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
