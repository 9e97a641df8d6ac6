using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// The training loss's forward pass and exact gradient for K log-sum-exp heads of N pieces on d inputs, fused in float32
/// (THEORY.md section 3: d f_k / d b_kj = pi_kj, d f_k / d w_kj = pi_kj x), with rows in the vector lanes. Per group of
/// rows (one vector) and head: the logits z'_kj = (w_kj . x + b_kj) log2(e) / eps of every row at once, their maximum
/// m'_k lane by lane, the exponentials 2^(z'_kj - m'_k) and their sum S_k; the caller forms f_k = eps (m'_k ln 2 + ln S_k)
/// and the loss in double. Per block of rows: the gradient [X 1]^T G with G_kj = c_k 2^(z'_kj - m'_k), c_k = dL/df_k / S_k,
/// accumulated in float32 over the block and added to double accumulators at its end, so that rounding grows with the
/// block, not with the data. No reduction across lanes happens per row, and no piece is padded.
/// </summary>
/// <remarks>
/// Layouts (the kernel's business; callers index them through <see cref="InputIndex"/> and <see cref="RowIndex"/>):
/// parameters, piece by piece, <see cref="InputRows"/> floats each (the scaled weights, the scaled bias, zeros), and the
/// gradient accumulators the same in double; a block's inputs group by group, <see cref="InputRows"/> vectors each (x_k
/// of every row of the group, then 1, then 0); its exponentials group by group, piece by piece, one vector each; its
/// maxima, sums and factors group by group, head by head, one vector each. Rows past the end of the data in a block's
/// last group have inputs 0 and factor 0, so they add nothing. Exponentials below 2^-126 are exact zeros
/// (<see cref="VectorExponential.Exp2{T, TVector, TSimd}"/>): no subnormal is ever formed, so an iteration costs the same
/// at every eps.
/// </remarks>
internal sealed unsafe class GradientKernel
{
    /// <summary>
    /// The exponentials are 2^(z' - m' + Headroom) rather than 2^(z' - m'): the largest term is 2^Headroom and their sum
    /// at most N 2^Headroom, far inside float's range, while a piece's term stays a normal float down to
    /// pi = 2^-(126 + Headroom) (about e^-157) instead of 2^-126 (e^-87). Pieces that far below the winner still get
    /// their tiny gradients, which Adam, invariant to a parameter's gradient scale, turns into full steps as the double
    /// path does. The factors c carry 2^Headroom as well (<see cref="FactorScale"/>), so that c times an exponential,
    /// pi dL/df 2^Headroom, stays normal too; <see cref="Unpack"/> divides it out in double.
    /// </summary>
    public const float Headroom = 100f;

    /// <summary>2^<see cref="Headroom"/>: the scale the caller gives each factor c_rk = 2^Headroom dL/df_k / S_k.</summary>
    public const double FactorScale = 1.2676506002282294e30;

    // The smallest normal float, 2^-126.
    private const float SmallestNormal = 1.17549435e-38f;

    private const double Ln2 = 0.6931471805599453;

    // Inputs per register group of the gradient: 4 accumulators per piece.
    private const int Group = 4;

    // Vectors of rows per block: the block's exponentials (8 x 16 rows x K N floats) stay in L2 for the gradient.
    private const int GroupsPerBlock = 8;

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
        InputRows = (dimension + 1 + Group - 1) / Group * Group;
        BlockRows = GroupsPerBlock * Lanes;
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>K.</summary>
    public int Heads { get; }

    /// <summary>N per head.</summary>
    public int Pieces { get; }

    /// <summary>The vector width the kernel runs on.</summary>
    public VectorWidth Width { get; }

    /// <summary>Rows per group: float lanes per vector.</summary>
    public int Lanes { get; }

    /// <summary>d + 1 rounded up to a multiple of 4: the values per piece of the parameters, and per row of the inputs.</summary>
    public int InputRows { get; }

    /// <summary>Rows per block, a whole number of groups.</summary>
    public int BlockRows { get; }

    /// <summary>The length of the packed parameters and of the double gradient accumulators.</summary>
    public int PackedLength => Heads * Pieces * InputRows;

    /// <summary>The length of the float lane accumulators: <see cref="PackedLength"/> vectors.</summary>
    public int LaneAccumulatorLength => PackedLength * Lanes;

    /// <summary>Blocks whose gradients the float lane accumulators sum before a <see cref="Flush"/>: 8 terms per lane and block.</summary>
    public const int BlocksPerFlush = 4;

