using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.Kernels;

namespace HjMl.Flows;

/// <summary>
/// A residual Gibbs flow rounded to float32 once, for scoring in the precision of the exported ONNX graph (THEORY.md
/// section 9). Each Euler step z_{k+1} = z_k + h sum_j pi_j(z_k) u_j runs on a block of rows as two register-blocked
/// products of the LSE kernel: the keys' logits a_j . z + c_j with their Gibbs weights pi = softmax(. / eps) from the
/// kernel's vector exponential, then the values' expectation Pi (h U) through a kernel whose pieces are the columns of
/// h U. A lift z_0 = P x + q is a third such product; an embedded start is computed in double and rounded.
/// </summary>
/// <remarks>
/// Every sum runs in one order whatever block a row sits in, so a row transports to the same bits alone and in a batch.
/// The double flow (<see cref="GibbsFlow"/>) stays the reference: certificates, explanations and training read it.
/// Immutable and thread-safe; allocates nothing after a thread's first call of a given size.
/// </remarks>
internal sealed partial class SinglePrecisionFlow
{
    // Bytes a tile's standardised rows, states and velocities may take together, so that they stay in L2 with a step's
    // keys and values.
    private const int TileBytes = 768 * 1024;

    // The calling thread's buffers (see AlignedBuffer.Rent): states, logits, Gibbs weights, velocities (or the lift's
    // output), and an embedded start's rows in double.
    [ThreadStatic]
    private static float[]? stateScratch;

    [ThreadStatic]
    private static float[]? logitScratch;

    [ThreadStatic]
    private static float[]? weightScratch;

    [ThreadStatic]
    private static float[]? velocityScratch;

    [ThreadStatic]
    private static double[]? embeddingScratch;

    private readonly GibbsFlow flow;
    private readonly LseKernel<float>? lift;
    private readonly LseKernel<float>[] keys;
    private readonly LseKernel<float>[] values;

    /// <summary>Rounds <paramref name="flow"/>'s parameters to float32 and packs its kernels.</summary>
    /// <exception cref="NotSupportedException">A parameter (or h times a value) lies beyond float32's range (the message names it).</exception>
    public SinglePrecisionFlow(GibbsFlow flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        this.flow = flow;
        FlowShape shape = flow.Shape;
        int m = shape.Width;
        int d = shape.InputDimension;
        int pieces = shape.Pieces;
        ReadOnlySpan<double> parameters = flow.Parameters;
        VectorWidth width = LseKernel<float>.PreferredWidth;
        if (shape.Lifted)
        {
            lift = new LseKernel<float>(Rounded(parameters, 0, m * d, 1), Rounded(parameters, m * d, m, 1), d, 1, width);
        }

        keys = new LseKernel<float>[shape.ControlSets];
        values = new LseKernel<float>[shape.ControlSets];
        for (int set = 0; set < shape.ControlSets; set++)
        {
            keys[set] = new LseKernel<float>(Rounded(parameters, shape.KeysOffset(set), pieces * m, 1), Rounded(parameters, shape.OffsetsOffset(set), pieces, 1), m, 1, width);

            // The values' kernel has one piece per state coordinate i, whose weights are (h u_1i, ..., h u_Ji): its
            // logits for a row of Gibbs weights are h sum_j pi_j u_j, the step's increment.
            float[] increments = new float[m * pieces];
            int offset = shape.ValuesOffset(set);
            for (int j = 0; j < pieces; j++)
            {
                for (int i = 0; i < m; i++)
                {
                    increments[(i * pieces) + j] = Rounded(parameters, offset + (j * m) + i, flow.StepSize);
                }
            }

            values[set] = new LseKernel<float>(increments, new float[m], pieces, 1, width);
        }
    }

    /// <summary>d, features per row.</summary>
    public int InputDimension => flow.InputDimension;

    /// <summary>m, the terminal state's width.</summary>
    public int Width => flow.Width;

