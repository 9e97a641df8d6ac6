using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HjMl.Embeddings;
using HjMl.Kernels;

namespace HjMl.Flows;

/// <summary>
/// A flow model's float32 scoring (THEORY.md section 9): the residual Gibbs flow and its LSE read-out rounded to float32
/// once, in the precision of the exported ONNX graph. Every consumer of the state is linear, so the state is never formed
/// [derived]: with z_k = z_0 + h sum_{i&lt;k} U_i^T pi_i (Euler, section 9), step k's logits are
/// A_k z_k + c_k = (A_k z_0 + c_k) + sum_{i&lt;k} (h A_k U_i^T) pi_i and the read-out's are
/// W z_L + b = (W z_0 + b) + sum_i (h W U_i^T) pi_i. One register-blocked product of the LSE kernel gives every
/// A_k z_0 + c_k and W z_0 + b of a block of rows (the lift folded in: M P x + M q); for the whole block, J x kJ and
/// KN x LJ products of the Gibbs weights (<see cref="AccumulatingProduct{T}"/>) add the corrections onto those logits in
/// place, pi_k = softmax(. / eps) comes from the kernel's vector exponential, and each head's log-sum-exp from its
/// scoring operations.
/// </summary>
/// <remarks>
/// Per row this is the m-wide product once, (S J + K N) x m multiply-adds with S control sets, instead of two J x m
/// products per step and the read-out's K N x m. Every sum runs in one order whatever block a row sits in, so a row
/// scores to the same bits alone and in a batch. The double flow (<see cref="GibbsFlow"/>) stays the reference:
/// certificates, explanations and training read it. Immutable and thread-safe; allocates nothing after a thread's first
/// call of a given size.
/// </remarks>
internal sealed partial class SinglePrecisionFlow
{
    // The calling thread's buffers (see AlignedBuffer.Rent): a row's logits, a block's Gibbs weights (all steps), a
    // block's step logits under shared controls, a block's head sums, and an embedded start in double and in float.
    [ThreadStatic]
    private static float[]? logitScratch;

    [ThreadStatic]
    private static float[]? weightScratch;

    [ThreadStatic]
    private static float[]? sharedScratch;

    [ThreadStatic]
    private static double[]? sumScratch;

    [ThreadStatic]
    private static double[]? embeddingScratch;

    [ThreadStatic]
    private static float[]? startScratch;

    private readonly GibbsFlow flow;
    private readonly int heads;
    private readonly int readoutPieces;

    // J rounded up to whole vectors: the width of a control set's slot in the combined logits and of a step's slot in
    // the Gibbs weights, so that whole-vector stores stay within a slot (the padding holds zero weights).
    private readonly int slotWidth;

    // z_0 (or x, lift folded in) -> [A_s z_0 + c_s for every control set s, W z_0 + b], each set in a slot of slotWidth.
    private readonly LseKernel<float> linear;

    // Step k's correction (k >= 1), added onto its logits: J pieces of k slots, h a_{k,j} . u_{i,l}; the read-out's:
    // K N pieces (in whole vectors) of L slots, h w_p . u_{i,l}.
    private readonly AccumulatingProduct<float>?[] corrections;
    private readonly AccumulatingProduct<float>? readoutCorrection;

