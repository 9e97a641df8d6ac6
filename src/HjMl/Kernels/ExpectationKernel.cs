using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// E_pi[w] = sum_j pi_j w_j for one head (THEORY.md section 3: the gradient of f, and the feature part of the
/// decomposition of section 4), register-blocked: the weights are copied once into rows padded to whole vectors, and
/// each block of up to eight output vectors (four below AVX-512) accumulates two pieces per step in two independent
/// chains, so that the accumulation is bound by the multiply-add throughput rather than by its latency. An explanation
/// needs this product for one or two heads per row, a certificate for every head; on heads of a few dozen features a
/// library call per piece costs more than its arithmetic (docs/performance/kernels.md). Immutable once built (the Gram
/// form is built once, on first use).
/// </summary>
internal sealed unsafe partial class ExpectationKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Up to this many pieces in all, the Gram matrix (their squares) serves the margins' gradient norms.
    private const int GramLimit = 1024;

    // Pinned (never moved), so the kernel keeps a raw pointer; the array is held only to keep it alive.
    private readonly T[] storage;
    private readonly T* rows;
    private GramForm? gramForm;

    // The calling thread's work rows for SquaredDistances (see AlignedBuffer.Rent).
    [ThreadStatic]
    private static T[]? workRows;

    /// <summary>Copies <paramref name="weights"/> (K N rows of d, head-major) into rows of <see cref="Stride"/>, zero-padded.</summary>
    public ExpectationKernel(ReadOnlySpan<T> weights, int inputDimension, int pieces, VectorWidth vectorWidth)
    {
        Dimension = inputDimension;
        Pieces = pieces;
        VectorWidth = vectorWidth;
        int lanes = vectorWidth switch
        {
            VectorWidth.Bits512 => Vector512<T>.Count,
            VectorWidth.Bits256 => Vector256<T>.Count,
            _ => Vector128<T>.Count,
        };
        Stride = (inputDimension + lanes - 1) / lanes * lanes;
        int count = weights.Length / inputDimension;
        Count = count;
        storage = AlignedBuffer<T>.Allocate(count * Stride, out rows);
        for (int row = 0; row < count; row++)
        {
            weights.Slice(row * inputDimension, inputDimension).CopyTo(new Span<T>(rows + ((long)row * Stride), inputDimension));
        }
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>K N, the rows held.</summary>
    public int Count { get; }

    /// <summary>N per head.</summary>
    public int Pieces { get; }

    /// <summary>d rounded up to whole vectors: a destination this long is written with whole vectors only.</summary>
    public int Stride { get; }

    /// <summary>
    /// d rounded up to whole cache lines: a destination this long has room for <see cref="Stride"/> at every vector
    /// width, so a caller can size it before the kernel exists.
    /// </summary>
    public static int PaddedLength(int dimension) => AlignedBuffer<T>.WholeLines(dimension);

    /// <summary>The vector width the kernel runs on.</summary>
    public VectorWidth VectorWidth { get; }

    /// <summary>
    /// Writes E_pi[w] of head <paramref name="head"/> to the first d entries of <paramref name="destination"/>, which must
    /// be at least <see cref="Stride"/> long (whole vectors are written; the padding receives zeros).
    /// <paramref name="weights"/> holds the head's N Gibbs weights. Allocates nothing.
    /// </summary>
    public void Expectation(int head, ReadOnlySpan<T> weights, Span<T> destination)
    {
        Debug.Assert(destination.Length >= Stride, "The destination holds whole vectors.");
        Debug.Assert(weights.Length >= Pieces, "One weight per piece.");
        fixed (T* pi = weights)
        fixed (T* output = destination)
        {
            T* headRows = rows + ((long)head * Pieces * Stride);
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    Expectation<Vector512<T>, Simd512<T>>(headRows, pi, output);
                    break;
                case VectorWidth.Bits256:
                    Expectation<Vector256<T>, Simd256<T>>(headRows, pi, output);
                    break;
                default:
                    Expectation<Vector128<T>, Simd128<T>>(headRows, pi, output);
                    break;
            }
        }
    }

    /// <summary>
    /// E_pi[w] of two heads (an explanation's predicted class and its rival, or a margin's two heads) into the first d
    /// entries of their destinations, each at least <see cref="Stride"/> long; the same values, bit for bit, as two calls
    /// of <see cref="Expectation"/>. Why one pass: a head of a few dozen pieces gives each of its accumulators a chain of
    /// multiply-adds that waits on itself; two heads side by side keep twice as many in flight (on AVX-512's 32
    /// registers; narrower vectors take the heads one after the other). Allocates nothing.
    /// </summary>
    public void Expectations(int first, ReadOnlySpan<T> firstWeights, Span<T> firstDestination, int second, ReadOnlySpan<T> secondWeights, Span<T> secondDestination)
    {
        if (VectorWidth != VectorWidth.Bits512)
        {
            Expectation(first, firstWeights, firstDestination);
            Expectation(second, secondWeights, secondDestination);
            return;
        }

        Debug.Assert(firstDestination.Length >= Stride && secondDestination.Length >= Stride, "The destinations hold whole vectors.");
        Debug.Assert(firstWeights.Length >= Pieces && secondWeights.Length >= Pieces, "One weight per piece.");
        fixed (T* firstPi = firstWeights)
        fixed (T* secondPi = secondWeights)
        fixed (T* firstOutput = firstDestination)
        fixed (T* secondOutput = secondDestination)
        {
            T* firstRows = rows + ((long)first * Pieces * Stride);
            T* secondRows = rows + ((long)second * Pieces * Stride);
            int lanes = Vector512<T>.Count;
            int vectors = Stride / lanes;
            for (int vector = 0; vector < vectors; vector += 4)
            {
                long offset = vector * lanes;
                switch (Math.Min(4, vectors - vector))
                {
                    case 1:
                        TwoHeadBlock<Vector512<T>, Simd512<T>, BlockOfOne>(firstRows + offset, firstPi, firstOutput + offset, secondRows + offset, secondPi, secondOutput + offset);
                        break;
                    case 2:
                        TwoHeadBlock<Vector512<T>, Simd512<T>, BlockOfTwo>(firstRows + offset, firstPi, firstOutput + offset, secondRows + offset, secondPi, secondOutput + offset);
                        break;
                    case 3:
                        TwoHeadBlock<Vector512<T>, Simd512<T>, BlockOfThree>(firstRows + offset, firstPi, firstOutput + offset, secondRows + offset, secondPi, secondOutput + offset);
                        break;
                    default:
                        TwoHeadBlock<Vector512<T>, Simd512<T>, BlockOfFour>(firstRows + offset, firstPi, firstOutput + offset, secondRows + offset, secondPi, secondOutput + offset);
                        break;
                }
            }
        }
    }

    // Up to four output vectors of two heads: per head Block's two chains (even pieces into a, odd into c, a trailing
    // piece into a, then a + c), so each head's values are Block's to the bit; 16 accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TwoHeadBlock<TVector, TSimd, TColumns>(T* firstBlock, T* firstPi, T* firstDestination, T* secondBlock, T* secondPi, T* secondDestination)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        long stride = Stride;
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero, c2 = zero, c3 = zero;
        TVector e0 = zero, e1 = zero, e2 = zero, e3 = zero, g0 = zero, g1 = zero, g2 = zero, g3 = zero;
        int j = 0;
        for (; j <= Pieces - 2; j += 2)
        {
            T* even = firstBlock + (j * stride);
            T* odd = even + stride;
            T* otherEven = secondBlock + (j * stride);
            T* otherOdd = otherEven + stride;
            TVector p = TSimd.Broadcast(firstPi[j]);
            TVector q = TSimd.Broadcast(firstPi[j + 1]);
            TVector r = TSimd.Broadcast(secondPi[j]);
            TVector t = TSimd.Broadcast(secondPi[j + 1]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(even), p, a0);
            c0 = TSimd.MultiplyAdd(TSimd.Load(odd), q, c0);
            e0 = TSimd.MultiplyAdd(TSimd.Load(otherEven), r, e0);
            g0 = TSimd.MultiplyAdd(TSimd.Load(otherOdd), t, g0);
            if (TColumns.Count > 1)
            {
                a1 = TSimd.MultiplyAdd(TSimd.Load(even + lanes), p, a1);
                c1 = TSimd.MultiplyAdd(TSimd.Load(odd + lanes), q, c1);
                e1 = TSimd.MultiplyAdd(TSimd.Load(otherEven + lanes), r, e1);
                g1 = TSimd.MultiplyAdd(TSimd.Load(otherOdd + lanes), t, g1);
            }

            if (TColumns.Count > 2)
            {
                a2 = TSimd.MultiplyAdd(TSimd.Load(even + (2 * lanes)), p, a2);
                c2 = TSimd.MultiplyAdd(TSimd.Load(odd + (2 * lanes)), q, c2);
                e2 = TSimd.MultiplyAdd(TSimd.Load(otherEven + (2 * lanes)), r, e2);
                g2 = TSimd.MultiplyAdd(TSimd.Load(otherOdd + (2 * lanes)), t, g2);
            }

            if (TColumns.Count > 3)
            {
                a3 = TSimd.MultiplyAdd(TSimd.Load(even + (3 * lanes)), p, a3);
                c3 = TSimd.MultiplyAdd(TSimd.Load(odd + (3 * lanes)), q, c3);
                e3 = TSimd.MultiplyAdd(TSimd.Load(otherEven + (3 * lanes)), r, e3);
                g3 = TSimd.MultiplyAdd(TSimd.Load(otherOdd + (3 * lanes)), t, g3);
            }
        }

        if (j < Pieces)
        {
            T* last = firstBlock + (j * stride);
            T* otherLast = secondBlock + (j * stride);
            TVector p = TSimd.Broadcast(firstPi[j]);
            TVector r = TSimd.Broadcast(secondPi[j]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(last), p, a0);
            e0 = TSimd.MultiplyAdd(TSimd.Load(otherLast), r, e0);
            a1 = TColumns.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(last + lanes), p, a1) : a1;
            e1 = TColumns.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(otherLast + lanes), r, e1) : e1;
            a2 = TColumns.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(last + (2 * lanes)), p, a2) : a2;
            e2 = TColumns.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(otherLast + (2 * lanes)), r, e2) : e2;
            a3 = TColumns.Count > 3 ? TSimd.MultiplyAdd(TSimd.Load(last + (3 * lanes)), p, a3) : a3;
            e3 = TColumns.Count > 3 ? TSimd.MultiplyAdd(TSimd.Load(otherLast + (3 * lanes)), r, e3) : e3;
        }

        TSimd.Store(TSimd.Add(a0, c0), firstDestination);
        TSimd.Store(TSimd.Add(e0, g0), secondDestination);
        if (TColumns.Count > 1)
        {
            TSimd.Store(TSimd.Add(a1, c1), firstDestination + lanes);
            TSimd.Store(TSimd.Add(e1, g1), secondDestination + lanes);
        }

        if (TColumns.Count > 2)
        {
            TSimd.Store(TSimd.Add(a2, c2), firstDestination + (2 * lanes));
            TSimd.Store(TSimd.Add(e2, g2), secondDestination + (2 * lanes));
        }

        if (TColumns.Count > 3)
        {
            TSimd.Store(TSimd.Add(a3, c3), firstDestination + (3 * lanes));
            TSimd.Store(TSimd.Add(e3, g3), secondDestination + (3 * lanes));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Expectation<TVector, TSimd>(T* headRows, T* pi, T* output)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        // 2 chains x 8 vectors = 16 accumulators fit AVX-512's 32 registers; narrower vectors may have only 16.
        int blockVectors = TSimd.BlockRows == 8 ? 8 : 4;
        int lanes = TSimd.Count;
        int vectors = Stride / lanes;
        for (int vector = 0; vector < vectors; vector += blockVectors)
        {
            T* block = headRows + (vector * lanes);
            T* destination = output + (vector * lanes);
            switch (Math.Min(blockVectors, vectors - vector))
            {
                case 1:
                    Block<TVector, TSimd, BlockOfOne>(block, pi, destination);
                    break;
                case 2:
                    Block<TVector, TSimd, BlockOfTwo>(block, pi, destination);
                    break;
                case 3:
                    Block<TVector, TSimd, BlockOfThree>(block, pi, destination);
                    break;
                case 4:
                    Block<TVector, TSimd, BlockOfFour>(block, pi, destination);
                    break;
                case 5:
                    Block<TVector, TSimd, BlockOfFive>(block, pi, destination);
                    break;
                case 6:
                    Block<TVector, TSimd, BlockOfSix>(block, pi, destination);
                    break;
                case 7:
                    Block<TVector, TSimd, BlockOfSeven>(block, pi, destination);
                    break;
                default:
                    Block<TVector, TSimd, BlockOfEight>(block, pi, destination);
                    break;
            }
        }
    }

    // TColumns vectors of E_pi[w]: even pieces accumulate into a0..a7, odd ones into c0..c7, added at the end (always in
    // this order, so a row's expectation depends on nothing but its weights). Unused vectors are compile-time
    // constants, so the JIT drops their code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block<TVector, TSimd, TColumns>(T* block, T* pi, T* destination)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        long stride = Stride;
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
        TVector c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, c6 = zero, c7 = zero;
        int j = 0;
        for (; j <= Pieces - 2; j += 2)
        {
            T* even = block + (j * stride);
            T* odd = even + stride;
            TVector p = TSimd.Broadcast(pi[j]);
            TVector q = TSimd.Broadcast(pi[j + 1]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(even), p, a0);
            c0 = TSimd.MultiplyAdd(TSimd.Load(odd), q, c0);
            if (TColumns.Count > 1)
            {
                a1 = TSimd.MultiplyAdd(TSimd.Load(even + lanes), p, a1);
                c1 = TSimd.MultiplyAdd(TSimd.Load(odd + lanes), q, c1);
            }

            if (TColumns.Count > 2)
            {
                a2 = TSimd.MultiplyAdd(TSimd.Load(even + (2 * lanes)), p, a2);
                c2 = TSimd.MultiplyAdd(TSimd.Load(odd + (2 * lanes)), q, c2);
            }

            if (TColumns.Count > 3)
            {
                a3 = TSimd.MultiplyAdd(TSimd.Load(even + (3 * lanes)), p, a3);
                c3 = TSimd.MultiplyAdd(TSimd.Load(odd + (3 * lanes)), q, c3);
            }

            if (TColumns.Count > 4)
            {
                a4 = TSimd.MultiplyAdd(TSimd.Load(even + (4 * lanes)), p, a4);
                c4 = TSimd.MultiplyAdd(TSimd.Load(odd + (4 * lanes)), q, c4);
            }

            if (TColumns.Count > 5)
            {
                a5 = TSimd.MultiplyAdd(TSimd.Load(even + (5 * lanes)), p, a5);
                c5 = TSimd.MultiplyAdd(TSimd.Load(odd + (5 * lanes)), q, c5);
            }

            if (TColumns.Count > 6)
            {
                a6 = TSimd.MultiplyAdd(TSimd.Load(even + (6 * lanes)), p, a6);
                c6 = TSimd.MultiplyAdd(TSimd.Load(odd + (6 * lanes)), q, c6);
            }

            if (TColumns.Count > 7)
            {
                a7 = TSimd.MultiplyAdd(TSimd.Load(even + (7 * lanes)), p, a7);
                c7 = TSimd.MultiplyAdd(TSimd.Load(odd + (7 * lanes)), q, c7);
            }
        }

        if (j < Pieces)
        {
            T* last = block + (j * stride);
            TVector p = TSimd.Broadcast(pi[j]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(last), p, a0);
            a1 = TColumns.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(last + lanes), p, a1) : a1;
            a2 = TColumns.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(last + (2 * lanes)), p, a2) : a2;
            a3 = TColumns.Count > 3 ? TSimd.MultiplyAdd(TSimd.Load(last + (3 * lanes)), p, a3) : a3;
            a4 = TColumns.Count > 4 ? TSimd.MultiplyAdd(TSimd.Load(last + (4 * lanes)), p, a4) : a4;
            a5 = TColumns.Count > 5 ? TSimd.MultiplyAdd(TSimd.Load(last + (5 * lanes)), p, a5) : a5;
            a6 = TColumns.Count > 6 ? TSimd.MultiplyAdd(TSimd.Load(last + (6 * lanes)), p, a6) : a6;
            a7 = TColumns.Count > 7 ? TSimd.MultiplyAdd(TSimd.Load(last + (7 * lanes)), p, a7) : a7;
        }

        TSimd.Store(TSimd.Add(a0, c0), destination);
        if (TColumns.Count > 1)
        {
            TSimd.Store(TSimd.Add(a1, c1), destination + lanes);
        }

        if (TColumns.Count > 2)
        {
            TSimd.Store(TSimd.Add(a2, c2), destination + (2 * lanes));
        }

        if (TColumns.Count > 3)
        {
            TSimd.Store(TSimd.Add(a3, c3), destination + (3 * lanes));
        }

        if (TColumns.Count > 4)
        {
            TSimd.Store(TSimd.Add(a4, c4), destination + (4 * lanes));
        }

        if (TColumns.Count > 5)
        {
            TSimd.Store(TSimd.Add(a5, c5), destination + (5 * lanes));
        }

        if (TColumns.Count > 6)
        {
            TSimd.Store(TSimd.Add(a6, c6), destination + (6 * lanes));
        }

        if (TColumns.Count > 7)
        {
            TSimd.Store(TSimd.Add(a7, c7), destination + (7 * lanes));
        }
    }
}
