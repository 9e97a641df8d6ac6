using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HjMl.Numerics;

namespace HjMl.Layers;

/// <summary>
/// E_pi[w] = sum_j pi_j w_j for one head (THEORY.md section 3: the gradient of f, and the feature part of the
/// decomposition of section 4), register-blocked: the weights are copied once into rows padded to whole vectors, and
/// each block of up to eight output vectors (four below AVX-512) accumulates two pieces per step in two independent
/// chains, so that the accumulation is bound by the multiply-add throughput rather than by its latency. An explanation needs this product
/// for one or two heads per row; on heads of 30 to 64 features a library call per piece cost more than its arithmetic.
/// </summary>
internal sealed unsafe class ExpectationKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] storage;
    private readonly T* rows;

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
        storage = LseKernel<T>.AlignedArray(count * Stride, out rows);
        for (int row = 0; row < count; row++)
        {
            weights.Slice(row * inputDimension, inputDimension).CopyTo(new Span<T>(rows + ((long)row * Stride), inputDimension));
        }
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>N per head.</summary>
    public int Pieces { get; }

    /// <summary>d rounded up to whole vectors: a destination this long is written with whole vectors only.</summary>
    public int Stride { get; }

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
    /// E_pi[w] of head <paramref name="reference"/> into <paramref name="expected"/> (at least <see cref="Stride"/> long),
    /// and for every head k the squared distance ||E_pi_ref[w] - E_pi_k[w]||^2 into <paramref name="squaredDistances"/>
    /// (0 for the reference head): the squared gradient norm of each margin f_ref - f_k (THEORY.md section 5). <paramref name="weights"/>
    /// holds every head's N Gibbs weights, head-major; <paramref name="work"/> is one more row of <see cref="Stride"/>.
    /// One call for all heads, so that a certificate over K classes pays one call, not K.
    /// </summary>
    public void SquaredDistances(int reference, ReadOnlySpan<T> weights, Span<T> expected, Span<T> work, Span<T> squaredDistances)
    {
        Debug.Assert(expected.Length >= Stride && work.Length >= Stride, "Rows hold whole vectors.");
        int heads = weights.Length / Pieces;
        fixed (T* pi = weights)
        fixed (T* own = expected)
        fixed (T* other = work)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    Expectation<Vector512<T>, Simd512<T>>(rows + ((long)reference * Pieces * Stride), pi + (reference * Pieces), own);
                    break;
                case VectorWidth.Bits256:
                    Expectation<Vector256<T>, Simd256<T>>(rows + ((long)reference * Pieces * Stride), pi + (reference * Pieces), own);
                    break;
                default:
                    Expectation<Vector128<T>, Simd128<T>>(rows + ((long)reference * Pieces * Stride), pi + (reference * Pieces), own);
                    break;
            }

            for (int head = 0; head < heads; head++)
            {
                if (head == reference)
                {
                    squaredDistances[head] = T.Zero;
                    continue;
                }

                T* headRows = rows + ((long)head * Pieces * Stride);
                squaredDistances[head] = VectorWidth switch
                {
                    VectorWidth.Bits512 => SquaredDistance<Vector512<T>, Simd512<T>>(headRows, pi + (head * Pieces), own, other),
                    VectorWidth.Bits256 => SquaredDistance<Vector256<T>, Simd256<T>>(headRows, pi + (head * Pieces), own, other),
                    _ => SquaredDistance<Vector128<T>, Simd128<T>>(headRows, pi + (head * Pieces), own, other),
                };
            }
        }
    }

    // ||own - E_pi[w]||^2 for one head, E_pi[w] going through the work row; the padding of both rows is zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T SquaredDistance<TVector, TSimd>(T* headRows, T* pi, T* own, T* work)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        Expectation<TVector, TSimd>(headRows, pi, work);

        // Two chains, so that the sum waits on half as many multiply-adds in a row.
        TVector even = TSimd.Broadcast(T.Zero);
        TVector odd = even;
        int lanes = TSimd.Count;
        int k = 0;
        for (; k <= Stride - (2 * lanes); k += 2 * lanes)
        {
            TVector first = TSimd.Subtract(TSimd.Load(own + k), TSimd.Load(work + k));
            TVector second = TSimd.Subtract(TSimd.Load(own + k + lanes), TSimd.Load(work + k + lanes));
            even = TSimd.MultiplyAdd(first, first, even);
            odd = TSimd.MultiplyAdd(second, second, odd);
        }

        if (k < Stride)
        {
            TVector last = TSimd.Subtract(TSimd.Load(own + k), TSimd.Load(work + k));
            even = TSimd.MultiplyAdd(last, last, even);
        }

        return T.CreateTruncating(TSimd.SumAcross(TSimd.Add(even, odd)));
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
