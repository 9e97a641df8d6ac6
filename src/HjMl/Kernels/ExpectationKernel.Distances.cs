using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HjMl.LinearAlgebra;

namespace HjMl.Kernels;

// The margins' squared gradient norms ||E_pi_ref[w] - E_pi_k[w]||^2 (THEORY.md section 5), for certificates.
internal sealed unsafe partial class ExpectationKernel<T>
{
    /// <summary>
    /// For every head k, the squared distance ||E_pi_ref[w] - E_pi_k[w]||^2 into <paramref name="squaredDistances"/>
    /// (0 for the reference head): the squared gradient norm of each margin f_ref - f_k (THEORY.md section 5).
    /// <paramref name="weights"/> holds every head's N Gibbs weights, head-major. One call for all heads, so that a
    /// certificate over K classes pays one call, not K. Where 2N &lt; d the distances come from the Gram matrix of the
    /// weights (see <see cref="GramDistances"/>), else from the expectations themselves. Allocates nothing once warm.
    /// </summary>
    public void SquaredDistances(int reference, ReadOnlySpan<T> weights, Span<T> squaredDistances)
    {
        int heads = weights.Length / Pieces;
        if (GramServes(heads))
        {
            // Weights so large that their Gram entries overflow give inf - inf; the expectations themselves do not.
            GramDistances(reference, weights, squaredDistances);
            bool finite = true;
            for (int head = 0; head < heads; head++)
            {
                finite &= !T.IsNaN(squaredDistances[head]);
            }

            if (finite)
            {
                return;
            }
        }

        Span<T> rowsBuffer = AlignedBuffer<T>.Rent(ref workRows, 2 * Stride);
        fixed (T* pi = weights)
        fixed (T* own = rowsBuffer)
        {
            T* other = own + Stride;
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

            // Two heads at a time: their accumulations are independent chains, which keep the multiply-adds busy where
            // one head's few pieces would leave them waiting on each other.
            squaredDistances[reference] = T.Zero;
            int pending = -1;
            for (int head = 0; head < heads; head++)
            {
                if (head == reference)
                {
                    continue;
                }

                if (pending < 0)
                {
                    pending = head;
                    continue;
                }

                T* firstRows = rows + ((long)pending * Pieces * Stride);
                T* secondRows = rows + ((long)head * Pieces * Stride);
                (T first, T second) = VectorWidth switch
                {
                    VectorWidth.Bits512 => SquaredDistances<Vector512<T>, Simd512<T>>(firstRows, pi + (pending * Pieces), secondRows, pi + (head * Pieces), own),
                    VectorWidth.Bits256 => SquaredDistances<Vector256<T>, Simd256<T>>(firstRows, pi + (pending * Pieces), secondRows, pi + (head * Pieces), own),
                    _ => SquaredDistances<Vector128<T>, Simd128<T>>(firstRows, pi + (pending * Pieces), secondRows, pi + (head * Pieces), own),
                };
                squaredDistances[pending] = first;
                squaredDistances[head] = second;
                pending = -1;
            }

            if (pending >= 0)
            {
                T* headRows = rows + ((long)pending * Pieces * Stride);
                squaredDistances[pending] = VectorWidth switch
                {
                    VectorWidth.Bits512 => SquaredDistance<Vector512<T>, Simd512<T>>(headRows, pi + (pending * Pieces), own, other),
                    VectorWidth.Bits256 => SquaredDistance<Vector256<T>, Simd256<T>>(headRows, pi + (pending * Pieces), own, other),
                    _ => SquaredDistance<Vector128<T>, Simd128<T>>(headRows, pi + (pending * Pieces), own, other),
                };
            }
        }
    }

    /// <summary>Whether <see cref="SquaredDistances"/> takes the Gram form for <paramref name="heads"/> heads (2N &lt; d, and few pieces in all).</summary>
    public bool GramServes(int heads) => 2 * Pieces < Dimension && heads * Pieces <= GramLimit;