    /// <summary>Adds the float lane accumulators, summed across lanes, to the double <paramref name="accumulators"/> (<see cref="PackedLength"/>) and clears them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Flush(Span<float> laneAccumulators, Span<double> accumulators)
    {
        fixed (float* lanes = laneAccumulators)
        {
            for (int i = 0; i < PackedLength; i++)
            {
                // Each lane widened to double, then summed pairwise.
                float* value = lanes + (i * Lanes);
                switch (Width)
                {
                    case VectorWidth.Bits512:
                        (Vector512<double> low512, Vector512<double> high512) = Vector512.Widen(Vector512.Load(value));
                        accumulators[i] += Vector512.Sum(low512 + high512);
                        Vector512<float>.Zero.Store(value);
                        break;
                    case VectorWidth.Bits256:
                        (Vector256<double> low256, Vector256<double> high256) = Vector256.Widen(Vector256.Load(value));
                        accumulators[i] += Vector256.Sum(low256 + high256);
                        Vector256<float>.Zero.Store(value);
                        break;
                    default:
                        (Vector128<double> low128, Vector128<double> high128) = Vector128.Widen(Vector128.Load(value));
                        accumulators[i] += Vector128.Sum(low128 + high128);
                        Vector128<float>.Zero.Store(value);
                        break;
                }
            }
        }
    }

    /// <summary>The length of a block's inputs.</summary>
    public int InputLength => BlockRows * InputRows;

    /// <summary>The length of a block's exponentials.</summary>
    public int ExponentialLength => BlockRows * Heads * Pieces;

    /// <summary>The length of a block's maxima, sums or factors.</summary>
    public int RowLength => BlockRows * Heads;

    /// <summary>Where input <paramref name="k"/> (d for the constant 1) of row <paramref name="row"/> of a block goes.</summary>
    public int InputIndex(int row, int k) => (((row / Lanes * InputRows) + k) * Lanes) + (row % Lanes);

    /// <summary>Where row <paramref name="row"/>'s value for head <paramref name="head"/> lies in a block's maxima, sums and factors.</summary>
    public int RowIndex(int row, int head) => (((row / Lanes * Heads) + head) * Lanes) + (row % Lanes);

    /// <summary>
    /// Writes <paramref name="count"/> rows of d inputs and a 1 (<paramref name="rows"/>, row by row, d + 1 values each)
    /// into a block's <paramref name="inputs"/> in float, group by group (<see cref="InputIndex"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void LoadInputs(ReadOnlySpan<double> rows, int count, float* inputs)
    {
        int stride = Dimension + 1;
        int lanes = Lanes;
        for (int group = 0, first = 0; first < count; group++, first += lanes)
        {
            float* x = inputs + (group * InputRows * lanes);
            int last = Math.Min(lanes, count - first);
            for (int lane = 0; lane < last; lane++)
            {
                ReadOnlySpan<double> row = rows.Slice((first + lane) * stride, stride);
                for (int k = 0; k < stride; k++)
                {
                    x[(k * lanes) + lane] = (float)row[k];
                }
            }
        }
    }

    /// <summary>
    /// Each head's score f_k = eps (s_k ln 2 + ln S_k) of a block's first <paramref name="groups"/> groups, in double, from
    /// the shifts and sums <see cref="Forward"/> left (<paramref name="maxima"/>, <paramref name="sums"/>), into
    /// <paramref name="scores"/> in their layout (<see cref="RowIndex"/>). Lanes past the data give values never read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scores(float* maxima, float* sums, int groups, double viscosity, double* scores)
    {
        // A block's RowLength (8 Lanes Heads, Lanes >= 4) is a whole number of Vector<float>s: the last step stays inside it.
        int length = groups * Heads * Lanes;
        var ln2 = new Vector<double>(Ln2);
        var eps = new Vector<double>(viscosity);
        for (int i = 0; i < length; i += Vector<float>.Count)
        {
            Vector.Widen(Vector.Load(maxima + i), out Vector<double> shiftLow, out Vector<double> shiftHigh);
            Vector.Widen(Vector.Load(sums + i), out Vector<double> sumLow, out Vector<double> sumHigh);
            (eps * ((shiftLow * ln2) + Log(sumLow))).Store(scores + i);
            (eps * ((shiftHigh * ln2) + Log(sumHigh))).Store(scores + i + Vector<double>.Count);
        }
    }

