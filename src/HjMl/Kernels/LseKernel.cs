using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HjMl.Numerics;

namespace HjMl.Kernels;

/// <summary>The hardware vector width a <see cref="LseKernel{T}"/> runs on.</summary>
internal enum VectorWidth
{
    /// <summary>128-bit vectors (SSE, NEON, or software).</summary>
    Bits128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Bits256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Bits512,
}

/// <summary>
/// How batch scoring turns a row's head scores f_k into its outputs: all K head scores, or the single value
/// <c>Offset + Scale * (f_0 - f_1)</c> (the binary margin, or a regression's read-out), formed in double.
/// </summary>
internal readonly record struct Readout(bool Margin, double Offset, double Scale)
{
    /// <summary>Every head score.</summary>
    public static Readout Heads => default;

    /// <summary>Offset + Scale * (f_0 - f_1).</summary>
    public static Readout MarginOf(double offset, double scale) => new(true, offset, scale);

    /// <summary>Outputs per row.</summary>
    public int OutputsPerRow(int heads) => Margin ? 1 : heads;

    /// <summary>Writes the outputs of rows whose K head scores are back to back in <paramref name="headScores"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write<TOut>(ReadOnlySpan<double> headScores, int heads, Span<TOut> outputs)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        if (!Margin)
        {
            for (int index = 0; index < headScores.Length; index++)
            {
                outputs[index] = TOut.CreateTruncating(headScores[index]);
            }

            return;
        }

        int rows = headScores.Length / heads;
        for (int row = 0; row < rows; row++)
        {
            outputs[row] = TOut.CreateTruncating(Offset + (Scale * (headScores[row * heads] - headScores[(row * heads) + 1])));
        }
    }
}

