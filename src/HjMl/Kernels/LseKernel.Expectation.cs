using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// E_pi[w] of a head straight from the scoring panel (THEORY.md section 3): the weights scoring has just swept, instead of
// a second copy of them in another part of memory.
internal sealed unsafe partial class LseKernel<T>
{
    // The fused sweep takes chunks of whole slabs of about this many bytes, which stay in a 1 MiB L2 beside the sums.
    private const int ExpectationChunkBytes = 256 * 1024;

    // The calling thread's per-feature accumulators of PanelExpectation and the fused sweep (d vectors per head), and the
    // fused sweep's exponentials (see AlignedBuffer.Rent).
    [ThreadStatic]
    private static T[]? expectationSums;

    [ThreadStatic]
    private static T[]? chunkExponentials;

    /// <summary>
    /// Writes E_pi[w] = sum_j pi_j w_j of head <paramref name="head"/> to the first d entries of
    /// <paramref name="destination"/>, reading the packed weights scoring reads, where <paramref name="weights"/> holds the
    /// head's N Gibbs weights. Why a second route besides <see cref="ExpectationKernel{T}"/>: on heads of megabytes an
    /// explanation that first scores through the panel and then reads the row-major copy streams twice the memory, and the
    /// two copies evict each other from the last-level cache; reading the panel again, slab after slab in the order
    /// scoring read it, finds it where scoring left it. Each E_k gathers the head's pieces in lanes (one vector per
    /// feature), added across lanes at the end. Allocates nothing once warm.
    /// </summary>
    public void PanelExpectation(int head, ReadOnlySpan<T> weights, Span<T> destination)
    {
        Debug.Assert(weights.Length >= Pieces, "One weight per piece.");
        Debug.Assert(destination.Length >= Dimension, "One entry per feature.");
        Span<T> sums = AlignedBuffer<T>.Rent(ref expectationSums, Dimension * Lanes);
        fixed (T* pi = weights)
        fixed (T* output = destination)
        fixed (T* accumulators = sums)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    PanelExpectation<Vector512<T>, Simd512<T>>(head, pi, output, accumulators);
                    break;
                case VectorWidth.Bits256:
                    PanelExpectation<Vector256<T>, Simd256<T>>(head, pi, output, accumulators);
                    break;
                default:
                    PanelExpectation<Vector128<T>, Simd128<T>>(head, pi, output, accumulators);
                    break;
            }
        }
    }

    /// <summary>
    /// <see cref="ExplainRow(ReadOnlySpan{T}, Span{double}, double, Span{T}, Span{double})"/> (the same scores, Gibbs weights and entropies, bit for bit) and, from the same sweep over
    /// the panel, E_pi[w] of heads <paramref name="first"/> and <paramref name="second"/> into the first d entries of their
    /// destinations; returns <see cref="ExpectationChunks"/>. Why: on weights of megabytes a second sweep streams them
    /// from memory again, while here each chunk of slabs (about <see cref="ExpectationChunkBytes"/>) adds to E_pi[w] right
    /// after its logits, from cache. The Gibbs weights are not known until every logit is, so the sums run online
    /// [derived from THEORY.md section 3]: each head keeps its largest logit so far m and
    /// A = sum_j exp((z_j - m) / eps) w_j, S = sum_j exp((z_j - m) / eps); a chunk that raises m to m' multiplies A and S
    /// by exp((m - m') / eps); at the end E_pi[w] = A / S. At eps = 0 (or an eps whose reciprocal overflows) the weights are
    /// the tied maxima's, and E_pi[w] comes from them after the sweep. Allocates nothing once warm.
    /// </summary>
    public int ExplainRowWithExpectations(ReadOnlySpan<T> input, Span<double> headScores, double viscosity, Span<T> weights, Span<double> entropies, int first, Span<T> firstExpectation, int second, Span<T> secondExpectation)
    {
        Debug.Assert(firstExpectation.Length >= Dimension && secondExpectation.Length >= Dimension, "One entry per feature.");
        Span<T> logits = AlignedBuffer<T>.Rent(ref rowLogits, Columns + Lanes);
        Span<double> sums = AlignedBuffer<double>.Rent(ref rowSums, Heads);
        Span<T> accumulators = AlignedBuffer<T>.Rent(ref expectationSums, 2 * Dimension * Lanes);
        Span<T> exponentials = AlignedBuffer<T>.Rent(ref chunkExponentials, Columns + Lanes);
        fixed (T* x = input)
        fixed (T* z = logits)
        fixed (double* scores = headScores)
        fixed (double* s = sums)
        fixed (T* pi = weights)
        fixed (double* entropy = entropies)
        fixed (T* firstOutput = firstExpectation)
        fixed (T* secondOutput = secondExpectation)
        fixed (T* a = accumulators)
        fixed (T* e = exponentials)
        {
            var heads = new ExpectedHeads(first, firstOutput, second, secondOutput, a, e);
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    SweepWithExpectations<Vector512<T>, Simd512<T>>(x, z, scores, s, viscosity, pi, entropy, heads);
                    break;
                case VectorWidth.Bits256:
                    SweepWithExpectations<Vector256<T>, Simd256<T>>(x, z, scores, s, viscosity, pi, entropy, heads);
                    break;
                default:
                    SweepWithExpectations<Vector128<T>, Simd128<T>>(x, z, scores, s, viscosity, pi, entropy, heads);
                    break;
            }
        }

        return ExpectationChunks;
    }

    /// <summary>
    /// The chunks of slabs the fused <see cref="ExplainRowWithExpectations"/>
    /// sweeps: the most times a head's online sums are rescaled, for a caller that bounds their rounding.
    /// </summary>
    public int ExpectationChunks => (Columns + ChunkColumns - 1) / ChunkColumns;

    // Columns per chunk of the fused sweep: whole slabs of about ExpectationChunkBytes, at least one.
    private int ChunkColumns => Math.Max(1, ExpectationChunkBytes / (Dimension * BlockVectors * Lanes * sizeof(T))) * BlockVectors * Lanes;

    // The two heads of the fused sweep, their destinations and the sweep's buffers (each head's d accumulator vectors, the
    // chunk's exponentials).
    private readonly struct ExpectedHeads(int first, T* firstOutput, int second, T* secondOutput, T* accumulators, T* exponentials)
    {
        public int First => first;

        public T* FirstOutput => firstOutput;

        public int Second => second;

        public T* SecondOutput => secondOutput;

        public T* Accumulators => accumulators;

        public T* Exponentials => exponentials;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SweepWithExpectations<TVector, TSimd>(T* x, T* logits, double* headScores, double* sums, double viscosity, T* weights, double* entropies, ExpectedHeads heads)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int d = Dimension;
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        if (!(viscosity > 0 && T.IsFinite(scaling)))
        {
            ExplainRow<TVector, TSimd>(x, logits, headScores, sums, viscosity, weights, entropies);
            PanelExpectation<TVector, TSimd>(heads.First, weights + (heads.First * Pieces), heads.FirstOutput, heads.Accumulators);
            PanelExpectation<TVector, TSimd>(heads.Second, weights + (heads.Second * Pieces), heads.SecondOutput, heads.Accumulators);
            return;
        }

        T* firstSums = heads.Accumulators;
        T* secondSums = heads.Accumulators + (d * lanes);
        TVector zero = TSimd.Broadcast(T.Zero);
        for (int k = 0; k < 2 * d; k++)
        {
            TSimd.Store(zero, firstSums + (k * lanes));
        }

        var firstHead = new OnlineHead(T.NegativeInfinity, 0);
        var secondHead = new OnlineHead(T.NegativeInfinity, 0);
        int blockWidth = BlockVectors * lanes;
        int chunk = ChunkColumns;
        for (int column = 0; column < Columns; column += chunk)
        {
            // The chunk's logits, slab by slab as Logits computes them (so the same bits), then both heads' sums from the
            // slabs still in cache.
            int chunkEnd = Math.Min(Columns, column + chunk);
            for (int slabStart = column; slabStart < chunkEnd; slabStart += blockWidth)
            {
                T* slab = panel + ((long)slabStart * d);
                switch ((Columns - slabStart) / lanes)
                {
                    case 1:
                        Rows<TVector, TSimd, BlockOfOne>(x, 1, slab, biases + slabStart, logits + slabStart, default);
                        break;
                    case 2:
                        Rows<TVector, TSimd, BlockOfTwo>(x, 1, slab, biases + slabStart, logits + slabStart, default);
                        break;
                    default:
                        Rows<TVector, TSimd, BlockOfThree>(x, 1, slab, biases + slabStart, logits + slabStart, default);
                        break;
                }
            }

            firstHead = Accumulate<TVector, TSimd>(heads.First, column, chunkEnd, logits, scaling, heads.Exponentials, firstHead, firstSums);
            secondHead = Accumulate<TVector, TSimd>(heads.Second, column, chunkEnd, logits, scaling, heads.Exponentials, secondHead, secondSums);
        }

        ExplainRow<TVector, TSimd>(x, logits, headScores, sums, viscosity, weights, entropies, logitsReady: true);

        // E_pi[w] = A / S; S >= 1, since the largest logit's term is exp(0).
        for (int k = 0; k < d; k++)
        {
            heads.FirstOutput[k] = T.CreateTruncating(TSimd.SumAcross(TSimd.Load(firstSums + (k * lanes))) / firstHead.Total);
            heads.SecondOutput[k] = T.CreateTruncating(TSimd.SumAcross(TSimd.Load(secondSums + (k * lanes))) / secondHead.Total);
        }
    }

    // A head's online state: its largest logit so far and S, the sum of exp((z_j - maximum) / eps) so far.
    private readonly record struct OnlineHead(T Maximum, double Total);

    // One chunk's part of a head's online sums (see ExplainRowWithExpectations): columns [column, chunkEnd) of which the head's
    // own take part; the exponentials of the slabs it touches, 0 outside the head, go through SlabSums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private OnlineHead Accumulate<TVector, TSimd>(int head, int column, int chunkEnd, T* logits, T scaling, T* exponentials, OnlineHead state, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int blockWidth = BlockVectors * lanes;
        int start = Math.Max(head * Pieces, column);
        int end = Math.Min((head + 1) * Pieces, chunkEnd);
        if (start >= end)
        {
            return state;
        }

        // The head's largest logit in the chunk: whole vectors inside [start, end), the edges one by one.
        T chunkMaximum = T.NegativeInfinity;
        int inner = Math.Min(end, (start + lanes - 1) / lanes * lanes);
        int innerEnd = Math.Max(inner, end / lanes * lanes);
        for (int j = start; j < inner; j++)
        {
            chunkMaximum = T.Max(chunkMaximum, logits[j]);
        }

        if (innerEnd > inner)
        {
            TVector largest = TSimd.Broadcast(T.NegativeInfinity);
            for (int j = inner; j < innerEnd; j += lanes)
            {
                largest = TSimd.Max(largest, TSimd.Load(logits + j));
            }

            chunkMaximum = T.Max(chunkMaximum, TSimd.MaximumAcross(largest));
        }

        for (int j = innerEnd; j < end; j++)
        {
            chunkMaximum = T.Max(chunkMaximum, logits[j]);
        }

        T maximum = state.Maximum;
        double total = state.Total;
        if (chunkMaximum > maximum)
        {
            if (total > 0)
            {
                // A and S move to the new maximum: times exp((m - m') / eps).
                TVector factor = TSimd.ScaledExponential(TSimd.Broadcast((maximum - chunkMaximum) * scaling));
                for (int k = 0; k < Dimension; k++)
                {
                    TSimd.Store(TSimd.Multiply(TSimd.Load(sums + (k * lanes)), factor), sums + (k * lanes));
                }

                T* lane = stackalloc T[lanes];
                TSimd.Store(factor, lane);
                total *= double.CreateTruncating(lane[0]);
            }

            maximum = chunkMaximum;
        }

        // exp((z - m) / eps) over the slabs the head touches, then 0 on the lanes of other heads.
        int slabLow = start / blockWidth * blockWidth;
        int slabHigh = Math.Min(Columns, (end + blockWidth - 1) / blockWidth * blockWidth);
        TVector shift = TSimd.Broadcast(maximum);
        TVector scale = TSimd.Broadcast(scaling);
        TVector sum = TSimd.Broadcast(T.Zero);
        for (int c = slabLow; c < slabHigh; c += lanes)
        {
            TSimd.Store(TSimd.ScaledExponential(TSimd.Multiply(TSimd.Subtract(TSimd.Load(logits + c), shift), scale)), exponentials + c);
        }

        for (int c = slabLow; c < start; c++)
        {
            exponentials[c] = T.Zero;
        }

        for (int c = end; c < slabHigh; c++)
        {
            exponentials[c] = T.Zero;
        }

        for (int c = slabLow; c < slabHigh; c += lanes)
        {
            sum = TSimd.Add(sum, TSimd.Load(exponentials + c));
        }

        // Whole slabs eight features at a time, their sums in registers across the chunk's slabs; a narrower last slab
        // of the panel on its own.
        int wholeHigh = slabHigh - ((slabHigh - slabLow) % blockWidth);
        if (wholeHigh > slabLow)
        {
            for (int k = 0; k < Dimension; k += 8)
            {
                switch (Math.Min(8, Dimension - k))
                {
                    case 1:
                        ChunkSums<TVector, TSimd, BlockOfOne>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 2:
                        ChunkSums<TVector, TSimd, BlockOfTwo>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 3:
                        ChunkSums<TVector, TSimd, BlockOfThree>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 4:
                        ChunkSums<TVector, TSimd, BlockOfFour>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 5:
                        ChunkSums<TVector, TSimd, BlockOfFive>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 6:
                        ChunkSums<TVector, TSimd, BlockOfSix>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    case 7:
                        ChunkSums<TVector, TSimd, BlockOfSeven>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                    default:
                        ChunkSums<TVector, TSimd, BlockOfEight>(k, slabLow, wholeHigh, exponentials, sums);
                        break;
                }
            }
        }

        if (wholeHigh < slabHigh)
        {
            int width = slabHigh - wholeHigh;
            T* slab = panel + ((long)wholeHigh * Dimension);
            switch (width / lanes)
            {
                case 1:
                    SlabSums<TVector, TSimd, BlockOfOne>(slab, width, exponentials + wholeHigh, sums);
                    break;
                default:
                    SlabSums<TVector, TSimd, BlockOfTwo>(slab, width, exponentials + wholeHigh, sums);
                    break;
            }
        }

        return new OnlineHead(maximum, total + TSimd.SumAcross(sum));
    }

    // sums_k += sum_v e_v w_kv for TFeatures features from k on, over the whole slabs [slabLow, slabHigh): the features'
    // sums stay in registers from the first slab to the last. Unused features are compile-time constants, so the JIT
    // drops their code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkSums<TVector, TSimd, TFeatures>(int k, int slabLow, int slabHigh, T* exponentials, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TFeatures : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        int blockWidth = BlockVectors * lanes;
        T* s = sums + (k * lanes);
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector a0 = TSimd.Load(s);
        TVector a1 = TFeatures.Count > 1 ? TSimd.Load(s + lanes) : zero;
        TVector a2 = TFeatures.Count > 2 ? TSimd.Load(s + (2 * lanes)) : zero;
        TVector a3 = TFeatures.Count > 3 ? TSimd.Load(s + (3 * lanes)) : zero;
        TVector a4 = TFeatures.Count > 4 ? TSimd.Load(s + (4 * lanes)) : zero;
        TVector a5 = TFeatures.Count > 5 ? TSimd.Load(s + (5 * lanes)) : zero;
        TVector a6 = TFeatures.Count > 6 ? TSimd.Load(s + (6 * lanes)) : zero;
        TVector a7 = TFeatures.Count > 7 ? TSimd.Load(s + (7 * lanes)) : zero;
        for (int slabStart = slabLow; slabStart < slabHigh; slabStart += blockWidth)
        {
            T* e = exponentials + slabStart;
            TVector p0 = TSimd.Load(e);
            TVector p1 = TSimd.Load(e + lanes);
            TVector p2 = TSimd.Load(e + (2 * lanes));
            T* w = panel + ((long)slabStart * Dimension) + ((long)k * blockWidth);
            a0 = Slab<TVector, TSimd>(w, p0, p1, p2, a0);
            a1 = TFeatures.Count > 1 ? Slab<TVector, TSimd>(w + blockWidth, p0, p1, p2, a1) : a1;
            a2 = TFeatures.Count > 2 ? Slab<TVector, TSimd>(w + (2 * blockWidth), p0, p1, p2, a2) : a2;
            a3 = TFeatures.Count > 3 ? Slab<TVector, TSimd>(w + (3 * blockWidth), p0, p1, p2, a3) : a3;
            a4 = TFeatures.Count > 4 ? Slab<TVector, TSimd>(w + (4 * blockWidth), p0, p1, p2, a4) : a4;
            a5 = TFeatures.Count > 5 ? Slab<TVector, TSimd>(w + (5 * blockWidth), p0, p1, p2, a5) : a5;
            a6 = TFeatures.Count > 6 ? Slab<TVector, TSimd>(w + (6 * blockWidth), p0, p1, p2, a6) : a6;
            a7 = TFeatures.Count > 7 ? Slab<TVector, TSimd>(w + (7 * blockWidth), p0, p1, p2, a7) : a7;
        }

        TSimd.Store(a0, s);
        if (TFeatures.Count > 1)
        {
            TSimd.Store(a1, s + lanes);
        }

        if (TFeatures.Count > 2)
        {
            TSimd.Store(a2, s + (2 * lanes));
        }

        if (TFeatures.Count > 3)
        {
            TSimd.Store(a3, s + (3 * lanes));
        }

        if (TFeatures.Count > 4)
        {
            TSimd.Store(a4, s + (4 * lanes));
        }

        if (TFeatures.Count > 5)
        {
            TSimd.Store(a5, s + (5 * lanes));
        }

        if (TFeatures.Count > 6)
        {
            TSimd.Store(a6, s + (6 * lanes));
        }

        if (TFeatures.Count > 7)
        {
            TSimd.Store(a7, s + (7 * lanes));
        }
    }

    // sum + p0 w_0 + p1 w_1 + p2 w_2 over one feature's row of a whole slab.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Slab<TVector, TSimd>(T* w, TVector p0, TVector p1, TVector p2, TVector sum)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        sum = TSimd.MultiplyAdd(TSimd.Load(w), p0, sum);
        sum = TSimd.MultiplyAdd(TSimd.Load(w + TSimd.Count), p1, sum);
        return TSimd.MultiplyAdd(TSimd.Load(w + (2 * TSimd.Count)), p2, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PanelExpectation<TVector, TSimd>(int head, T* pi, T* output, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int blockWidth = BlockVectors * lanes;
        int d = Dimension;
        int start = head * Pieces;
        int end = start + Pieces;
        TVector zero = TSimd.Broadcast(T.Zero);
        for (int k = 0; k < d; k++)
        {
            TSimd.Store(zero, sums + (k * lanes));
        }

        // A slab the head shares with its neighbour takes the head's lanes only.
        T* shared = stackalloc T[blockWidth];
        for (int slabStart = start / blockWidth * blockWidth; slabStart < end; slabStart += blockWidth)
        {
            int width = Math.Min(blockWidth, Columns - slabStart);
            T* slabPi;
            if (slabStart >= start && slabStart + width <= end)
            {
                slabPi = pi + (slabStart - start);
            }
            else
            {
                for (int c = 0; c < width; c++)
                {
                    int piece = slabStart + c;
                    shared[c] = piece >= start && piece < end ? pi[piece - start] : T.Zero;
                }

                slabPi = shared;
            }

            T* slab = panel + ((long)slabStart * d);
            switch (width / lanes)
            {
                case 1:
                    SlabSums<TVector, TSimd, BlockOfOne>(slab, width, slabPi, sums);
                    break;
                case 2:
                    SlabSums<TVector, TSimd, BlockOfTwo>(slab, width, slabPi, sums);
                    break;
                default:
                    SlabSums<TVector, TSimd, BlockOfThree>(slab, width, slabPi, sums);
                    break;
            }
        }

        for (int k = 0; k < d; k++)
        {
            output[k] = T.CreateTruncating(TSimd.SumAcross(TSimd.Load(sums + (k * lanes))));
        }
    }

    // sums_k += sum_v pi_v w_kv over the slab's TColumns vectors of pieces, for every feature k (the slab is d rows of
    // its width, k-major). The features are independent chains, so the multiply-adds of one do not wait on another's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SlabSums<TVector, TSimd, TColumns>(T* slab, int width, T* slabPi, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector p0 = TSimd.Load(slabPi);
        TVector p1 = TColumns.Count > 1 ? TSimd.Load(slabPi + lanes) : zero;
        TVector p2 = TColumns.Count > 2 ? TSimd.Load(slabPi + (2 * lanes)) : zero;
        for (int k = 0; k < Dimension; k++)
        {
            T* w = slab + ((long)k * width);
            T* sum = sums + (k * lanes);
            TVector s = TSimd.MultiplyAdd(TSimd.Load(w), p0, TSimd.Load(sum));
            s = TColumns.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(w + lanes), p1, s) : s;
            s = TColumns.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(w + (2 * lanes)), p2, s) : s;
            TSimd.Store(s, sum);
        }
    }
}