    /// <summary>Rows per tile for a batch whose read-out takes at most <paramref name="readoutRows"/> rows at once.</summary>
    public int TileRows(int readoutRows)
    {
        long bytes = sizeof(float) * ((long)InputDimension + (2L * Width) + flow.Shape.Pieces);
        return (int)Math.Clamp(TileBytes / bytes / 8 * 8, 8, Math.Max(8, Math.Min(256, readoutRows)));
    }

    /// <summary>
    /// Transports <paramref name="rows"/> standardised float32 rows (d each, back to back) to their terminal states and
    /// returns them (rows of m, back to back) in the calling thread's buffer, valid until its next call on this thread.
    /// </summary>
    public ReadOnlySpan<float> Transport(ReadOnlySpan<float> standardised, int rows)
    {
        int m = Width;
        Span<float> states = AlignedBuffer<float>.Rent(ref stateScratch, rows * m);
        Start(standardised, rows, states);
        FlowShape shape = flow.Shape;
        if (shape.Steps == 0)
        {
            return states;
        }

        double viscosity = flow.Viscosity;
        Span<float> logits = AlignedBuffer<float>.Rent(ref logitScratch, keys[0].BatchLogitsLength(rows));
        Span<float> weights = AlignedBuffer<float>.Rent(ref weightScratch, (rows * shape.Pieces) + keys[0].Lanes);
        Span<float> velocities = AlignedBuffer<float>.Rent(ref velocityScratch, values[0].BatchLogitsLength(rows));
        int stride = values[0].Columns;
        for (int step = 0; step < shape.Steps; step++)
        {
            int set = shape.SharedControls ? 0 : step;
            keys[set].GibbsWeights(states, rows, viscosity, logits, weights);
            values[set].BatchLogits(weights, rows, velocities);
            for (int row = 0; row < rows; row++)
            {
                Span<float> state = states.Slice(row * m, m);
                TensorPrimitives.Add(state, velocities.Slice(row * stride, m), state);
            }
        }

        return states;
    }

    // z_0 = P x + q, the embedding of x (in double, rounded), or x.
    private void Start(ReadOnlySpan<float> standardised, int rows, Span<float> states)
    {
        int m = Width;
        int d = InputDimension;
        if (lift is not null)
        {
            Span<float> lifted = AlignedBuffer<float>.Rent(ref velocityScratch, lift.BatchLogitsLength(rows));
            lift.BatchLogits(standardised, rows, lifted);
            for (int row = 0; row < rows; row++)
            {
                lifted.Slice(row * lift.Columns, m).CopyTo(states.Slice(row * m, m));
            }
        }
        else if (flow.Shape.Embedding is { } embedding)
        {
            Span<double> wide = AlignedBuffer<double>.Rent(ref embeddingScratch, rows * (d + m));
            TensorPrimitives.ConvertChecked<float, double>(standardised[..(rows * d)], wide[..(rows * d)]);
            Span<double> embedded = wide.Slice(rows * d, rows * m);
            PeriodicEmbedding.Forward(embedding, flow.Parameters[..flow.Shape.LiftLength], wide, d, rows, embedded, m);
            TensorPrimitives.ConvertTruncating<double, float>(embedded, states[..(rows * m)]);
        }
        else
        {
            standardised[..(rows * d)].CopyTo(states);
        }
    }

    private static float[] Rounded(ReadOnlySpan<double> parameters, int offset, int length, double scale)
    {
        var rounded = new float[length];
        for (int i = 0; i < length; i++)
        {
            rounded[i] = Rounded(parameters, offset + i, scale);
        }

        return rounded;
    }

    private static float Rounded(ReadOnlySpan<double> parameters, int index, double scale)
    {
        float rounded = (float)(scale * parameters[index]);
        if (!float.IsFinite(rounded))
        {
            throw new NotSupportedException($"The flow's parameter {index} is {parameters[index]}; {(scale == 1 ? "it" : $"times the step size {scale}")} lies beyond float32's range. Score this model in double.");
        }

        return rounded;
    }
}
