using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// Every head's max-shifted log-sum-exp f = m + eps log S over logits in cache (THEORY.md section 1).
internal sealed unsafe partial class LseKernel<T>
{
    // Every head's f = m + eps log S for the rows: maxima and sums first, then the logarithms vectorised over all of them.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreRows<TVector, TSimd>(T* inputs, int rows, T* logits, double* headScores, double* sums, double viscosity, Standardisation standardisation = default)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        // exp((z - m) / eps) as ScaledExponential((z - m) * (ExponentialScale / eps)): 2^((z - m) log2(e) / eps) in
        // float. If the scale overflows T (eps below about 4e-39 in float), every term but the maximum's vanishes and
        // f = m to within eps log N.
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        bool smooth = viscosity > 0 && T.IsFinite(scaling);

        // Small weights are swept once per chunk of 8 rows, whose logits are then still in L1 for the two passes;
        // large ones once per tile, whose logits wait in L2 (sweeping megabytes of weights per 8 rows would be
        // bound by the memory).
        for (int first = 0; first < rows; first += ChunkRows)
        {
            // Every chunk reuses the start of the logit buffer.
            int count = Math.Min(ChunkRows, rows - first);
            Logits<TVector, TSimd>(inputs + (first * Dimension), count, logits, standardisation.From(first));
            for (int row = first; row < first + count; row++)
            {
                T* rowLogits = logits + ((row - first) * Columns);
                for (int head = 0; head < Heads; head++)
                {
                    T* z = rowLogits + (head * Pieces);
                    T maximum = Maximum<TVector, TSimd>(z, Pieces);
                    int index = (row * Heads) + head;
                    headScores[index] = double.CreateTruncating(maximum);
                    sums[index] = smooth ? ShiftedExponentialSum<TVector, TSimd>(z, Pieces, maximum, scaling) : 1.0;
                }
            }
        }

        if (smooth)
        {
            AddScaledLogarithms(headScores, sums, rows * Heads, viscosity);
        }
    }

    // scores_i = fma(eps, log S_i, m_i) over whole vectors, the tail through a padded vector, so that each value is the
    // same function of its inputs wherever it sits (a row scores bit-identically alone and in a batch).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddScaledLogarithms(double* scores, double* sums, int count, double viscosity)
    {
        switch (VectorWidth)
        {
            case VectorWidth.Bits512:
                AddScaledLogarithms<Vector512<double>, Simd512<double>>(scores, sums, count, viscosity);
                break;
            case VectorWidth.Bits256:
                AddScaledLogarithms<Vector256<double>, Simd256<double>>(scores, sums, count, viscosity);
                break;
            default:
                AddScaledLogarithms<Vector128<double>, Simd128<double>>(scores, sums, count, viscosity);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddScaledLogarithms<TVector, TSimd>(double* scores, double* sums, int count, double viscosity)
        where TVector : unmanaged
        where TSimd : struct, ISimd<double, TVector>
    {
        TVector scale = TSimd.Broadcast(viscosity);
        int i = 0;
        for (; i <= count - TSimd.Count; i += TSimd.Count)
        {
            TSimd.Store(TSimd.MultiplyAdd(scale, TSimd.Logarithm(TSimd.Load(sums + i)), TSimd.Load(scores + i)), scores + i);
        }

        if (i < count)
        {
            double* padded = stackalloc double[TSimd.Count];
            double* maxima = stackalloc double[TSimd.Count];
            for (int lane = 0; lane < TSimd.Count; lane++)
            {
                padded[lane] = i + lane < count ? sums[i + lane] : 1.0;
                maxima[lane] = i + lane < count ? scores[i + lane] : 0.0;
            }

            TSimd.Store(TSimd.MultiplyAdd(scale, TSimd.Logarithm(TSimd.Load(padded)), TSimd.Load(maxima)), maxima);
            for (int lane = 0; i + lane < count; lane++)
            {
                scores[i + lane] = maxima[lane];
            }
        }
    }

    // Reading a whole vector at the tail is safe: logit buffers carry one vector of slack after the last row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Maximum<TVector, TSimd>(T* z, int count)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector maximum = TSimd.Broadcast(T.NegativeInfinity);
        int j = 0;
        for (; j <= count - TSimd.Count; j += TSimd.Count)
        {
            maximum = TSimd.Max(maximum, TSimd.Load(z + j));
        }

        if (j < count)
        {
            maximum = TSimd.Max(maximum, TSimd.FirstLanes(TSimd.Load(z + j), count - j, T.NegativeInfinity));
        }

        return TSimd.MaximumAcross(maximum);
    }

    // S = sum_j exp((z_j - m) / eps), in [1, count], with scale = ExponentialScale / eps; lanes past the end are
    // -infinity, whose exponential is 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ShiftedExponentialSum<TVector, TSimd>(T* z, int count, T maximum, T scaling)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector shift = TSimd.Broadcast(maximum);
        TVector scale = TSimd.Broadcast(scaling);
        TVector sum = TSimd.Broadcast(T.Zero);
        int j = 0;
        for (; j <= count - TSimd.Count; j += TSimd.Count)
        {
            sum = TSimd.Add(sum, TSimd.ScaledExponential(TSimd.Multiply(TSimd.Subtract(TSimd.Load(z + j), shift), scale)));
        }

        if (j < count)
        {
            TVector tail = TSimd.FirstLanes(TSimd.Load(z + j), count - j, T.NegativeInfinity);
            sum = TSimd.Add(sum, TSimd.ScaledExponential(TSimd.Multiply(TSimd.Subtract(tail, shift), scale)));
        }

        return TSimd.SumAcross(sum);
    }

}
