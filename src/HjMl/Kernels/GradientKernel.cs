using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// The training loss's forward pass and exact gradient for K log-sum-exp heads of N pieces on d inputs, fused in float32
/// (THEORY.md section 3: d f_k / d b_kj = pi_kj, d f_k / d w_kj = pi_kj x). Per row and head: the logits
/// z'_kj = (w_kj . x + b_kj) log2(e) / eps, their maximum m'_k, the exponentials 2^(z'_kj - m'_k) and their sum S_k;
/// f_k = eps (m'_k ln 2 + ln S_k) in double. Per block of rows: the gradient [X 1]^T G with G_kj = c_k 2^(z'_kj - m'_k),
/// c_k = dL/df_k / S_k, accumulated in float32 registers over the block and added to double accumulators at its end,
/// so that rounding grows with the block, not with the data.
/// </summary>
/// <remarks>
/// Layout: each head's pieces are padded to whole vectors (<see cref="HeadColumns"/>); the packed parameters hold
/// <see cref="InputRows"/> rows of <see cref="Columns"/> floats, row k &lt; d the scaled weights of input k, row d the scaled
/// biases, rows beyond d zero. A padded piece has weights 0 and bias -infinity: its exponential is exactly 0, so it adds
/// nothing to a sum or a gradient. Inputs come as <see cref="InputRows"/> floats, x, then 1, then zeros. Exponentials
/// below 2^-126 are exact zeros (<see cref="VectorExponential.Exp2{T, TVector, TSimd}"/>): no subnormal is ever formed, so
/// an iteration costs the same at every eps.
/// </remarks>
internal sealed unsafe class GradientKernel
{
    // Inputs per register group of the gradient: 4 accumulators per column vector.
    private const int Group = 4;

