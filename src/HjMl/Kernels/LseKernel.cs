using System.Numerics;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

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
internal sealed unsafe partial class LseKernel<T>
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

    // The most negative finite T: an exponent below it is -infinity. (Float's from float.MaxValue: double.MaxValue
    // converts to float infinity, which left float's -infinity lanes in the entropy sums as 0 * -infinity.)
    private static readonly T LowestFinite = typeof(T) == typeof(float) ? T.CreateTruncating(-float.MaxValue) : T.CreateTruncating(-double.MaxValue);

    private static readonly ParallelOptions Parallelism = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    // The calling thread's buffers (see AlignedBuffer.Rent): a row's logits and per-head sums, and a batch's tile of
    // standardised inputs, logits and head scores, apart from the row's so that a batch can run on a thread that holds those.
    [ThreadStatic]
    private static T[]? rowLogits;

    [ThreadStatic]
    private static double[]? rowSums;

    [ThreadStatic]
    private static T[]? tileInputs;

    [ThreadStatic]
    private static T[]? tileLogits;

    [ThreadStatic]
    private static double[]? tileScores;

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

        panelStorage = AlignedBuffer<T>.Allocate(Dimension * Columns, out panel);
        biasStorage = AlignedBuffer<T>.Allocate(Columns, out this.biases);
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

    /// <summary>
    /// The length of <see cref="ExplainRow"/>'s weights buffer: K N and one vector of slack, because whole vectors are
    /// written past a head's end.
    /// </summary>
    public int GibbsWeightsLength => (Heads * Pieces) + Lanes;

    /// <summary>Scores one row: every head's f_k into <paramref name="headScores"/> (length K). Allocates nothing.</summary>
    public void EvaluateRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity) => EvaluateRow(input, headScores, viscosity, default);

    /// <summary>
    /// Scores one row like <see cref="EvaluateRow(ReadOnlySpan{T}, Span{double}, double)"/> and, when
    /// <paramref name="logitsOut"/> is not empty, copies its K N logits z_kj there (head-major), the ones the scores came from.
    /// </summary>
    public void EvaluateRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity, Span<T> logitsOut)
    {
        Span<T> logits = AlignedBuffer<T>.Rent(ref rowLogits, Columns + Lanes);
        Span<double> sums = AlignedBuffer<double>.Rent(ref rowSums, Heads);
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
    /// <see cref="GibbsWeightsLength"/> long) and every head's attribution entropy
    /// H_k = log S_k - sum_j pi_kj (z_kj - m_k) / eps (section 4, the same sum as -sum pi log pi, without a logarithm per
    /// piece) into <paramref name="entropies"/>. At eps = 0, or an eps so small that 1 / eps overflows, the weights share
    /// equally among the tied maxima and H = log(ties). Allocates nothing.
    /// </summary>
    public void ExplainRow(ReadOnlySpan<T> input, Span<double> headScores, double viscosity, Span<T> weights, Span<double> entropies)
    {
        Span<T> logits = AlignedBuffer<T>.Rent(ref rowLogits, Columns + Lanes);
        Span<double> sums = AlignedBuffer<double>.Rent(ref rowSums, Heads);
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
}
