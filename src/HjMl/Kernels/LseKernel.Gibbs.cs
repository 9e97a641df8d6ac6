using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// The register-blocked logits of a block of rows, and one head's Gibbs weights per row: what a residual Gibbs flow's
// float32 Euler step reads (THEORY.md sections 8 and 9).
internal sealed unsafe partial class LseKernel<T>
{
    /// <summary>
    /// The length of a logit buffer for <paramref name="rows"/> rows of <see cref="BatchLogits(ReadOnlySpan{T}, int, Span{T})"/>: rows of
    /// <see cref="Columns"/> and one vector of slack for whole-vector tail loads.
    /// </summary>
    public int BatchLogitsLength(int rows) => (rows * Columns) + Lanes;

    /// <summary>
    /// z = W x + b for <paramref name="rows"/> rows of <paramref name="inputs"/> (d each, back to back) into
    /// <paramref name="logits"/> (rows of <see cref="Columns"/>, at least <see cref="BatchLogitsLength"/> long): the
    /// kernel's register-blocked product, which sums every logit in one order (b, then k = 1..d), so a row's logits are
    /// the same bits alone and in any block. On the calling thread; allocates nothing.
    /// </summary>
    public void BatchLogits(ReadOnlySpan<T> inputs, int rows, Span<T> logits)
    {
        if (inputs.Length < rows * Dimension || logits.Length < BatchLogitsLength(rows))
        {
            throw new ArgumentException($"BatchLogits needs {rows * Dimension} inputs and {BatchLogitsLength(rows)} logits; it has {inputs.Length} and {logits.Length}.", nameof(logits));
        }

        fixed (T* x = inputs)
        fixed (T* z = logits)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512 when rows == 1:
                    RowLogits<Vector512<T>, Simd512<T>>(x, z);
                    break;
                case VectorWidth.Bits512:
                    Logits<Vector512<T>, Simd512<T>>(x, rows, z);
                    break;
                case VectorWidth.Bits256 when rows == 1:
                    RowLogits<Vector256<T>, Simd256<T>>(x, z);
                    break;
                case VectorWidth.Bits256:
                    Logits<Vector256<T>, Simd256<T>>(x, rows, z);
                    break;
                default:
                    Logits<Vector128<T>, Simd128<T>>(x, rows, z);
                    break;
            }
        }
    }

    /// <summary>
    /// Whether the logits of <paramref name="rows"/> rows of <see cref="BatchLogits(ReadOnlySpan{T}, int, Span{T})"/> are all
    /// finite: one pass of x * 0 sums (NaN if any x is NaN or infinite), compiled optimised on first call, as the product is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool AllFinite(ReadOnlySpan<T> logits, int rows)
    {
        int count = rows * Columns;
        if (logits.Length < count)
        {
            throw new ArgumentException($"AllFinite reads {count} logits; it has {logits.Length}.", nameof(logits));
        }

        fixed (T* z = logits)
        {
            return VectorWidth switch
            {
                VectorWidth.Bits512 => AllFinite<Vector512<T>, Simd512<T>>(z, count),
                VectorWidth.Bits256 => AllFinite<Vector256<T>, Simd256<T>>(z, count),
                _ => AllFinite<Vector128<T>, Simd128<T>>(z, count),
            };
        }
    }

    /// <summary>
    /// <see cref="BatchLogits(ReadOnlySpan{T}, int, Span{T})"/> of raw rows, each standardised on the way as
    /// (x - mean) * inverse scale (the operations, in float, of TensorPrimitives.Subtract then Multiply, so the same bits)
    /// into <paramref name="standardised"/> (rows of d) block by block while the product reads them, instead of in a pass
    /// of its own. Every row goes through the blocked product, also one alone, which sums in the same order as the
    /// one-row product. On the calling thread; allocates nothing.
    /// </summary>
    public void BatchLogits(ReadOnlySpan<T> raw, ReadOnlySpan<T> means, ReadOnlySpan<T> inverseScales, int rows, Span<T> standardised, Span<T> logits)
    {
        int length = rows * Dimension;
        if (raw.Length < length || standardised.Length < length || means.Length < Dimension || inverseScales.Length < Dimension || logits.Length < BatchLogitsLength(rows))
        {
            throw new ArgumentException($"BatchLogits needs {length} raw and standardised values, {Dimension} means and scales and {BatchLogitsLength(rows)} logits; it has {raw.Length}, {standardised.Length}, {means.Length}, {inverseScales.Length} and {logits.Length}.", nameof(logits));
        }

        fixed (T* source = raw)
        fixed (T* mean = means)
        fixed (T* scale = inverseScales)
        fixed (T* x = standardised)
        fixed (T* z = logits)
        {
            var standardisation = new Standardisation(source, mean, scale, Dimension);
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    Logits<Vector512<T>, Simd512<T>>(x, rows, z, standardisation);
                    break;
                case VectorWidth.Bits256:
                    Logits<Vector256<T>, Simd256<T>>(x, rows, z, standardisation);
                    break;
                default:
                    Logits<Vector128<T>, Simd128<T>>(x, rows, z, standardisation);
                    break;
            }
        }
    }

    /// <summary>
    /// The Gibbs weights pi_j = exp((z_j - m) / eps) / S, m the maximum, of each of <paramref name="rows"/> rows, with the
    /// scoring kernel's exponentials and its sum S (the operations of ExplainRow): row r's <paramref name="count"/> logits from
    /// <paramref name="logits"/> + r <paramref name="logitStride"/> (read in whole vectors), its weights to
    /// <paramref name="weights"/> + r <paramref name="weightStride"/> (written in whole vectors: <paramref name="count"/>
    /// rounded up to <see cref="Lanes"/>, zero past <paramref name="count"/>). The same operations row by row, so the same
    /// bits as one row at a time. At an eps so small that 1 / eps overflows, the weights share equally among the tied
    /// maxima. Allocates nothing.
    /// </summary>
    public void GibbsWeightsOfRows(T* logits, int logitStride, int rows, int count, double viscosity, T* weights, int weightStride)
    {
        for (int row = 0; row < rows; row++)
        {
            T* z = logits + ((long)row * logitStride);
            T* pi = weights + ((long)row * weightStride);
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    GibbsWeightsOfRow<Vector512<T>, Simd512<T>>(z, count, viscosity, pi);
                    break;
                case VectorWidth.Bits256:
                    GibbsWeightsOfRow<Vector256<T>, Simd256<T>>(z, count, viscosity, pi);
                    break;
                default:
                    GibbsWeightsOfRow<Vector128<T>, Simd128<T>>(z, count, viscosity, pi);
                    break;
            }
        }
    }

    /// <summary>
    /// Every head's f_k = m_k + eps log sum_j exp((z_kj - m_k) / eps) of each of <paramref name="rows"/> rows whose
    /// <paramref name="heads"/> heads of <paramref name="pieces"/> logits lie back to back, with the scoring kernel's
    /// operations (ScoreRows: the maximum and the shifted exponentials' sum in T, the logarithm and f in double): row r's
    /// heads from <paramref name="logits"/> + r <paramref name="logitStride"/> (read in whole vectors: one vector of slack
    /// after the last row), its K scores to
    /// <paramref name="headScores"/> + r K. Every maximum and sum first, then the logarithms of all rows vectorised at
    /// once; each value is the same function of its row wherever the row sits, so the same bits as one row at a time.
    /// <paramref name="sums"/> is scratch of at least <paramref name="rows"/> K. Allocates nothing.
    /// </summary>
    public void HeadScoresOfRows(T* logits, int logitStride, int rows, int heads, int pieces, double viscosity, double* headScores, double* sums)
    {
        // A head in the narrowest vector that holds it: a wider one only adds empty lanes to every reduction.
        VectorWidth width = pieces <= Vector128<T>.Count ? VectorWidth.Bits128 : pieces <= Vector256<T>.Count && VectorWidth == VectorWidth.Bits512 ? VectorWidth.Bits256 : VectorWidth;
        switch (width)
        {
            case VectorWidth.Bits512:
                HeadScoresOfRows<Vector512<T>, Simd512<T>>(logits, logitStride, rows, heads, pieces, viscosity, headScores, sums);
                break;
            case VectorWidth.Bits256:
                HeadScoresOfRows<Vector256<T>, Simd256<T>>(logits, logitStride, rows, heads, pieces, viscosity, headScores, sums);
                break;
            default:
                HeadScoresOfRows<Vector128<T>, Simd128<T>>(logits, logitStride, rows, heads, pieces, viscosity, headScores, sums);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GibbsWeightsOfRow<TVector, TSimd>(T* z, int count, double viscosity, T* pi)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        T maximum = Maximum<TVector, TSimd>(z, count);
        if (!(viscosity > 0 && T.IsFinite(scaling)))
        {
            _ = TiedWeights(z, count, maximum, pi);

            // The rest of the last vector too, as the smooth path writes it: the next products read whole vectors.
            for (int j = count; j % TSimd.Count != 0; j++)
            {
                pi[j] = T.Zero;
            }

            return;
        }

        double sum = StoredExponentialSum<TVector, TSimd>(z, count, maximum, scaling, pi);

        // pi_j = e_j (1 / S): one division per row, within an ulp of dividing each weight.
        TVector scale = TSimd.Broadcast(T.CreateTruncating(1 / sum));
        for (int j = 0; j < count; j += TSimd.Count)
        {
            TSimd.Store(TSimd.Multiply(TSimd.Load(pi + j), scale), pi + j);
        }
    }

    // count is a whole number of vectors (rows of Columns).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AllFinite<TVector, TSimd>(T* z, int count)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector sum = zero;
        for (int j = 0; j < count; j += TSimd.Count)
        {
            sum = TSimd.MultiplyAdd(TSimd.Load(z + j), zero, sum);
        }

        return T.IsFinite(T.CreateTruncating(TSimd.SumAcross(sum)));
    }

    // ShiftedExponentialSum's S (the same operations in the same order, so the same bits) that also stores each
    // e_j = exp((z_j - m) scale) to destination in whole vectors, 0 past count: ShiftedExponentials without the
    // entropy's weighted sum, which the flow's weights do not read.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double StoredExponentialSum<TVector, TSimd>(T* z, int count, T maximum, T scaling, T* destination)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector shift = TSimd.Broadcast(maximum);
        TVector scale = TSimd.Broadcast(scaling);
        TVector sum = TSimd.Broadcast(T.Zero);
        int j = 0;
        for (; j <= count - TSimd.Count; j += TSimd.Count)
        {
            TVector exponential = TSimd.ScaledExponential(TSimd.Multiply(TSimd.Subtract(TSimd.Load(z + j), shift), scale));
            sum = TSimd.Add(sum, exponential);
            TSimd.Store(exponential, destination + j);
        }

        if (j < count)
        {
            TVector tail = TSimd.FirstLanes(TSimd.Load(z + j), count - j, T.NegativeInfinity);
            TVector exponential = TSimd.ScaledExponential(TSimd.Multiply(TSimd.Subtract(tail, shift), scale));
            sum = TSimd.Add(sum, exponential);
            TSimd.Store(exponential, destination + j);
        }

        return TSimd.SumAcross(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void HeadScoresOfRows<TVector, TSimd>(T* logits, int logitStride, int rows, int heads, int pieces, double viscosity, double* headScores, double* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        bool smooth = viscosity > 0 && T.IsFinite(scaling);
        for (int row = 0; row < rows; row++)
        {
            T* rowLogits = logits + ((long)row * logitStride);
            for (int head = 0; head < heads; head++)
            {
                T* z = rowLogits + (head * pieces);
                T maximum = Maximum<TVector, TSimd>(z, pieces);
                int index = (row * heads) + head;
                headScores[index] = double.CreateTruncating(maximum);
                sums[index] = smooth ? ShiftedExponentialSum<TVector, TSimd>(z, pieces, maximum, scaling) : 1.0;
            }
        }

        if (smooth)
        {
            AddScaledLogarithms(headScores, sums, rows * heads, viscosity);
        }
    }

    // One row's logits two column blocks at a time: one row has only a block's three accumulator chains, each a
    // multiply-add's latency apart, so a pair of blocks keeps six in flight. Each logit is summed in Block's order
    // (b, then k = 1..d), so the same bits as in any block of rows.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RowLogits<TVector, TSimd>(T* x, T* logits)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int blockWidth = BlockVectors * TSimd.Count;
        int column = 0;
        int block = 0;
        for (; Columns - column > blockWidth; column += 2 * blockWidth, block += 2)
        {
            T* slab = panel + (block * Dimension * blockWidth);
            switch ((Columns - column - blockWidth) / TSimd.Count)
            {
                case 1:
                    Pair<TVector, TSimd, BlockOfOne>(x, Dimension, slab, biases + column, logits + column);
                    break;
                case 2:
                    Pair<TVector, TSimd, BlockOfTwo>(x, Dimension, slab, biases + column, logits + column);
                    break;
                default:
                    Pair<TVector, TSimd, BlockOfThree>(x, Dimension, slab, biases + column, logits + column);
                    break;
            }
        }

        if (column < Columns)
        {
            T* slab = panel + (block * Dimension * blockWidth);
            switch ((Columns - column) / TSimd.Count)
            {
                case 1:
                    Rows<TVector, TSimd, BlockOfOne>(x, 1, slab, biases + column, logits + column, default);
                    break;
                case 2:
                    Rows<TVector, TSimd, BlockOfTwo>(x, 1, slab, biases + column, logits + column, default);
                    break;
                default:
                    Rows<TVector, TSimd, BlockOfThree>(x, 1, slab, biases + column, logits + column, default);
                    break;
            }
        }
    }

    // A full block of three vectors and the next block of TSecond vectors, for one row: z = b + sum_k x_k w_k.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pair<TVector, TSimd, TSecond>(T* x, int d, T* slab, T* blockBiases, T* z)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TSecond : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        int firstWidth = BlockVectors * lanes;
        int secondWidth = TSecond.Count * lanes;
        T* second = slab + (d * firstWidth);
        TVector a0 = TSimd.Load(blockBiases);
        TVector a1 = TSimd.Load(blockBiases + lanes);
        TVector a2 = TSimd.Load(blockBiases + (2 * lanes));
        TVector b0 = TSimd.Load(blockBiases + firstWidth);
        TVector b1 = TSecond.Count > 1 ? TSimd.Load(blockBiases + firstWidth + lanes) : default;
        TVector b2 = TSecond.Count > 2 ? TSimd.Load(blockBiases + firstWidth + (2 * lanes)) : default;
        for (int k = 0; k < d; k++, slab += firstWidth, second += secondWidth)
        {
            TVector input = TSimd.Broadcast(x[k]);
            a0 = TSimd.MultiplyAdd(TSimd.Load(slab), input, a0);
            a1 = TSimd.MultiplyAdd(TSimd.Load(slab + lanes), input, a1);
            a2 = TSimd.MultiplyAdd(TSimd.Load(slab + (2 * lanes)), input, a2);
            b0 = TSimd.MultiplyAdd(TSimd.Load(second), input, b0);
            b1 = TSecond.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(second + lanes), input, b1) : b1;
            b2 = TSecond.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(second + (2 * lanes)), input, b2) : b2;
        }

        TSimd.Store(a0, z);
        TSimd.Store(a1, z + lanes);
        TSimd.Store(a2, z + (2 * lanes));
        Store<TVector, TSimd, TSecond>(z + firstWidth, b0, b1, b2);
    }
}
