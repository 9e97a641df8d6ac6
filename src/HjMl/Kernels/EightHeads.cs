using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HjMl.Kernels;

/// <summary>
/// <see cref="LseKernel{T}.ExplainRow"/> for eight heads of at most eight pieces at once on 512-bit double vectors, head
/// h in lane h: every head's maximum, S = sum_j exp((z_j - m) / eps) and entropy sum come out of reductions across the
/// eight heads together, instead of one head's chain (maximum, exponential, sum, division) after another.
/// </summary>
internal static unsafe class EightHeads
{
    /// <summary>Heads per call.</summary>
    public const int Count = 8;

    /// <summary>
    /// For heads h = 0..7 of <paramref name="pieces"/> logits each (row stride <paramref name="pieces"/>, one vector of
    /// slack after the last): the maximum into <paramref name="maxima"/>[h], S into <paramref name="sums"/>[h] (to the
    /// bit what Vector512.Sum of the head's exponentials gives, so the scores are EvaluateRow's), sum_j pi_j u_j with
    /// u_j = (z_j - m) / eps into <paramref name="entropies"/>[h], and pi_j = e_j (1 / S) into the weights (whole
    /// vectors, in head order: a head's tail lanes land on the next head's pieces before that head writes them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Explain(double* logits, int pieces, double scaling, double* maxima, double* sums, double* weights, double* entropies)
    {
        Vector512<double>* logit = stackalloc Vector512<double>[Count];
        Vector512<double>* exponential = stackalloc Vector512<double>[Count];
        Vector512<double>* weighted = stackalloc Vector512<double>[Count];
        for (int head = 0; head < Count; head++)
        {
            Vector512<double> value = Vector512.Load(logits + (head * pieces));
            logit[head] = pieces == Count ? value : Simd512<double>.FirstLanes(value, pieces, double.NegativeInfinity);
        }

        Vector512.Store(Maxima(logit), maxima);
        Vector512<double> scale = Vector512.Create(scaling);
        double lowest = -double.MaxValue;
        for (int head = 0; head < Count; head++)
        {
            Vector512<double> exponent = (logit[head] - Vector512.Create(maxima[head])) * scale;
            Vector512<double> value = Simd512<double>.ScaledExponential(exponent);
            exponential[head] = value;
            weighted[head] = Simd512<double>.ZeroBelow(value * exponent, exponent, lowest);
        }

        Vector512<double> total = Sums(exponential);
        Vector512<double> reciprocal = Vector512<double>.One / total;
        Vector512.Store(total, sums);
        Vector512.Store(Sums(weighted) * reciprocal / Simd512<double>.ExponentialScale, entropies);
        double* reciprocals = stackalloc double[Count];
        Vector512.Store(reciprocal, reciprocals);
        for (int head = 0; head < Count; head++)
        {
            Vector512.Store(exponential[head] * Vector512.Create(reciprocals[head]), weights + (head * pieces));
        }
    }

    /// <summary>
    /// Lane h = Vector512.Sum(values[h]) to the bit: the same tree, neighbours first, then pairs of neighbours, then the
    /// two halves ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)), done for all eight vectors at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> Sums(Vector512<double>* values)
    {
        // Neighbours: lanes (a0+a1, b0+b1, a2+a3, b2+b3, ...) for each pair of heads.
        Vector512<double> ab = Avx512F.UnpackLow(values[0], values[1]) + Avx512F.UnpackHigh(values[0], values[1]);
        Vector512<double> cd = Avx512F.UnpackLow(values[2], values[3]) + Avx512F.UnpackHigh(values[2], values[3]);
        Vector512<double> ef = Avx512F.UnpackLow(values[4], values[5]) + Avx512F.UnpackHigh(values[4], values[5]);
        Vector512<double> gh = Avx512F.UnpackLow(values[6], values[7]) + Avx512F.UnpackHigh(values[6], values[7]);

        // Pairs of neighbours: each head's lower half (lanes 0-3) and upper half (4-7), two heads per 128-bit block.
        Vector512<double> abcd = Avx512F.Shuffle4x128(ab, cd, EvenBlocks) + Avx512F.Shuffle4x128(ab, cd, OddBlocks);
        Vector512<double> efgh = Avx512F.Shuffle4x128(ef, gh, EvenBlocks) + Avx512F.Shuffle4x128(ef, gh, OddBlocks);

        // Halves: lower plus upper, heads in order.
        return Avx512F.Shuffle4x128(abcd, efgh, EvenBlocks) + Avx512F.Shuffle4x128(abcd, efgh, OddBlocks);
    }

    /// <summary>Lane h = the largest lane of values[h] (the same tree as <see cref="Sums"/>; a maximum has no order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> Maxima(Vector512<double>* values)
    {
        Vector512<double> ab = Vector512.MaxNative(Avx512F.UnpackLow(values[0], values[1]), Avx512F.UnpackHigh(values[0], values[1]));
        Vector512<double> cd = Vector512.MaxNative(Avx512F.UnpackLow(values[2], values[3]), Avx512F.UnpackHigh(values[2], values[3]));
        Vector512<double> ef = Vector512.MaxNative(Avx512F.UnpackLow(values[4], values[5]), Avx512F.UnpackHigh(values[4], values[5]));
        Vector512<double> gh = Vector512.MaxNative(Avx512F.UnpackLow(values[6], values[7]), Avx512F.UnpackHigh(values[6], values[7]));
        Vector512<double> abcd = Vector512.MaxNative(Avx512F.Shuffle4x128(ab, cd, EvenBlocks), Avx512F.Shuffle4x128(ab, cd, OddBlocks));
        Vector512<double> efgh = Vector512.MaxNative(Avx512F.Shuffle4x128(ef, gh, EvenBlocks), Avx512F.Shuffle4x128(ef, gh, OddBlocks));
        return Vector512.MaxNative(Avx512F.Shuffle4x128(abcd, efgh, EvenBlocks), Avx512F.Shuffle4x128(abcd, efgh, OddBlocks));
    }

    // vshuff64x2 controls: 128-bit blocks (0, 2) of the left operand then (0, 2) of the right; and blocks (1, 3).
    private const byte EvenBlocks = 0b10_00_10_00;
    private const byte OddBlocks = 0b11_01_11_01;
}