    /// <summary>
    /// Rounds <paramref name="flow"/> and the read-out (<paramref name="readoutWeights"/>, K N rows of m, head-major;
    /// <paramref name="readoutBiases"/>, K N) to float32 and packs the kernels.
    /// </summary>
    /// <exception cref="NotSupportedException">A combined parameter lies beyond float32's range (the message says which).</exception>
    public SinglePrecisionFlow(GibbsFlow flow, ReadOnlySpan<double> readoutWeights, ReadOnlySpan<double> readoutBiases, int heads)
    {
        ArgumentNullException.ThrowIfNull(flow);
        this.flow = flow;
        this.heads = heads;
        readoutPieces = readoutBiases.Length / heads;
        FlowShape shape = flow.Shape;
        int m = shape.Width;
        int pieces = shape.Pieces;
        int sets = shape.ControlSets;
        int all = readoutBiases.Length;
        VectorWidth width = LseKernel<float>.PreferredWidth;
        int lanes = width switch
        {
            VectorWidth.Bits512 => Vector512<float>.Count,
            VectorWidth.Bits256 => Vector256<float>.Count,
            _ => Vector128<float>.Count,
        };
        slotWidth = (pieces + lanes - 1) / lanes * lanes;
        int readoutStart = sets * slotWidth;
        int outputs = readoutStart + all;
        ReadOnlySpan<double> parameters = flow.Parameters;

        // M (outputs x m) and its biases, in double; a slot's padding rows stay zero.
        var product = new double[outputs * m];
        var biases = new double[outputs];
        for (int set = 0; set < sets; set++)
        {
            parameters.Slice(shape.KeysOffset(set), pieces * m).CopyTo(product.AsSpan(set * slotWidth * m));
            parameters.Slice(shape.OffsetsOffset(set), pieces).CopyTo(biases.AsSpan(set * slotWidth));
        }

        readoutWeights[..(all * m)].CopyTo(product.AsSpan(readoutStart * m));
        readoutBiases.CopyTo(biases.AsSpan(readoutStart));
        int inputs = m;
        if (shape.Lifted)
        {
            // M (P x + q) = (M P) x + M q.
            int d = shape.InputDimension;
            ReadOnlySpan<double> lift = parameters[..(m * d)];
            ReadOnlySpan<double> liftBias = parameters.Slice(m * d, m);
            var folded = new double[outputs * d];
            for (int row = 0; row < outputs; row++)
            {
                ReadOnlySpan<double> coefficients = product.AsSpan(row * m, m);
                Span<double> destination = folded.AsSpan(row * d, d);
                for (int i = 0; i < m; i++)
                {
                    TensorPrimitives.MultiplyAdd(lift.Slice(i * d, d), coefficients[i], destination, destination);
                }

                biases[row] += TensorPrimitives.Dot(coefficients, liftBias);
            }

            product = folded;
            inputs = d;
        }

        linear = new LseKernel<float>(Rounded(product, "combined weight"), Rounded(biases, "combined bias"), inputs, 1, width);

        double h = flow.StepSize;
        corrections = new AccumulatingProduct<float>?[shape.Steps];
        for (int step = 1; step < shape.Steps; step++)
        {
            ReadOnlySpan<double> keys = flow.Keys(step);
            int earlier = step * slotWidth;
            var weights = new double[slotWidth * earlier];
            for (int j = 0; j < pieces; j++)
            {
                Products(keys.Slice(j * m, m), step, h, weights.AsSpan(j * earlier, earlier));
            }

            corrections[step] = new AccumulatingProduct<float>(Rounded(weights, "flow correction"), earlier, slotWidth, width);
        }

        if (shape.Steps > 0)
        {
            int history = shape.Steps * slotWidth;
            int readoutWidth = (all + lanes - 1) / lanes * lanes;
            var weights = new double[readoutWidth * history];
            for (int p = 0; p < all; p++)
            {
                Products(readoutWeights.Slice(p * m, m), shape.Steps, h, weights.AsSpan(p * history, history));
            }

            readoutCorrection = new AccumulatingProduct<float>(Rounded(weights, "read-out correction"), history, readoutWidth, width);
        }
    }

    /// <summary>d, features per row.</summary>
    public int InputDimension => flow.InputDimension;

    /// <summary>K, the read-out's heads.</summary>
    public int Heads => heads;

    /// <summary>
    /// Every head's score f_k of one standardised float32 row (d values) into <paramref name="headScores"/> (K), at the
    /// read-out's <paramref name="viscosity"/>.
    /// </summary>
    public void ScoreRow(ReadOnlySpan<float> standardised, double viscosity, Span<double> headScores)
    {
        Span<float> logits = AlignedBuffer<float>.Rent(ref logitScratch, linear.BatchLogitsLength(1));
        Logits(standardised, 1, logits);
        Finish(logits, 1, viscosity, headScores);
    }

