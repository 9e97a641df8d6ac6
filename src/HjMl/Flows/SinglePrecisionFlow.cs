using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.Kernels;

namespace HjMl.Flows;

/// <summary>
/// A flow model's float32 scoring (THEORY.md section 9): the residual Gibbs flow and its LSE read-out rounded to float32
/// once, in the precision of the exported ONNX graph. Every consumer of the state is linear, so the state is never formed
/// [derived]: with z_k = z_0 + h sum_{i&lt;k} U_i^T pi_i (Euler, section 9), step k's logits are
/// A_k z_k + c_k = (A_k z_0 + c_k) + sum_{i&lt;k} (h A_k U_i^T) pi_i and the read-out's are
/// W z_L + b = (W z_0 + b) + sum_i (h W U_i^T) pi_i. One register-blocked product of the LSE kernel gives every
/// A_k z_0 + c_k and W z_0 + b of a block of rows (the lift folded in: M P x + M q); per row, J x kJ and KN x LJ
/// products of the Gibbs weights add the corrections, pi_k = softmax(. / eps) comes from the kernel's vector exponential,
/// and each head's log-sum-exp from its scoring operations.
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
    // The calling thread's buffers (see AlignedBuffer.Rent): a block's logits, its Gibbs weights (all steps, and the
    // steps before the current one), a row's corrected logits and weights, a block's corrections, a row's head sums,
    // and an embedded start in double and in float.
    [ThreadStatic]
    private static float[]? logitScratch;

    [ThreadStatic]
    private static float[]? weightScratch;

    [ThreadStatic]
    private static float[]? historyScratch;

    [ThreadStatic]
    private static float[]? rowScratch;

    [ThreadStatic]
    private static float[]? correctionScratch;

    [ThreadStatic]
    private static double[]? sumScratch;

    [ThreadStatic]
    private static double[]? embeddingScratch;

    [ThreadStatic]
    private static float[]? startScratch;

    private readonly GibbsFlow flow;
    private readonly int heads;
    private readonly int readoutPieces;

    // z_0 (or x, lift folded in) -> [A_s z_0 + c_s for every control set s, W z_0 + b].
    private readonly LseKernel<float> linear;

    // Step k's correction (k >= 1): J pieces of kJ, h a_{k,j} . u_{i,l}; the read-out's: K N pieces of L J, h w_p . u_{i,l}.
    private readonly LseKernel<float>?[] corrections;
    private readonly LseKernel<float>? readoutCorrection;

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
        int outputs = (sets * pieces) + all;
        ReadOnlySpan<double> parameters = flow.Parameters;

        // M (outputs x m) and its biases, in double.
        var product = new double[outputs * m];
        var biases = new double[outputs];
        for (int set = 0; set < sets; set++)
        {
            parameters.Slice(shape.KeysOffset(set), pieces * m).CopyTo(product.AsSpan(set * pieces * m));
            parameters.Slice(shape.OffsetsOffset(set), pieces).CopyTo(biases.AsSpan(set * pieces));
        }

        readoutWeights[..(all * m)].CopyTo(product.AsSpan(sets * pieces * m));
        readoutBiases.CopyTo(biases.AsSpan(sets * pieces));
        VectorWidth width = LseKernel<float>.PreferredWidth;
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
        corrections = new LseKernel<float>?[shape.Steps];
        for (int step = 1; step < shape.Steps; step++)
        {
            ReadOnlySpan<double> keys = flow.Keys(step);
            var weights = new double[pieces * step * pieces];
            for (int j = 0; j < pieces; j++)
            {
                Products(keys.Slice(j * m, m), step, h, weights.AsSpan(j * step * pieces, step * pieces));
            }

            corrections[step] = new LseKernel<float>(Rounded(weights, "flow correction"), new float[pieces], step * pieces, 1, width);
        }

        if (shape.Steps > 0)
        {
            int history = shape.Steps * pieces;
            var weights = new double[all * history];
            for (int p = 0; p < all; p++)
            {
                Products(readoutWeights.Slice(p * m, m), shape.Steps, h, weights.AsSpan(p * history, history));
            }

            readoutCorrection = new LseKernel<float>(Rounded(weights, "read-out correction"), new float[all], history, 1, width);
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

    // A block of rows from their combined logits (rows of linear.Columns): step by step, each step's corrections for
    // all rows in one product of the Gibbs weights so far, then each row's Gibbs weights; then the read-out's
    // corrections in one product and each row's heads.
    private void Finish(ReadOnlySpan<float> logits, int rows, double viscosity, Span<double> headScores)
    {
        FlowShape shape = flow.Shape;
        int pieces = shape.Pieces;
        int steps = shape.Steps;
        int history = steps * pieces;
        int lanes = linear.Lanes;
        int all = heads * readoutPieces;
        int columns = linear.Columns;
        int readoutStart = shape.ControlSets * pieces;
        Span<float> weights = AlignedBuffer<float>.Rent(ref weightScratch, (rows * history) + lanes);
        Span<float> earlier = AlignedBuffer<float>.Rent(ref historyScratch, (rows * Math.Max(0, history - pieces)) + lanes);
        Span<float> row = AlignedBuffer<float>.Rent(ref rowScratch, (2 * Math.Max(pieces, all)) + (2 * lanes));
        Span<float> stepWeights = row[(Math.Max(pieces, all) + lanes)..];
        int correctionColumns = readoutCorrection?.Columns ?? 0;
        for (int step = 1; step < steps; step++)
        {
            correctionColumns = Math.Max(correctionColumns, corrections[step]!.Columns);
        }

        Span<float> correction = AlignedBuffer<float>.Rent(ref correctionScratch, (rows * correctionColumns) + lanes);
        for (int step = 0; step < steps; step++)
        {
            int set = shape.SharedControls ? 0 : step;
            LseKernel<float>? kernel = corrections[step];
            if (kernel is not null)
            {
                // The Gibbs weights of the steps before, rows back to back, are this step's correction's inputs.
                int width = step * pieces;
                for (int r = 0; r < rows; r++)
                {
                    weights.Slice(r * history, width).CopyTo(earlier.Slice(r * width, width));
                }

                kernel.BatchLogits(earlier[..(rows * width)], rows, correction);
            }

            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<float> stepLogits = logits[((r * columns) + (set * pieces))..];
                if (kernel is not null)
                {
                    TensorPrimitives.Add(stepLogits[..pieces], correction.Slice(r * kernel.Columns, pieces), row);
                    stepLogits = row;
                }

                linear.GibbsWeightsOfRow(stepLogits, pieces, flow.Viscosity, stepWeights);
                stepWeights[..pieces].CopyTo(weights.Slice((r * history) + (step * pieces), pieces));
            }
        }

        if (readoutCorrection is not null)
        {
            readoutCorrection.BatchLogits(weights[..(rows * history)], rows, correction);
        }

        Span<double> sums = AlignedBuffer<double>.Rent(ref sumScratch, heads);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> readout = logits[((r * columns) + readoutStart)..];
            if (readoutCorrection is not null)
            {
                TensorPrimitives.Add(readout[..all], correction.Slice(r * readoutCorrection.Columns, all), row);
                readout = row;
            }

            linear.HeadScoresOfRow(readout, heads, readoutPieces, viscosity, headScores.Slice(r * heads, heads), sums);
        }
    }

    // destination[i L_J + l] = h a . u_{i,l} for steps i < count: a row against the values of the steps before.
    private void Products(ReadOnlySpan<double> row, int count, double h, Span<double> destination)
    {
        int m = flow.Width;
        int pieces = flow.Shape.Pieces;
        for (int step = 0; step < count; step++)
        {
            ReadOnlySpan<double> values = flow.Values(step);
            for (int l = 0; l < pieces; l++)
            {
                destination[(step * pieces) + l] = h * TensorPrimitives.Dot(row, values.Slice(l * m, m));
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