/// <summary>
/// Fused log-sum-exp scoring (THEORY.md section 1). For a chunk of rows, every logit z_kj = w_kj . x + b_kj comes from
/// a register-blocked vector kernel whose accumulators start at the biases; then each head's max-shifted
/// f_k = m + eps log sum_j exp((z_kj - m) / eps) takes two passes over the chunk's logits while they are in cache (8 rows
/// in L1, or a tile in L2 when the weights are large): one for the maximum m, one that shifts, scales, exponentiates and
/// sums. The batch x pieces matrix never exists, tiles of rows run in parallel (<see cref="TileScheduler"/>), and nothing
/// is allocated once warm (the calling thread uses per-thread buffers, the workers buffers sized before they start).
/// </summary>
/// <remarks>
/// <para>
/// The weights are packed once into column blocks of three vectors, each block's d x 3V slab contiguous, so that the
/// kernel streams them in order; each register block is 8 rows (4 below 512-bit vectors) by 3 vectors of pieces.
/// Every logit is accumulated in the same order, b then w_1 x_1, w_2 x_2, ..., whichever block shape computes it,
/// so a row scores bit-identically alone and inside any batch.
/// </para>
/// <para>
/// The kernels are compiled fully optimised on first call (no tiering), so the first batch already runs at speed.
/// </para>
/// <para>
/// Precision: logits and exponentials in <typeparamref name="T"/>; each head's m + eps log S, the sum S across lanes,
/// and the read-out (margin, label scale) in double. The float exponential is <see cref="VectorExponential"/>
/// (within 2 ulp); double uses the runtime's vectorised exp.
/// </para>
/// </remarks>
internal sealed unsafe class LseKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Vectors of pieces per register block: 8 rows x 3 vectors = 24 accumulators, leaving 8 of AVX-512's 32 registers
    // for the 3 weight vectors and a broadcast input.
    private const int BlockVectors = 3;

    // A tile's inputs and logits together take about this much, so that they stay in a 1 MiB L2 with the weight block.
    private const int TileBytes = 384 * 1024;

    private const int CacheLine = 64;

    // Weights up to this size are swept per chunk of 8 rows (they stay in L2); larger ones per tile.
    private const int SmallWeightBytes = 256 * 1024;

    // The most negative finite T: an exponent below it is -infinity.
    private static readonly T LowestFinite = -T.CreateSaturating(double.MaxValue);

    private static readonly ParallelOptions Parallelism = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    // Pinned (never moved), so the kernel keeps raw pointers; the arrays are held only to keep them alive.
    private readonly T[] panelStorage;
    private readonly T[] biasStorage;
    private readonly T* panel;
    private readonly T* biases;

    /// <summary>Packs <paramref name="weights"/> (K N rows of d, head-major) and <paramref name="biases"/> (K N).</summary>
    public LseKernel(ReadOnlySpan<T> weights, ReadOnlySpan<T> biases, int inputDimension, int heads, VectorWidth vectorWidth)
    {
        Dimension = inputDimension;
        Heads = heads;
        Pieces = biases.Length / heads;
        LargestEntropy = Math.Log(Pieces);
        VectorWidth = vectorWidth;
        Lanes = vectorWidth switch
        {
            VectorWidth.Bits512 => Vector512<T>.Count,
            VectorWidth.Bits256 => Vector256<T>.Count,
            _ => Vector128<T>.Count,
        };
        int all = biases.Length;
        Columns = (all + Lanes - 1) / Lanes * Lanes;
        TileRows = Math.Clamp(TileBytes / ((Dimension + Columns) * sizeof(T)) / 8 * 8, 8, 512);
        ChunkRows = (long)Dimension * Columns * sizeof(T) <= SmallWeightBytes ? 8 : TileRows;

        panelStorage = AlignedArray(Dimension * Columns, out panel);
        biasStorage = AlignedArray(Columns, out this.biases);
        int blockWidth = BlockVectors * Lanes;
        for (int column = 0, block = 0; column < Columns; column += blockWidth, block++)
        {
            int width = Math.Min(blockWidth, Columns - column);
            T* slab = panel + (block * Dimension * blockWidth);
            for (int k = 0; k < Dimension; k++)
            {
                for (int c = 0; c < width; c++)
                {
                    int piece = column + c;
                    slab[(k * width) + c] = piece < all ? weights[(piece * Dimension) + k] : T.Zero;
                }
            }
        }

        for (int piece = 0; piece < Columns; piece++)
        {
            this.biases[piece] = piece < all ? biases[piece] : T.Zero;
        }
    }

    /// <summary>The widest vectors this machine accelerates.</summary>
    public static VectorWidth PreferredWidth =>
        Vector512.IsHardwareAccelerated ? VectorWidth.Bits512 : Vector256.IsHardwareAccelerated ? VectorWidth.Bits256 : VectorWidth.Bits128;

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>K.</summary>
    public int Heads { get; }

    /// <summary>N per head.</summary>
    public int Pieces { get; }

    // log N, the largest entropy of a head's Gibbs weights (ExplainRow clamps to it).
    private double LargestEntropy { get; }

    /// <summary>The vector width the kernel runs on.</summary>
    public VectorWidth VectorWidth { get; }

    /// <summary>Lanes per vector.</summary>
    public int Lanes { get; }

    /// <summary>K N rounded up to whole vectors: the row stride of a logit buffer.</summary>
    public int Columns { get; }

    /// <summary>Rows per tile (a multiple of 8).</summary>
    public int TileRows { get; }

    /// <summary>Rows whose logits are computed before their log-sum-exps: 8, or a whole tile when the weights are large.</summary>
    public int ChunkRows { get; }

    /// <summary>Scores one row: every head's f_k into <paramref name="headScores"/> (length K). Allocates nothing.</summary>
    public void EvaluateRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity) => EvaluateRow(input, headScores, viscosity, default);

    /// <summary>
    /// Scores one row like <see cref="EvaluateRow(ReadOnlySpan{T}, Span{double}, double)"/> and, when
    /// <paramref name="logitsOut"/> is not empty, copies its K N logits z_kj there (head-major), the ones the scores came from.
    /// </summary>
    public void EvaluateRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity, Span<T> logitsOut)
    {
        Span<T> logits = ScratchBuffer<T>.First(Columns + Lanes);
        Span<double> sums = ScratchBuffer<double>.Sums(Heads);
        fixed (T* x = input)
        fixed (T* z = logits)
        fixed (double* scores = headScores)
        fixed (double* s = sums)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    ScoreRows<Vector512<T>, Simd512<T>>(x, 1, z, scores, s, viscosity);
                    break;
                case VectorWidth.Bits256:
                    ScoreRows<Vector256<T>, Simd256<T>>(x, 1, z, scores, s, viscosity);
                    break;
                default:
                    ScoreRows<Vector128<T>, Simd128<T>>(x, 1, z, scores, s, viscosity);
                    break;
            }
        }

        // The scoring passes only read the logits, so they are still there.
        if (!logitsOut.IsEmpty)
        {
            logits[..(Heads * Pieces)].CopyTo(logitsOut);
        }
    }

    /// <summary>
    /// Scores one row exactly as <see cref="EvaluateRow(ReadOnlySpan{T}, Span{double}, double)"/> does (the same head scores,
    /// bit for bit) and keeps what an explanation reads from the same exponentials: every head's Gibbs weights
    /// pi_kj = exp((z_kj - m_k) / eps) / S_k (THEORY.md section 3) into <paramref name="weights"/> (head-major, at least
    /// K N + <see cref="Lanes"/> long: whole vectors are written past a head's end) and every head's attribution entropy
    /// H_k = log S_k - sum_j pi_kj (z_kj - m_k) / eps (section 4, the same sum as -sum pi log pi, without a logarithm per
    /// piece) into <paramref name="entropies"/>. At eps = 0, or an eps so small that 1 / eps overflows, the weights share
    /// equally among the tied maxima and H = log(ties). Allocates nothing.
    /// </summary>
    public void ExplainRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity, Span<T> weights, Span<double> entropies)
    {
        Span<T> logits = ScratchBuffer<T>.First(Columns + Lanes);
        Span<double> sums = ScratchBuffer<double>.Sums(Heads);
        fixed (T* x = input)
        fixed (T* z = logits)
        fixed (double* scores = headScores)
        fixed (double* s = sums)
        fixed (T* pi = weights)
        fixed (double* entropy = entropies)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    ExplainRow<Vector512<T>, Simd512<T>>(x, z, scores, s, viscosity, pi, entropy);
                    break;
                case VectorWidth.Bits256:
                    ExplainRow<Vector256<T>, Simd256<T>>(x, z, scores, s, viscosity, pi, entropy);
                    break;
                default:
                    ExplainRow<Vector128<T>, Simd128<T>>(x, z, scores, s, viscosity, pi, entropy);
                    break;
            }
        }
    }

    /// <summary>
    /// Scores the rows of <paramref name="inputs"/> (d values each) into <paramref name="outputs"/> as
    /// <paramref name="readout"/> says, standardising each row first when <paramref name="means"/> is not empty: as
    /// (x - mean) / scale in double, and as (x - mean) * scale in float, where <paramref name="scales"/> then holds the
    /// reciprocals of the scales. Tiles run in parallel. Returns -1, or the first row that holds a NaN or
    /// infinite value; outputs are then unspecified.
    /// </summary>
    public int EvaluateBatch<TOut>(ReadOnlySpan<T> inputs, Span<TOut> outputs, double viscosity, Readout readout, ReadOnlySpan<T> means = default, ReadOnlySpan<T> scales = default)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        int rows = inputs.Length / Dimension;
        if (rows == 0)
        {
            return -1;
        }

        int tiles = (rows + TileRows - 1) / TileRows;
        fixed (T* input = inputs)
        fixed (TOut* output = outputs)
        fixed (T* mean = means)
        fixed (T* scale = scales)
        {
            if (tiles > 1)
            {
                return BatchJob<TOut>.Run(this, input, rows, tiles, output, viscosity, readout, mean, scale);
            }

            // One tile runs on the caller's thread, in its per-thread buffers.
            Span<T> logits = ScratchBuffer<T>.TileLogits(LogitBufferLength(rows));
            Span<double> headScores = ScratchBuffer<double>.TileScores(2 * rows * Heads);
            Span<T> standardised = means.IsEmpty ? default : ScratchBuffer<T>.TileInputs(rows * Dimension);
            return ScoreTile(input, 0, rows, output, viscosity, readout, mean, scale, logits, headScores, standardised);
        }
    }

    /// <summary>
    /// Only the logits z = W x + b of every row, tile by tile in parallel like <see cref="EvaluateBatch"/>, into per-thread
    /// buffers that are then dropped: the kernel's matrix-product half alone, which the benchmarks' roofline measures
    /// as one of the machine's sgemm implementations.
    /// </summary>
    internal void LogitsOnly(ReadOnlySpan<T> inputs)
    {
        int rows = inputs.Length / Dimension;
        int tiles = (rows + TileRows - 1) / TileRows;
        fixed (T* input = inputs)
        {
            nint address = (nint)input;
            Parallel.For(0, tiles, Parallelism, tile =>
            {
                int first = tile * TileRows;
                int count = Math.Min(TileRows, rows - first);
                Span<T> logits = ScratchBuffer<T>.TileLogits((count * Columns) + Lanes);
                fixed (T* z = logits)
                {
                    T* x = (T*)address + ((long)first * Dimension);
                    switch (VectorWidth)
                    {
                        case VectorWidth.Bits512:
                            Logits<Vector512<T>, Simd512<T>>(x, count, z);
                            break;
                        case VectorWidth.Bits256:
                            Logits<Vector256<T>, Simd256<T>>(x, count, z);
                            break;
                        default:
                            Logits<Vector128<T>, Simd128<T>>(x, count, z);
                            break;
                    }
                }
            });
        }
    }

    // A zeroed array on the pinned heap and a pointer into it aligned to a cache line, so no vector load splits a line.
    internal static T[] AlignedArray(int length, out T* aligned)
    {
        int padding = CacheLine / sizeof(T);
        T[] storage = GC.AllocateArray<T>(length + padding, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref storage[0]);
        aligned = (T*)((address + CacheLine - 1) & ~(nint)(CacheLine - 1));
        return storage;
    }

    // The logits of a chunk of rows, and one vector of slack for the tail loads of the last row.
    private int LogitBufferLength(int rows) => (Math.Min(rows, ChunkRows) * Columns) + Lanes;

    // One tile: standardise, score, check and read out rows [first, first + count) with the buffers given (at least
    // LogitBufferLength(count) logits, 2 count K head scores, count d standardised inputs when there are means).
    // Returns -1 or the first invalid row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ScoreTile<TOut>(T* inputs, int first, int count, TOut* outputs, double viscosity, Readout readout, T* means, T* scales, Span<T> logits, Span<double> headScores, Span<T> standardised)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        int d = Dimension;
        T* rows = inputs + ((long)first * d);
        fixed (T* z = logits)
        fixed (double* scores = headScores)
        fixed (T* transformed = standardised)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    ScoreTile<Vector512<T>, Simd512<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
                case VectorWidth.Bits256:
                    ScoreTile<Vector256<T>, Simd256<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
                default:
                    ScoreTile<Vector128<T>, Simd128<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
            }

            // A NaN or infinite input makes every logit of its row NaN or infinite (NaN * w and inf * 0 are NaN), so
            // each head's maximum is non-finite whichever lane the processor's max keeps, and so is its score: the
            // tile's scores reveal a bad input without a pass over the inputs; only then are the rows looked at. A score
            // can also overflow from huge finite inputs, which is the score's true float value and is left as it is.
            var tileScores = new ReadOnlySpan<double>(scores, count * Heads);
            if (!double.IsFinite(TensorPrimitives.Sum(tileScores) * 0))
            {
                int invalid = FirstInvalidRow(rows, tileScores, count);
                if (invalid >= 0)
                {
                    return first + invalid;
                }
            }

            int outputsPerRow = readout.OutputsPerRow(Heads);
            readout.Write(tileScores, Heads, new Span<TOut>(outputs + ((long)first * outputsPerRow), count * outputsPerRow));
        }

        return -1;
    }

    private int FirstInvalidRow(T* rows, ReadOnlySpan<double> headScores, int count)
    {
        for (int row = 0; row < count; row++)
        {
            if (double.IsFinite(TensorPrimitives.Sum(headScores.Slice(row * Heads, Heads)) * 0))
            {
                continue;
            }

            var values = new ReadOnlySpan<T>(rows + ((long)row * Dimension), Dimension);
            foreach (T value in values)
            {
                if (!T.IsFinite(value))
                {
                    return row;
                }
            }
        }

        return -1;
    }

    // With means, the rows are standardised into the tile buffer as the first column block reaches them, so that reading
    // the raw rows from memory overlaps with the products instead of being a pass of its own.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreTile<TVector, TSimd>(T* rows, int count, T* means, T* scales, T* standardised, T* logits, double* headScores, double* sums, double viscosity)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        Standardisation standardisation = means == null ? default : new Standardisation(rows, means, scales, Dimension);
        ScoreRows<TVector, TSimd>(means == null ? rows : standardised, count, logits, headScores, sums, viscosity, standardisation);
    }

    // z = (x - mean) / scale, the model's standardisation (FeatureScaling.Apply); rows go from the source into the tile
    // buffer the logits read. Double divides, exactly as FeatureScaling.Apply does; float multiplies by reciprocals the
    // caller rounded once (within 1 ulp of dividing; a division per feature cost 6% of float scoring at d = 64). The
    // default value (no source) does nothing.
    private readonly struct Standardisation(T* source, T* means, T* scales, int length)
    {
        // The raw rows, or null when there is nothing to standardise.
        public T* Source => source;

        // The same standardisation for the rows from row `first` on.
        public Standardisation From(int first) => source == null ? default : new(source + ((long)first * length), means, scales, length);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TVector, TSimd>(int first, int count, T* destination, int length)
            where TVector : unmanaged
            where TSimd : struct, ISimd<T, TVector>
        {
            if (source == null)
            {
                return;
            }

            for (int row = first; row < first + count; row++)
            {
                T* x = source + ((long)row * length);
                T* z = destination + ((long)row * length);
                int k = 0;
                for (; k <= length - TSimd.Count; k += TSimd.Count)
                {
                    TVector centred = TSimd.Subtract(TSimd.Load(x + k), TSimd.Load(means + k));
                    TSimd.Store(typeof(T) == typeof(float) ? TSimd.Multiply(centred, TSimd.Load(scales + k)) : TSimd.Divide(centred, TSimd.Load(scales + k)), z + k);
                }

                for (; k < length; k++)
                {
                    z[k] = typeof(T) == typeof(float) ? (x[k] - means[k]) * scales[k] : (x[k] - means[k]) / scales[k];
                }
            }
        }
    }

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

    // ScoreRows for one row, keeping the exponentials as Gibbs weights and the entropy sums (see ExplainRow). Not inlined:
    // inside the explainer's one large method its per-head loops ran with spilled registers (measured: digits explained
    // 3-4% faster, breast_cancer about 2%, as a call of its own).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private void ExplainRow<TVector, TSimd>(T* input, T* logits, double* headScores, double* sums, double viscosity, T* weights, double* entropies)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        bool smooth = viscosity > 0 && T.IsFinite(scaling);
        Logits<TVector, TSimd>(input, 1, logits);
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

    // All K N logits of each row (row stride Columns), column block by column block, so that a block's weights stay in
    // cache while every row of the tile passes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Logits<TVector, TSimd>(T* inputs, int rows, T* logits, Standardisation standardisation = default)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int blockWidth = BlockVectors * TSimd.Count;
        Prefetch((standardisation.Source == null ? inputs : standardisation.Source) + ((long)rows * Dimension), rows * Dimension);
        for (int column = 0, block = 0; column < Columns; column += blockWidth, block++)
        {
            T* slab = panel + (block * Dimension * blockWidth);
            Standardisation first = column == 0 ? standardisation : default;
            switch ((Columns - column) / TSimd.Count)
            {
                case 1:
                    Rows<TVector, TSimd, BlockOfOne>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
                case 2:
                    Rows<TVector, TSimd, BlockOfTwo>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
                default:
                    Rows<TVector, TSimd, BlockOfThree>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
            }
        }
    }

    // Asks for the next rows' inputs (up to 4 KiB) while this chunk computes: measured, reading the raw rows otherwise
    // stalled on memory for about a tenth of float scoring at d = 64, the hardware prefetcher not running far enough
    // ahead of a stream read a few kilobytes at a time. A prefetch past the end of the inputs is harmless.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(T* next, int length)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        byte* start = (byte*)next;
        long bytes = Math.Min((long)length * sizeof(T), 4096);
        for (long offset = 0; offset < bytes; offset += CacheLine)
        {
            Sse.Prefetch0(start + offset);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows<TVector, TSimd, TColumns>(T* inputs, int rows, T* slab, T* blockBiases, T* logits, Standardisation standardisation)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int d = Dimension;
        int row = 0;
        if (TSimd.BlockRows == 8)
        {
            for (; row <= rows - 8; row += 8)
            {
                standardisation.Apply<TVector, TSimd>(row, 8, inputs, d);
                Block<TVector, TSimd, BlockOfEight, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
            }
        }
        else
        {
            for (; row <= rows - 4; row += 4)
            {
                standardisation.Apply<TVector, TSimd>(row, 4, inputs, d);
                Block<TVector, TSimd, BlockOfFour, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
            }
        }

        for (; row < rows; row++)
        {
            standardisation.Apply<TVector, TSimd>(row, 1, inputs, d);
            Block<TVector, TSimd, BlockOfOne, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
        }
    }

    // The register block: TRows rows x TColumns vectors of logits, z = b + sum_k x_k w_k, one fused multiply-add per
    // row, vector and k. Unused rows and columns are compile-time constants, so the JIT drops their code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TVector, TSimd, TRows, TColumns>(T* x, int d, T* slab, T* blockBiases, T* z, int stride)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TRows : struct, IBlockSize
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        int width = TColumns.Count * lanes;
        TVector b0 = TSimd.Load(blockBiases);
        TVector b1 = TColumns.Count > 1 ? TSimd.Load(blockBiases + lanes) : default;
        TVector b2 = TColumns.Count > 2 ? TSimd.Load(blockBiases + (2 * lanes)) : default;
        TVector a00 = b0, a01 = b1, a02 = b2, a10 = b0, a11 = b1, a12 = b2, a20 = b0, a21 = b1, a22 = b2, a30 = b0, a31 = b1, a32 = b2;
        TVector a40 = b0, a41 = b1, a42 = b2, a50 = b0, a51 = b1, a52 = b2, a60 = b0, a61 = b1, a62 = b2, a70 = b0, a71 = b1, a72 = b2;
        T* x0 = x;
        T* x1 = x + d;
        T* x2 = x + (2 * d);
        T* x3 = x + (3 * d);
        T* x4 = x + (4 * d);
        T* x5 = x + (5 * d);
        T* x6 = x + (6 * d);
        T* x7 = x + (7 * d);
        for (int k = 0; k < d; k++, slab += width)
        {
            TVector w0 = TSimd.Load(slab);
            TVector w1 = TColumns.Count > 1 ? TSimd.Load(slab + lanes) : default;
            TVector w2 = TColumns.Count > 2 ? TSimd.Load(slab + (2 * lanes)) : default;
            TVector input = TSimd.Broadcast(x0[k]);
            a00 = TSimd.MultiplyAdd(w0, input, a00);
            if (TColumns.Count > 1)
            {
                a01 = TSimd.MultiplyAdd(w1, input, a01);
            }

            if (TColumns.Count > 2)
            {
                a02 = TSimd.MultiplyAdd(w2, input, a02);
            }

            if (TRows.Count > 1)
            {
                input = TSimd.Broadcast(x1[k]);
                a10 = TSimd.MultiplyAdd(w0, input, a10);
                a11 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a11) : a11;
                a12 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a12) : a12;
                input = TSimd.Broadcast(x2[k]);
                a20 = TSimd.MultiplyAdd(w0, input, a20);
                a21 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a21) : a21;
                a22 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a22) : a22;
                input = TSimd.Broadcast(x3[k]);
                a30 = TSimd.MultiplyAdd(w0, input, a30);
                a31 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a31) : a31;
                a32 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a32) : a32;
            }

            if (TRows.Count > 4)
            {
                input = TSimd.Broadcast(x4[k]);
                a40 = TSimd.MultiplyAdd(w0, input, a40);
                a41 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a41) : a41;
                a42 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a42) : a42;
                input = TSimd.Broadcast(x5[k]);
                a50 = TSimd.MultiplyAdd(w0, input, a50);
                a51 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a51) : a51;
                a52 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a52) : a52;
                input = TSimd.Broadcast(x6[k]);
                a60 = TSimd.MultiplyAdd(w0, input, a60);
                a61 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a61) : a61;
                a62 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a62) : a62;
                input = TSimd.Broadcast(x7[k]);
                a70 = TSimd.MultiplyAdd(w0, input, a70);
                a71 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a71) : a71;
                a72 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a72) : a72;
            }
        }

        Store<TVector, TSimd, TColumns>(z, a00, a01, a02);
        if (TRows.Count > 1)
        {
            Store<TVector, TSimd, TColumns>(z + stride, a10, a11, a12);
            Store<TVector, TSimd, TColumns>(z + (2 * stride), a20, a21, a22);
            Store<TVector, TSimd, TColumns>(z + (3 * stride), a30, a31, a32);
        }

        if (TRows.Count > 4)
        {
            Store<TVector, TSimd, TColumns>(z + (4 * stride), a40, a41, a42);
            Store<TVector, TSimd, TColumns>(z + (5 * stride), a50, a51, a52);
            Store<TVector, TSimd, TColumns>(z + (6 * stride), a60, a61, a62);
            Store<TVector, TSimd, TColumns>(z + (7 * stride), a70, a71, a72);
        }
    }

    // One multi-tile batch: the pointers and settings every tile needs. One per calling thread, reused, so that scoring
    // allocates nothing; the calling thread scores into its per-thread buffers, workers into the ones the caller sized.
    private sealed class BatchJob<TOut> : TileJob
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        [ThreadStatic]
        private static BatchJob<TOut>? reusable;

        private LseKernel<T>? kernel;
        private T* input;
        private TOut* output;
        private T* means;
        private T* scales;
        private int rows;
        private double viscosity;
        private Readout readout;
        private int firstInvalid;

        public static int Run(LseKernel<T> kernel, T* input, int rows, int tiles, TOut* output, double viscosity, Readout readout, T* means, T* scales)
        {
            BatchJob<TOut> job = reusable ??= new BatchJob<TOut>();
            job.kernel = kernel;
            job.input = input;
            job.output = output;
            job.means = means;
            job.scales = scales;
            job.rows = rows;
            job.viscosity = viscosity;
            job.readout = readout;
            job.firstInvalid = int.MaxValue;
            try
            {
                job.Run(tiles);
            }
            finally
            {
                job.kernel = null;
            }

            return job.firstInvalid == int.MaxValue ? -1 : job.firstInvalid;
        }

        public override void PrepareWorkers(int workers)
        {
            LseKernel<T> owner = kernel!;
            WorkerBuffers<T>.Reserve(workers, means == null ? 0 : owner.TileRows * owner.Dimension, owner.LogitBufferLength(owner.TileRows), 0);
            WorkerBuffers<double>.Reserve(workers, 0, 0, 2 * owner.TileRows * owner.Heads);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void RunTile(int tile, int worker)
        {
            LseKernel<T> owner = kernel!;
            int first = tile * owner.TileRows;
            int count = Math.Min(owner.TileRows, rows - first);
            int logitLength = owner.LogitBufferLength(count);
            int inputLength = means == null ? 0 : count * owner.Dimension;
            Span<T> logits = worker < 0 ? ScratchBuffer<T>.TileLogits(logitLength) : WorkerBuffers<T>.TileLogits(worker, logitLength);
            Span<double> headScores = worker < 0 ? ScratchBuffer<double>.TileScores(2 * count * owner.Heads) : WorkerBuffers<double>.TileScores(worker, 2 * count * owner.Heads);
            Span<T> standardised = inputLength == 0 ? default : worker < 0 ? ScratchBuffer<T>.TileInputs(inputLength) : WorkerBuffers<T>.TileInputs(worker, inputLength);
            int invalid = owner.ScoreTile(input, first, count, output, viscosity, readout, means, scales, logits, headScores, standardised);
            if (invalid >= 0)
            {
                // The lowest invalid row wins, whichever tile finds it first, so the message does not depend on timing.
                int seen = Volatile.Read(ref firstInvalid);
                while (invalid < seen)
                {
                    int previous = Interlocked.CompareExchange(ref firstInvalid, invalid, seen);
                    if (previous == seen)
                    {
                        break;
                    }

                    seen = previous;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TVector, TSimd, TColumns>(T* z, TVector first, TVector second, TVector third)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        TSimd.Store(first, z);
        if (TColumns.Count > 1)
        {
            TSimd.Store(second, z + TSimd.Count);
        }

        if (TColumns.Count > 2)
        {
            TSimd.Store(third, z + (2 * TSimd.Count));
        }
    }
}

/// <summary>A register block's extent as a type, so that the JIT compiles each shape with its size as a constant.</summary>
internal interface IBlockSize
{
    /// <summary>Rows, or vectors of columns.</summary>
    static abstract int Count { get; }
}

/// <summary>1.</summary>
internal readonly struct BlockOfOne : IBlockSize
{
    public static int Count => 1;
}

/// <summary>2.</summary>
internal readonly struct BlockOfTwo : IBlockSize
{
    public static int Count => 2;
}

/// <summary>3.</summary>
internal readonly struct BlockOfThree : IBlockSize
{
    public static int Count => 3;
}

/// <summary>4.</summary>
internal readonly struct BlockOfFour : IBlockSize
{
    public static int Count => 4;
}

/// <summary>5.</summary>
internal readonly struct BlockOfFive : IBlockSize
{
    public static int Count => 5;
}

/// <summary>6.</summary>
internal readonly struct BlockOfSix : IBlockSize
{
    public static int Count => 6;
}

/// <summary>7.</summary>
internal readonly struct BlockOfSeven : IBlockSize
{
    public static int Count => 7;
}

/// <summary>8.</summary>
internal readonly struct BlockOfEight : IBlockSize
{
    public static int Count => 8;
}