    /// <summary>
    /// ln x of every lane of <paramref name="x"/>, a positive normal double: x = 2^k m with m in [sqrt(1/2), sqrt(2)),
    /// ln x = k ln 2 + 2 atanh(u), u = (m - 1) / (m + 1), |u| &lt; 0.172, and 2 atanh(u) = 2 (u + u^3/3 + ... + u^13/13), whose
    /// remainder is below 5e-13. Inlined where it is called: the runtime's vector log is a method of its own that runs
    /// unoptimised through a short command's first hundreds of iterations.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<double> Log(Vector<double> x)
    {
        Vector<ulong> bits = Vector.AsVectorUInt64(x);
        Vector<long> exponent = Vector.AsVectorInt64(Vector.ShiftRightLogical(bits, 52)) - new Vector<long>(1023);
        Vector<double> mantissa = Vector.AsVectorDouble((bits & new Vector<ulong>(0x000F_FFFF_FFFF_FFFFUL)) | new Vector<ulong>(0x3FF0_0000_0000_0000UL));
        Vector<long> upper = Vector.GreaterThan(mantissa, new Vector<double>(1.4142135623730951));
        mantissa = Vector.ConditionalSelect(upper, mantissa * 0.5, mantissa);
        exponent -= upper;
        Vector<double> u = (mantissa - Vector<double>.One) / (mantissa + Vector<double>.One);
        Vector<double> u2 = u * u;
        Vector<double> series = new Vector<double>(1.0 / 13);
        series = (series * u2) + new Vector<double>(1.0 / 11);
        series = (series * u2) + new Vector<double>(1.0 / 9);
        series = (series * u2) + new Vector<double>(1.0 / 7);
        series = (series * u2) + new Vector<double>(1.0 / 5);
        series = (series * u2) + new Vector<double>(1.0 / 3);
        series = (series * u2) + Vector<double>.One;
        return (Vector.ConvertToDouble(exponent) * new Vector<double>(Ln2)) + (2 * u * series);
    }

    /// <summary>
    /// Packs W (K N rows of d, head-major) and b (K N), each times <paramref name="scale"/> (log2(e) / eps), into
    /// <paramref name="packed"/> (<see cref="PackedLength"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(ReadOnlySpan<double> weights, ReadOnlySpan<double> biases, double scale, Span<float> packed)
    {
        int d = Dimension;
        packed[..PackedLength].Clear();
        for (int piece = 0; piece < Heads * Pieces; piece++)
        {
            for (int k = 0; k < d; k++)
            {
                packed[(piece * InputRows) + k] = (float)(weights[(piece * d) + k] * scale);
            }

            packed[(piece * InputRows) + d] = (float)(biases[piece] * scale);
        }
    }

    /// <summary>
    /// The accumulated gradient (<see cref="PackedLength"/>) as dL/dW then dL/db, each divided by <paramref name="divisor"/>
    /// (and by the factors' <see cref="FactorScale"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Unpack(ReadOnlySpan<double> accumulators, double divisor, Span<double> weightGradient, Span<double> biasGradient)
    {
        int d = Dimension;
        divisor *= FactorScale;
        for (int piece = 0; piece < Heads * Pieces; piece++)
        {
            for (int k = 0; k < d; k++)
            {
                weightGradient[(piece * d) + k] = accumulators[(piece * InputRows) + k] / divisor;
            }

            biasGradient[piece] = accumulators[(piece * InputRows) + d] / divisor;
        }
    }

    /// <summary>
    /// A block's forward pass: for its first <paramref name="groups"/> groups of rows, the exponentials
    /// 2^(z'_kj - s_k) with the shift s_k = m'_k - <see cref="Headroom"/> (log2 units), every head's s_k into
    /// <paramref name="maxima"/> and S_k = sum_j 2^(z'_kj - s_k) (in [2^Headroom, N 2^Headroom]) into <paramref name="sums"/>;
    /// the head's score is f_k = eps (s_k ln 2 + ln S_k).
    /// </summary>
    public void Forward(float* packed, float* inputs, int groups, float* exponentials, float* maxima, float* sums)
    {
        switch (Width)
        {
            case VectorWidth.Bits512:
                Forward<Vector512<float>, Simd512<float>>(packed, inputs, groups, exponentials, maxima, sums);
                break;
            case VectorWidth.Bits256:
                Forward<Vector256<float>, Simd256<float>>(packed, inputs, groups, exponentials, maxima, sums);
                break;
            default:
                Forward<Vector128<float>, Simd128<float>>(packed, inputs, groups, exponentials, maxima, sums);
                break;
        }
    }