    // The combined logits of a block of standardised rows (rows of linear.Columns).
    private void Logits(ReadOnlySpan<float> standardised, int rows, Span<float> logits)
    {
        if (flow.Shape.Embedding is not { } embedding)
        {
            linear.BatchLogits(standardised, rows, logits);
            return;
        }

        // z_0 = the embedding of x, in double (as the double path computes it), rounded once.
        int d = InputDimension;
        int m = flow.Width;
        Span<double> wide = AlignedBuffer<double>.Rent(ref embeddingScratch, rows * (d + m));
        TensorPrimitives.ConvertChecked<float, double>(standardised[..(rows * d)], wide[..(rows * d)]);
        Span<double> embedded = wide.Slice(rows * d, rows * m);
        PeriodicEmbedding.Forward(embedding, flow.Parameters[..flow.Shape.LiftLength], wide, d, rows, embedded, m);
        Span<float> start = AlignedBuffer<float>.Rent(ref startScratch, rows * m);
        TensorPrimitives.ConvertTruncating<double, float>(embedded, start);
        linear.BatchLogits(start, rows, logits);
    }

    // A block of rows from their combined logits (rows of linear.Columns, overwritten): step by step, each step's
    // corrections added onto its logits for all rows in one product of the Gibbs weights so far, then every row's Gibbs
    // weights; then the read-out's corrections added onto its logits in one product, and every row's heads.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Finish(Span<float> logits, int rows, double viscosity, Span<double> headScores)
    {
        FlowShape shape = flow.Shape;
        int steps = shape.Steps;
        int history = steps * slotWidth;
        int lanes = linear.Lanes;
        int columns = linear.Columns;
        Span<float> weights = AlignedBuffer<float>.Rent(ref weightScratch, (rows * history) + lanes);
        Span<float> shared = shape.SharedControls ? AlignedBuffer<float>.Rent(ref sharedScratch, (rows * slotWidth) + lanes) : default;
        Span<double> sums = AlignedBuffer<double>.Rent(ref sumScratch, rows * heads);
        fixed (float* z = logits)
        fixed (float* pi = weights)
        fixed (float* work = shared)
        fixed (double* scores = headScores)
        fixed (double* s = sums)
        {
            for (int step = 0; step < steps; step++)
            {
                // A step's logits in place, or a copy of the shared controls' logits.
                float* stepLogits = z + (step * slotWidth);
                int stride = columns;
                if (work != null)
                {
                    stride = slotWidth;
                    stepLogits = work;
                    for (int r = 0; r < rows; r++)
                    {
                        logits.Slice(r * columns, slotWidth).CopyTo(shared.Slice(r * slotWidth, slotWidth));
                    }
                }

                corrections[step]?.Accumulate(pi, history, rows, stepLogits, stride);
                linear.GibbsWeightsOfRows(stepLogits, stride, rows, shape.Pieces, flow.Viscosity, pi + (step * slotWidth), history);
            }

            float* readout = z + (shape.ControlSets * slotWidth);
            readoutCorrection?.Accumulate(pi, history, rows, readout, columns);
            linear.HeadScoresOfRows(readout, columns, rows, heads, readoutPieces, viscosity, scores, s);
        }
    }

    // destination[i slot + l] = h a . u_{i,l} for steps i < count: a row against the values of the steps before (a
    // slot's padding stays zero).
    private void Products(ReadOnlySpan<double> row, int count, double h, Span<double> destination)
    {
        int m = flow.Width;
        int pieces = flow.Shape.Pieces;
        for (int step = 0; step < count; step++)
        {
            ReadOnlySpan<double> values = flow.Values(step);
            for (int l = 0; l < pieces; l++)
            {
                destination[(step * slotWidth) + l] = h * TensorPrimitives.Dot(row, values.Slice(l * m, m));
            }
        }
    }

    private static float[] Rounded(double[] values, string what)
    {
        var rounded = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            rounded[i] = (float)values[i];
            if (!float.IsFinite(rounded[i]))
            {
                throw new NotSupportedException($"The flow's {what} at index {i} is {values[i]}, beyond float32's range; score this model in double.");
            }
        }

        return rounded;
    }
}
