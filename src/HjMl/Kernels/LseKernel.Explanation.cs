using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HjMl.Kernels;

// Scoring that keeps what an explanation reads: Gibbs weights and attribution entropies (THEORY.md sections 3 and 4).
internal sealed unsafe partial class LseKernel<T>
{
    // ScoreRows for one row, keeping the exponentials as Gibbs weights and the entropy sums (see ExplainRow); with
    // logitsReady, from the row's logits already in the buffer. Not inlined, so that its per-head loops keep their
    // registers (docs/performance/kernels.md).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private void ExplainRow<TVector, TSimd>(T* input, T* logits, double* headScores, double* sums, double viscosity, T* weights, double* entropies, bool logitsReady = false)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        bool smooth = viscosity > 0 && T.IsFinite(scaling);
        if (!logitsReady)
        {
            Logits<TVector, TSimd>(input, 1, logits);
        }

        if (smooth && Pieces <= TSimd.Count)
        {
            // Heads of one vector: eight at a time with heads in lanes where 512-bit doubles allow (every reduction
            // serves eight heads), the rest one vector each, kept in registers from load to normalised store.
            int head = 0;
            if (typeof(TVector) == typeof(Vector512<double>) && Avx512F.IsSupported)
            {
                for (; head + EightHeads.Count <= Heads; head += EightHeads.Count)
                {
                    EightHeads.Explain((double*)(logits + (head * Pieces)), Pieces, double.CreateTruncating(scaling), headScores + head, sums + head, (double*)(weights + (head * Pieces)), entropies + head);
                }
            }

            OneVectorHeads<TVector, TSimd>(head, logits, headScores, sums, scaling, weights, entropies);
        }
        else
        {
            for (int head = 0; head < Heads; head++)
            {
                T* z = logits + (head * Pieces);
                T* pi = weights + (head * Pieces);
                T maximum = Maximum<TVector, TSimd>(z, Pieces);
                headScores[head] = double.CreateTruncating(maximum);
                if (smooth)
                {
                    double sum = ShiftedExponentials<TVector, TSimd>(z, Pieces, maximum, scaling, pi, out double weightedSum);
                    sums[head] = sum;

                    // pi_j = e_j (1 / S) over whole vectors (within an ulp of dividing, one division per head instead of
                    // per vector), before the next head's exponentials land past this head's end.
                    double reciprocal = 1 / sum;
                    TVector scale = TSimd.Broadcast(T.CreateTruncating(reciprocal));
                    for (int j = 0; j < Pieces; j += TSimd.Count)
                    {
                        TSimd.Store(TSimd.Multiply(TSimd.Load(pi + j), scale), pi + j);
                    }

                    // For H below: sum_j pi_j (z_j - m) / eps = sum_j e_j u_j / S over ExponentialScale.
                    entropies[head] = weightedSum * reciprocal / TSimd.ExponentialScale;
                }
                else
                {
                    sums[head] = 1.0;
                    int ties = TiedWeights(z, Pieces, maximum, pi);
                    entropies[head] = Math.Log(ties);
                }
            }
        }