    /// <summary>A kernel for <paramref name="heads"/> heads of <paramref name="pieces"/> pieces on <paramref name="dimension"/> inputs.</summary>
    public GradientKernel(int dimension, int heads, int pieces, VectorWidth width)
    {
        Dimension = dimension;
        Heads = heads;
        Pieces = pieces;
        Width = width;
        Lanes = width switch
        {
            VectorWidth.Bits512 => Vector512<float>.Count,
            VectorWidth.Bits256 => Vector256<float>.Count,
            _ => Vector128<float>.Count,
        };
        HeadColumns = (pieces + Lanes - 1) / Lanes * Lanes;
        Columns = heads * HeadColumns;
        InputRows = (dimension + 1 + Group - 1) / Group * Group;
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>K.</summary>
    public int Heads { get; }

    /// <summary>N per head.</summary>
    public int Pieces { get; }

    /// <summary>The vector width the kernel runs on.</summary>
    public VectorWidth Width { get; }

    /// <summary>Float lanes per vector.</summary>
    public int Lanes { get; }

    /// <summary>N rounded up to whole vectors.</summary>
    public int HeadColumns { get; }

    /// <summary>K <see cref="HeadColumns"/>: the length of a row's exponentials and of a packed parameter row.</summary>
    public int Columns { get; }

    /// <summary>d + 1 rounded up to a multiple of 4: the length of an input row and the rows of the packed parameters.</summary>
    public int InputRows { get; }

    /// <summary>The length of the packed parameters and of the double gradient accumulators.</summary>
    public int PackedLength => InputRows * Columns;

    /// <summary>
    /// Packs W (K N rows of d, head-major) and b (K N), each times <paramref name="scale"/> (log2(e) / eps), into
    /// <paramref name="packed"/> (<see cref="PackedLength"/>).
    /// </summary>
    public void Pack(ReadOnlySpan<double> weights, ReadOnlySpan<double> biases, double scale, Span<float> packed)
    {
        int d = Dimension;
        packed[..PackedLength].Clear();
        for (int head = 0; head < Heads; head++)
        {
            for (int j = 0; j < HeadColumns; j++)
            {
                int column = (head * HeadColumns) + j;
                if (j >= Pieces)
                {
                    packed[(d * Columns) + column] = float.NegativeInfinity;
                    continue;
                }

                int piece = (head * Pieces) + j;
                for (int k = 0; k < d; k++)
                {
                    packed[(k * Columns) + column] = (float)(weights[(piece * d) + k] * scale);
                }

                packed[(d * Columns) + column] = (float)(biases[piece] * scale);
            }
        }
    }

    /// <summary>The packed layout's gradient (rows of <see cref="Columns"/>) as dL/dW then dL/db, each divided by <paramref name="divisor"/>.</summary>
    public void Unpack(ReadOnlySpan<double> accumulators, double divisor, Span<double> weightGradient, Span<double> biasGradient)
    {
        int d = Dimension;
        for (int head = 0; head < Heads; head++)
        {
            for (int j = 0; j < Pieces; j++)
            {
                int column = (head * HeadColumns) + j;
                int piece = (head * Pieces) + j;
                for (int k = 0; k < d; k++)
                {
                    weightGradient[(piece * d) + k] = accumulators[(k * Columns) + column] / divisor;
                }

                biasGradient[piece] = accumulators[(d * Columns) + column] / divisor;
            }
        }
    }

    /// <summary>
    /// One row's forward pass: the exponentials 2^(z'_kj - m'_k) into <paramref name="exponentials"/> (<see cref="Columns"/>),
    /// every head's m'_k (log2 units) and S_k.
    /// </summary>
    /// <param name="packed">The packed parameters (<see cref="Pack"/>).</param>
    /// <param name="input">x, 1, zeros (<see cref="InputRows"/>).</param>
    /// <param name="exponentials">Receives the exponentials.</param>
    /// <param name="maxima">Receives m'_k per head.</param>
    /// <param name="sums">Receives S_k per head, in [1, N].</param>
    public void Forward(float* packed, float* input, float* exponentials, float* maxima, double* sums)
    {
        switch (Width)
        {
            case VectorWidth.Bits512:
                Forward<Vector512<float>, Simd512<float>>(packed, input, exponentials, maxima, sums);
                break;
            case VectorWidth.Bits256:
                Forward<Vector256<float>, Simd256<float>>(packed, input, exponentials, maxima, sums);
                break;
            default:
                Forward<Vector128<float>, Simd128<float>>(packed, input, exponentials, maxima, sums);
                break;
        }
    }

    /// <summary>
    /// Adds a block's gradient to <paramref name="accumulators"/> (<see cref="PackedLength"/> doubles):
    /// sum over its rows r of G_r x_r^T, G_rkj = factors[r K + k] exponentials[r][kj].
    /// </summary>
    /// <param name="exponentials">The block's exponentials, <see cref="Columns"/> per row.</param>
    /// <param name="factors">c_rk = dL/df_k / S_k per row and head.</param>
    /// <param name="inputs">The block's inputs, <see cref="InputRows"/> per row (x, 1, zeros).</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="accumulators">The double gradient accumulators, in the packed layout.</param>
    public void Accumulate(float* exponentials, float* factors, float* inputs, int rows, double* accumulators)
    {
        switch (Width)
        {
            case VectorWidth.Bits512:
                Accumulate<Vector512<float>, Simd512<float>>(exponentials, factors, inputs, rows, accumulators);
                break;
            case VectorWidth.Bits256:
                Accumulate<Vector256<float>, Simd256<float>>(exponentials, factors, inputs, rows, accumulators);
                break;
            default:
                Accumulate<Vector128<float>, Simd128<float>>(exponentials, factors, inputs, rows, accumulators);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward<TVector, TSimd>(float* packed, float* input, float* exponentials, float* maxima, double* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        int d = Dimension;
        int columns = Columns;
        int lanes = TSimd.Count;
        float* biasRow = packed + (d * columns);

        // Input rows hold at least 4 values (x, 1, zeros), so the first three can always be broadcast.
        TVector x0 = TSimd.Broadcast(input[0]), x1 = TSimd.Broadcast(input[1]), x2 = TSimd.Broadcast(input[2]);
        for (int head = 0; head < Heads; head++)
        {
            int start = head * HeadColumns;
            int end = start + HeadColumns;
            TVector maximum = TSimd.Broadcast(float.NegativeInfinity);
            for (int c = start; c < end; c += lanes)
            {
                // b then w_1 x_1, w_2 x_2, ...: one order for every row and every d.
                TVector z = TSimd.Load(biasRow + c);
                if (d <= 3)
                {
                    z = d >= 1 ? TSimd.MultiplyAdd(TSimd.Load(packed + c), x0, z) : z;
                    z = d >= 2 ? TSimd.MultiplyAdd(TSimd.Load(packed + columns + c), x1, z) : z;
                    z = d >= 3 ? TSimd.MultiplyAdd(TSimd.Load(packed + (2 * columns) + c), x2, z) : z;
                }
                else
                {
                    for (int k = 0; k < d; k++)
                    {
                        z = TSimd.MultiplyAdd(TSimd.Load(packed + (k * columns) + c), TSimd.Broadcast(input[k]), z);
                    }
                }

                TSimd.Store(z, exponentials + c);
                maximum = TSimd.Max(maximum, z);
            }

            float m = TSimd.MaximumAcross(maximum);
            TVector shift = TSimd.Broadcast(m);
            TVector sum = TSimd.Broadcast(0f);
            for (int c = start; c < end; c += lanes)
            {
                TVector e = TSimd.ScaledExponential(TSimd.Subtract(TSimd.Load(exponentials + c), shift));
                TSimd.Store(e, exponentials + c);
                sum = TSimd.Add(sum, e);
            }

            maxima[head] = m;
            sums[head] = TSimd.SumAcross(sum);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate<TVector, TSimd>(float* exponentials, float* factors, float* inputs, int rows, double* accumulators)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        int columns = Columns;
        int lanes = TSimd.Count;
        int stride = InputRows;
        float* lane = stackalloc float[lanes];
        for (int c = 0; c < columns; c += lanes)
        {
            int head = c / HeadColumns;
            for (int group = 0; group < stride; group += Group)
            {
                TVector a0 = TSimd.Broadcast(0f), a1 = a0, a2 = a0, a3 = a0;
                float* x = inputs + group;
                for (int r = 0; r < rows; r++, x += stride)
                {
                    TVector g = TSimd.Multiply(TSimd.Load(exponentials + ((nint)r * columns) + c), TSimd.Broadcast(factors[(r * Heads) + head]));
                    a0 = TSimd.MultiplyAdd(g, TSimd.Broadcast(x[0]), a0);
                    a1 = TSimd.MultiplyAdd(g, TSimd.Broadcast(x[1]), a1);
                    a2 = TSimd.MultiplyAdd(g, TSimd.Broadcast(x[2]), a2);
                    a3 = TSimd.MultiplyAdd(g, TSimd.Broadcast(x[3]), a3);
                }

                Flush<TVector, TSimd>(a0, lane, accumulators + ((group + 0) * columns) + c);
                Flush<TVector, TSimd>(a1, lane, accumulators + ((group + 1) * columns) + c);
                Flush<TVector, TSimd>(a2, lane, accumulators + ((group + 2) * columns) + c);
                Flush<TVector, TSimd>(a3, lane, accumulators + ((group + 3) * columns) + c);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush<TVector, TSimd>(TVector value, float* lane, double* destination)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        TSimd.Store(value, lane);
        for (int i = 0; i < TSimd.Count; i++)
        {
            destination[i] += lane[i];
        }
    }
}