    /// <summary>
    /// The squared distances of <see cref="SquaredDistances"/> from the Gram matrix G = W W^T of all K N weights
    /// [derived from THEORY.md section 5]: with u = G_{., ref} pi_ref (so u_i = w_i . E_ref),
    /// ||E_ref - E_k||^2 = pi_ref . u_ref - 2 pi_k . u_k + pi_k^T G_kk pi_k, which costs N (K N + K N) multiply-adds instead
    /// of the expectations' K N d. Rounding in those sums can cost up to about (2N + d) u (M_ref + M_k)^2, with M the largest
    /// weight norm of a head and u the unit roundoff; that much is added, so each norm is an upper bound (the
    /// certificate stays sound) within about 1e-7 (M_ref + M_k) of the exact one.
    /// </summary>
    private void GramDistances(int reference, ReadOnlySpan<T> weights, Span<T> squaredDistances)
    {
        GramForm gram = Gram;
        int heads = weights.Length / Pieces;
        int pieces = Pieces;
        Span<T> buffer = AlignedBuffer<T>.Rent(ref workRows, gram.Cross.Stride + (heads * gram.Self.Stride));
        Span<T> cross = buffer[..gram.Cross.Stride];
        Span<T> self = buffer[gram.Cross.Stride..];
        gram.Cross.Expectation(reference, weights.Slice(reference * pieces, pieces), cross);
        gram.Self.EveryExpectation(weights, self);
        T squaredOwn = T.Zero;
        for (int j = 0; j < pieces; j++)
        {
            squaredOwn += weights[(reference * pieces) + j] * cross[(reference * pieces) + j];
        }

        T roundoff = T.CreateTruncating(((2 * pieces) + Dimension) * (typeof(T) == typeof(float) ? 6e-8 : 1.2e-16));
        fixed (T* pi = weights)
        fixed (T* selfProducts = self)
        fixed (T* crossProducts = cross)
        fixed (T* distances = squaredDistances)
        {
            // pi_k . (G_kk pi_k) - 2 pi_k . u_k = sum_j pi_kj ((G_kk pi_k)_j - 2 u_kj) for every head, over whole vectors.
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    GramTerms<Vector512<T>, Simd512<T>>(pi, selfProducts, gram.Self.Stride, crossProducts, heads, distances);
                    break;
                case VectorWidth.Bits256:
                    GramTerms<Vector256<T>, Simd256<T>>(pi, selfProducts, gram.Self.Stride, crossProducts, heads, distances);
                    break;
                default:
                    GramTerms<Vector128<T>, Simd128<T>>(pi, selfProducts, gram.Self.Stride, crossProducts, heads, distances);
                    break;
            }
        }