        if (smooth)
        {
            // log S of every head at once, then f = fma(eps, log S, m) (the operations AddScaledLogarithms applies, so the
            // same scores) and H = log S - sum_j pi_j (z_j - m) / eps, clamped: rounding can leave a hair below zero or
            // above log N, and H is a property of a probability vector.
            Logarithms(sums, Heads);
            double largest = LargestEntropy;
            for (int head = 0; head < Heads; head++)
            {
                headScores[head] = Math.FusedMultiplyAdd(viscosity, sums[head], headScores[head]);
                entropies[head] = Math.Clamp(sums[head] - entropies[head], 0, largest);
            }
        }
    }

    // ExplainRow's weights, sums and entropy sums when every head fits one vector: the same operations as Maximum and
    // ShiftedExponentials (so the same bits) with the vector kept in registers from load to normalised store.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OneVectorHeads<TVector, TSimd>(int firstHead, T* logits, double* headScores, double* sums, T scaling, T* weights, double* entropies)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector scale = TSimd.Broadcast(scaling);
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector none = TSimd.Broadcast(T.NegativeInfinity);
        bool whole = Pieces == TSimd.Count;
        for (int head = firstHead; head < Heads; head++)
        {
            T* z = logits + (head * Pieces);
            TVector logit = whole ? TSimd.Load(z) : TSimd.FirstLanes(TSimd.Load(z), Pieces, T.NegativeInfinity);
            T maximum = TSimd.MaximumAcross(TSimd.Max(none, logit));
            headScores[head] = double.CreateTruncating(maximum);
            TVector exponent = TSimd.Multiply(TSimd.Subtract(logit, TSimd.Broadcast(maximum)), scale);
            TVector exponential = TSimd.ScaledExponential(exponent);
            double sum = TSimd.SumAcross(TSimd.Add(zero, exponential));
            double weightedSum = TSimd.SumAcross(TSimd.Add(zero, TSimd.ZeroBelow(TSimd.Multiply(exponential, exponent), exponent, LowestFinite)));
            sums[head] = sum;
            double reciprocal = 1 / sum;
            TSimd.Store(TSimd.Multiply(exponential, TSimd.Broadcast(T.CreateTruncating(reciprocal))), weights + (head * Pieces));
            entropies[head] = weightedSum * reciprocal / TSimd.ExponentialScale;
        }
    }

    // values_i = log values_i over whole vectors, the tail through a padded vector (as AddScaledLogarithms takes them).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Logarithms(double* values, int count)
    {
        switch (VectorWidth)
        {
            case VectorWidth.Bits512:
                Logarithms<Vector512<double>, Simd512<double>>(values, count);
                break;
            case VectorWidth.Bits256:
                Logarithms<Vector256<double>, Simd256<double>>(values, count);
                break;
            default:
                Logarithms<Vector128<double>, Simd128<double>>(values, count);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Logarithms<TVector, TSimd>(double* values, int count)
        where TVector : unmanaged
        where TSimd : struct, ISimd<double, TVector>
    {
        int i = 0;
        for (; i <= count - TSimd.Count; i += TSimd.Count)
        {
            TSimd.Store(TSimd.Logarithm(TSimd.Load(values + i)), values + i);
        }

        if (i < count)
        {
            double* padded = stackalloc double[TSimd.Count];
            for (int lane = 0; lane < TSimd.Count; lane++)
            {
                padded[lane] = i + lane < count ? values[i + lane] : 1.0;
            }

            TSimd.Store(TSimd.Logarithm(TSimd.Load(padded)), padded);
            for (int lane = 0; i + lane < count; lane++)
            {
                values[i + lane] = padded[lane];
            }
        }
    }

    // The eps -> 0 limit of the Gibbs weights: 1 / ties at every maximal logit, 0 elsewhere; returns the ties.
    private static int TiedWeights(T* z, int count, T maximum, T* pi)
    {
        int ties = 0;
        for (int j = 0; j < count; j++)
        {
            ties += z[j] == maximum ? 1 : 0;
        }

        T share = T.One / T.CreateTruncating(ties);
        for (int j = 0; j < count; j++)
        {
            pi[j] = z[j] == maximum ? share : T.Zero;
        }

        return ties;
    }

    // ShiftedExponentialSum, with the same operations in the same order (so the same S, bit for bit), that also stores
    // each e_j = exp(u_j), u_j = (z_j - m) * scale, to destination (whole vectors) and returns sum_j e_j u_j. Lanes
    // whose u is -infinity (past the end, or an overflowed shift) have e = 0 and are left out of that sum instead of
    // adding 0 * -infinity.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ShiftedExponentials<TVector, TSimd>(T* z, int count, T maximum, T scaling, T* destination, out double weightedSum)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector shift = TSimd.Broadcast(maximum);
        TVector scale = TSimd.Broadcast(scaling);
        TVector sum = TSimd.Broadcast(T.Zero);
        TVector weighted = TSimd.Broadcast(T.Zero);
        int j = 0;
        for (; j <= count - TSimd.Count; j += TSimd.Count)
        {
            TVector exponent = TSimd.Multiply(TSimd.Subtract(TSimd.Load(z + j), shift), scale);
            TVector exponential = TSimd.ScaledExponential(exponent);
            sum = TSimd.Add(sum, exponential);
            weighted = TSimd.Add(weighted, TSimd.ZeroBelow(TSimd.Multiply(exponential, exponent), exponent, LowestFinite));
            TSimd.Store(exponential, destination + j);
        }

        if (j < count)
        {
            TVector tail = TSimd.FirstLanes(TSimd.Load(z + j), count - j, T.NegativeInfinity);
            TVector exponent = TSimd.Multiply(TSimd.Subtract(tail, shift), scale);
            TVector exponential = TSimd.ScaledExponential(exponent);
            sum = TSimd.Add(sum, exponential);
            weighted = TSimd.Add(weighted, TSimd.ZeroBelow(TSimd.Multiply(exponential, exponent), exponent, LowestFinite));
            TSimd.Store(exponential, destination + j);
        }

        weightedSum = TSimd.SumAcross(weighted);
        return TSimd.SumAcross(sum);
    }

}