    /// <summary>
    /// Adds a block's gradient to the float lane accumulators (<see cref="LaneAccumulatorLength"/>): the sum over its
    /// rows of c_rk 2^(z'_rkj - m'_rk) [x_r 1], from the exponentials <see cref="Forward"/> left and the factors c_rk,
    /// each lane summing its own rows. <see cref="Flush"/> moves them into double before they sum many blocks.
    /// </summary>
    public void Accumulate(float* exponentials, float* factors, float* inputs, int groups, float* accumulators)
    {
        switch (Width)
        {
            case VectorWidth.Bits512:
                Accumulate<Vector512<float>, Simd512<float>>(exponentials, factors, inputs, groups, accumulators);
                break;
            case VectorWidth.Bits256:
                Accumulate<Vector256<float>, Simd256<float>>(exponentials, factors, inputs, groups, accumulators);
                break;
            default:
                Accumulate<Vector128<float>, Simd128<float>>(exponentials, factors, inputs, groups, accumulators);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward<TVector, TSimd>(float* packed, float* inputs, int groups, float* exponentials, float* maxima, float* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        int lanes = TSimd.Count;
        int inputRows = InputRows;
        int pieces = Pieces;
        for (int group = 0; group < groups; group++)
        {
            // A group's inputs hold at least 4 vectors (x, 1, zeros), so the first three always load.
            float* x = inputs + (group * inputRows * lanes);
            TVector x0 = TSimd.Load(x), x1 = TSimd.Load(x + lanes), x2 = TSimd.Load(x + (2 * lanes));
            for (int head = 0; head < Heads; head++)
            {
                float* parameters = packed + (head * pieces * inputRows);
                float* e = exponentials + ((((group * Heads) + head) * pieces) * lanes);
                TVector maximum = Logits<TVector, TSimd>(parameters, x, x0, x1, x2, e);

                // 2^(z' - m' + Headroom): see Headroom.
                TVector shift = TSimd.Subtract(maximum, TSimd.Broadcast(Headroom));
                TVector sum = TSimd.Broadcast(0f);
                for (int j = 0; j < pieces; j++)
                {
                    TVector exponential = TSimd.ScaledExponential(TSimd.Subtract(TSimd.Load(e + (j * lanes)), shift));
                    TSimd.Store(exponential, e + (j * lanes));
                    sum = TSimd.Add(sum, exponential);
                }

                int at = ((group * Heads) + head) * lanes;
                TSimd.Store(shift, maxima + at);
                TSimd.Store(sum, sums + at);
            }
        }
    }

    // One head's logits for a group of rows into e (one vector per piece), b then w_1 x_1, w_2 x_2, ...: one order for
    // every row and every d; returns their lane-wise maximum. d <= 3 has a loop of its own, without a loop over k.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TVector Logits<TVector, TSimd>(float* parameters, float* x, TVector x0, TVector x1, TVector x2, float* e)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        int d = Dimension;
        int lanes = TSimd.Count;
        int inputRows = InputRows;
        int pieces = Pieces;
        TVector maximum = TSimd.Broadcast(float.NegativeInfinity);
        switch (d)
        {
            case 1:
                for (int j = 0; j < pieces; j++)
                {
                    float* q = parameters + (j * inputRows);
                    TVector z = TSimd.MultiplyAdd(TSimd.Broadcast(q[0]), x0, TSimd.Broadcast(q[1]));
                    TSimd.Store(z, e + (j * lanes));
                    maximum = TSimd.Max(maximum, z);
                }

                break;
            case 2:
                for (int j = 0; j < pieces; j++)
                {
                    float* q = parameters + (j * inputRows);
                    TVector z = TSimd.MultiplyAdd(TSimd.Broadcast(q[1]), x1, TSimd.MultiplyAdd(TSimd.Broadcast(q[0]), x0, TSimd.Broadcast(q[2])));
                    TSimd.Store(z, e + (j * lanes));
                    maximum = TSimd.Max(maximum, z);
                }

                break;
            case 3:
                for (int j = 0; j < pieces; j++)
                {
                    float* q = parameters + (j * inputRows);
                    TVector z = TSimd.MultiplyAdd(TSimd.Broadcast(q[0]), x0, TSimd.Broadcast(q[3]));
                    z = TSimd.MultiplyAdd(TSimd.Broadcast(q[2]), x2, TSimd.MultiplyAdd(TSimd.Broadcast(q[1]), x1, z));
                    TSimd.Store(z, e + (j * lanes));
                    maximum = TSimd.Max(maximum, z);
                }

                break;
            default:
                for (int j = 0; j < pieces; j++)
                {
                    float* q = parameters + (j * inputRows);
                    TVector z = TSimd.Broadcast(q[d]);
                    for (int k = 0; k < d; k++)
                    {
                        z = TSimd.MultiplyAdd(TSimd.Broadcast(q[k]), TSimd.Load(x + (k * lanes)), z);
                    }

                    TSimd.Store(z, e + (j * lanes));
                    maximum = TSimd.Max(maximum, z);
                }

                break;
        }

        return maximum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate<TVector, TSimd>(float* exponentials, float* factors, float* inputs, int groups, float* accumulators)
        where TVector : unmanaged
        where TSimd : struct, ISimd<float, TVector>
    {
        int lanes = TSimd.Count;
        int inputRows = InputRows;
        int all = Heads * Pieces;

        // Per row and head, the least exponential whose product with c is a normal float (c = 0: none is needed).
        int rowValues = groups * Heads * lanes;
        float* bounds = stackalloc float[rowValues];
        for (int i = 0; i < rowValues; i++)
        {
            bounds[i] = factors[i] == 0 ? float.PositiveInfinity : SmallestNormal / MathF.Abs(factors[i]);
        }

        // The inputs that are not padding: d and the constant 1; a last register group of fewer than 4 takes 3
        // accumulators (its rows past d + 1 are zeros that exist in the layout), which spares d = 2 a quarter of its work.
        int used = Dimension + 1;
        int pieces = Pieces;

        // Per head, c_r [x_r 1] of every row of the block (the gradient's factor without the exponential), group by group.
        float* products = stackalloc float[groups * inputRows * lanes];
        for (int head = 0; head < Heads; head++)
        {
            for (int group = 0; group < groups; group++)
            {
                TVector c = TSimd.Load(factors + (((group * Heads) + head) * lanes));
                for (int k = 0; k < inputRows; k++)
                {
                    int at = ((group * inputRows) + k) * lanes;
                    TSimd.Store(TSimd.Multiply(c, TSimd.Load(inputs + at)), products + at);
                }
            }

            for (int piece = head * pieces; piece < (head + 1) * pieces; piece++)
            {
                for (int first = 0; first < used; first += Group)
                {
                    TVector a0 = TSimd.Broadcast(0f), a1 = a0, a2 = a0, a3 = a0;
                    if (used - first >= Group)
                    {
                        for (int group = 0; group < groups; group++)
                        {
                            // G [x 1] = 2^(z' - s) c [x 1], with exponentials whose product with c would be subnormal taken as 0
                            // (they are below 2^-126 of the row's largest term in the gradient): a subnormal product costs a
                            // hundred times a normal one.
                            TVector e = TSimd.BelowToZero(TSimd.Load(exponentials + (((group * all) + piece) * lanes)), TSimd.Load(bounds + (((group * Heads) + head) * lanes)));
                            float* cx = products + (((group * inputRows) + first) * lanes);
                            a0 = TSimd.MultiplyAdd(e, TSimd.Load(cx), a0);
                            a1 = TSimd.MultiplyAdd(e, TSimd.Load(cx + lanes), a1);
                            a2 = TSimd.MultiplyAdd(e, TSimd.Load(cx + (2 * lanes)), a2);
                            a3 = TSimd.MultiplyAdd(e, TSimd.Load(cx + (3 * lanes)), a3);
                        }
                    }
                    else
                    {
                        for (int group = 0; group < groups; group++)
                        {
                            TVector e = TSimd.BelowToZero(TSimd.Load(exponentials + (((group * all) + piece) * lanes)), TSimd.Load(bounds + (((group * Heads) + head) * lanes)));
                            float* cx = products + (((group * inputRows) + first) * lanes);
                            a0 = TSimd.MultiplyAdd(e, TSimd.Load(cx), a0);
                            a1 = TSimd.MultiplyAdd(e, TSimd.Load(cx + lanes), a1);
                            a2 = TSimd.MultiplyAdd(e, TSimd.Load(cx + (2 * lanes)), a2);
                        }
                    }

                    float* destination = accumulators + (((piece * inputRows) + first) * lanes);
                    TSimd.Store(TSimd.Add(TSimd.Load(destination), a0), destination);
                    TSimd.Store(TSimd.Add(TSimd.Load(destination + lanes), a1), destination + lanes);
                    TSimd.Store(TSimd.Add(TSimd.Load(destination + (2 * lanes)), a2), destination + (2 * lanes));
                    TSimd.Store(TSimd.Add(TSimd.Load(destination + (3 * lanes)), a3), destination + (3 * lanes));
                }
            }
        }
    }
}