        for (int head = 0; head < heads; head++)
        {
            if (head == reference)
            {
                squaredDistances[head] = T.Zero;
                continue;
            }

            T bound = gram.LargestNorms[reference] + gram.LargestNorms[head];
            squaredDistances[head] = T.Max(squaredOwn + squaredDistances[head], T.Zero) + (roundoff * bound * bound);
        }
    }

    // terms_k = sum_j pi_kj (self_kj - 2 cross_kj), heads' self rows selfStride apart: whole vectors, then the pieces
    // past the last whole vector one by one (the weights span may end with the last head).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GramTerms<TVector, TSimd>(T* pi, T* self, int selfStride, T* cross, int heads, T* terms)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int pieces = Pieces;
        int whole = pieces - (pieces % TSimd.Count);
        T two = T.CreateTruncating(2);
        TVector twos = TSimd.Broadcast(two);
        for (int head = 0; head < heads; head++)
        {
            T* weights = pi + (head * pieces);
            T* selfRow = self + (head * selfStride);
            T* crossRow = cross + (head * pieces);
            TVector sum = TSimd.Broadcast(T.Zero);
            for (int j = 0; j < whole; j += TSimd.Count)
            {
                TVector difference = TSimd.Subtract(TSimd.Load(selfRow + j), TSimd.Multiply(twos, TSimd.Load(crossRow + j)));
                sum = TSimd.Add(sum, TSimd.Multiply(TSimd.Load(weights + j), difference));
            }

            T total = T.CreateTruncating(TSimd.SumAcross(sum));
            for (int j = whole; j < pieces; j++)
            {
                total += weights[j] * (selfRow[j] - (two * crossRow[j]));
            }

            terms[head] = total;
        }
    }

    /// <summary>
    /// E_pi[w] of every head, head k into <paramref name="destination"/> from k <see cref="Stride"/> on (at least
    /// K <see cref="Stride"/> long); <paramref name="weights"/> holds every head's N Gibbs weights, head-major.
    /// </summary>
    public void EveryExpectation(ReadOnlySpan<T> weights, Span<T> destination)
    {
        int heads = weights.Length / Pieces;
        Debug.Assert(destination.Length >= heads * Stride, "Rows hold whole vectors.");
        fixed (T* pi = weights)
        fixed (T* output = destination)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    EveryExpectation<Vector512<T>, Simd512<T>>(pi, heads, output);
                    break;
                case VectorWidth.Bits256:
                    EveryExpectation<Vector256<T>, Simd256<T>>(pi, heads, output);
                    break;
                default:
                    EveryExpectation<Vector128<T>, Simd128<T>>(pi, heads, output);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EveryExpectation<TVector, TSimd>(T* pi, int heads, T* output)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        for (int head = 0; head < heads; head++)
        {
            Expectation<TVector, TSimd>(rows + ((long)head * Pieces * Stride), pi + (head * Pieces), output + ((long)head * Stride));
        }
    }

    private GramForm Gram
    {
        get
        {
            GramForm? built = Volatile.Read(ref gramForm);
            if (built is null)
            {
                built = new GramForm(this);
                built = Interlocked.CompareExchange(ref gramForm, built, null) ?? built;
            }

            return built;
        }
    }

    // G = W W^T over all K N pieces as two expectation kernels: Cross over G's rows (dimension K N), Self over each
    // head's own block G_kk (dimension N); and each head's largest weight norm.
    private sealed class GramForm
    {
        public GramForm(ExpectationKernel<T> owner)
        {
            int all = owner.Count;
            int pieces = owner.Pieces;
            int heads = all / pieces;
            var padded = new ReadOnlySpan<T>(owner.rows, all * owner.Stride);
            var gram = new T[all * all];
            MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, all, all, owner.Stride, T.One, padded, owner.Stride, padded, owner.Stride, T.Zero, gram, all);
            Cross = new ExpectationKernel<T>(gram, all, pieces, owner.VectorWidth);
            var blocks = new T[heads * pieces * pieces];
            LargestNorms = new T[heads];
            for (int head = 0; head < heads; head++)
            {
                for (int j = 0; j < pieces; j++)
                {
                    int piece = (head * pieces) + j;
                    gram.AsSpan((piece * all) + (head * pieces), pieces).CopyTo(blocks.AsSpan(piece * pieces, pieces));
                    LargestNorms[head] = T.Max(LargestNorms[head], T.Sqrt(gram[(piece * all) + piece]));
                }
            }

            Self = new ExpectationKernel<T>(blocks, pieces, pieces, owner.VectorWidth);
        }

        public ExpectationKernel<T> Cross { get; }

        public ExpectationKernel<T> Self { get; }

        public T[] LargestNorms { get; }
    }

    // ||own - E_pi1[w]||^2 and ||own - E_pi2[w]||^2 for two heads, four vectors of features at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (T First, T Second) SquaredDistances<TVector, TSimd>(T* firstRows, T* firstPi, T* secondRows, T* secondPi, T* own)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int vectors = Stride / lanes;
        TVector first = TSimd.Broadcast(T.Zero);
        TVector second = first;
        for (int vector = 0; vector < vectors; vector += 4)
        {
            long offset = vector * lanes;
            switch (Math.Min(4, vectors - vector))
            {
                case 1:
                    PairBlock<TVector, TSimd, BlockOfOne>(firstRows + offset, firstPi, secondRows + offset, secondPi, own + offset, ref first, ref second);
                    break;
                case 2:
                    PairBlock<TVector, TSimd, BlockOfTwo>(firstRows + offset, firstPi, secondRows + offset, secondPi, own + offset, ref first, ref second);
                    break;
                case 3:
                    PairBlock<TVector, TSimd, BlockOfThree>(firstRows + offset, firstPi, secondRows + offset, secondPi, own + offset, ref first, ref second);
                    break;
                default:
                    PairBlock<TVector, TSimd, BlockOfFour>(firstRows + offset, firstPi, secondRows + offset, secondPi, own + offset, ref first, ref second);
                    break;
            }
        }

        return (T.CreateTruncating(TSimd.SumAcross(first)), T.CreateTruncating(TSimd.SumAcross(second)));
    }

    // TColumns vectors of both heads' E_pi[w] (a for the first, b for the second), then their squared distances from own.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PairBlock<TVector, TSimd, TColumns>(T* firstBlock, T* firstPi, T* secondBlock, T* secondPi, T* own, ref TVector first, ref TVector second)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        long stride = Stride;
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        for (int j = 0; j < Pieces; j++)
        {
            T* x = firstBlock + (j * stride);
            T* y = secondBlock + (j * stride);
            TVector p = TSimd.Broadcast(firstPi[j]);
            TVector q = TSimd.Broadcast(secondPi[j]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(x), p, a0);
            b0 = TSimd.MultiplyAdd(TSimd.Load(y), q, b0);
            if (TColumns.Count > 1)
            {
                a1 = TSimd.MultiplyAdd(TSimd.Load(x + lanes), p, a1);
                b1 = TSimd.MultiplyAdd(TSimd.Load(y + lanes), q, b1);
            }

            if (TColumns.Count > 2)
            {
                a2 = TSimd.MultiplyAdd(TSimd.Load(x + (2 * lanes)), p, a2);
                b2 = TSimd.MultiplyAdd(TSimd.Load(y + (2 * lanes)), q, b2);
            }

            if (TColumns.Count > 3)
            {
                a3 = TSimd.MultiplyAdd(TSimd.Load(x + (3 * lanes)), p, a3);
                b3 = TSimd.MultiplyAdd(TSimd.Load(y + (3 * lanes)), q, b3);
            }
        }

        TVector o = TSimd.Load(own);
        TVector u = TSimd.Subtract(o, a0);
        TVector v = TSimd.Subtract(o, b0);
        TVector f = TSimd.Multiply(u, u);
        TVector g = TSimd.Multiply(v, v);
        if (TColumns.Count > 1)
        {
            o = TSimd.Load(own + lanes);
            u = TSimd.Subtract(o, a1);
            v = TSimd.Subtract(o, b1);
            f = TSimd.MultiplyAdd(u, u, f);
            g = TSimd.MultiplyAdd(v, v, g);
        }

        if (TColumns.Count > 2)
        {
            o = TSimd.Load(own + (2 * lanes));
            u = TSimd.Subtract(o, a2);
            v = TSimd.Subtract(o, b2);
            f = TSimd.MultiplyAdd(u, u, f);
            g = TSimd.MultiplyAdd(v, v, g);
        }

        if (TColumns.Count > 3)
        {
            o = TSimd.Load(own + (3 * lanes));
            u = TSimd.Subtract(o, a3);
            v = TSimd.Subtract(o, b3);
            f = TSimd.MultiplyAdd(u, u, f);
            g = TSimd.MultiplyAdd(v, v, g);
        }

        first = TSimd.Add(first, f);
        second = TSimd.Add(second, g);
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

}
