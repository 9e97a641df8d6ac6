using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// The training loss of a residual Gibbs flow followed by the LSE read-out, and its exact gradient by the discrete
/// adjoint (THEORY.md section 9): forward Euler stores the states, the read-out's <see cref="Objective"/> gives its own
/// gradient and the terminal co-state p_L = dL/dz_L (for softmax cross-entropy, the read-out's Jacobian transposed times
/// softmax - one-hot), and the co-state runs backward through the steps (<see cref="FlowPass.Backward"/>).
/// Parameters: the read-out's W (K N x m) and b (K N), then the flow's (<see cref="FlowShape"/> layout), then log eps when
/// it is learned. Rows are split into fixed chunks reduced in chunk order: deterministic for a data set, parameters and
/// thread count. Adam's gradients take the float32 path (FlowObjective.Single.cs) when <see cref="Fused"/> allows it;
/// L-BFGS, a loss alone and `hjml verify` keep this double path.
/// </summary>
internal sealed partial class FlowObjective
{
    private const int MinimumChunkRows = 64;

    private readonly Objective readout;
    private readonly int threads;
    private readonly double regularisation;

    // Reused between calls (one optimiser run calls this from one thread at a time).
    private double[] states = [];
    private double[] gibbs = [];
    private double[] terminal = [];
    private double[] costate = [];
    private double[] scratch = [];
    private double[] accumulators = [];
    private double[] flow = [];
    private EmbeddedObjective<double>? embeddedDouble;
    private EmbeddedObjective<float>? embeddedSingle;

    public FlowObjective(Objective readout, FlowShape shape, double horizon, double flowViscosity, int threads, double regularisation)
    {
        this.readout = readout;
        Shape = shape;
        Horizon = horizon;
        StepSize = horizon / shape.Steps;
        FlowViscosity = flowViscosity;
        this.threads = Math.Max(1, threads);
        this.regularisation = regularisation;
    }

    public FlowShape Shape { get; }

    /// <summary>
    /// The read-out's loss; when set (and eps is not learned), an embedding without steps takes the fused path of
    /// <see cref="EmbeddedObjective{T}"/> (its gradients in float32 when <see cref="ReadoutLoss.SinglePrecision"/>, a loss
    /// alone always in double), and with <see cref="ReadoutLoss.SinglePrecision"/> a flow with steps takes the float32
    /// path for its gradients (FlowObjective.Single.cs): the same function and gradient as the generic path (FlowPass,
    /// then the read-out's <see cref="Objective"/>), which null keeps.
    /// </summary>
    public ReadoutLoss? Fused { get; init; }

    public double Horizon { get; }

    public double StepSize { get; }

    public double FlowViscosity { get; }

    /// <summary>Parameters of the read-out (W then b), where the flow's start.</summary>
    public int ReadoutLength => readout.ParameterCount(false);

    /// <summary>All parameters, log eps included when learned.</summary>
    public int ParameterCount(bool learnViscosity) => ReadoutLength + Shape.ParameterCount + (learnViscosity ? 1 : 0);

    /// <summary>
    /// The weighted mean loss plus lambda/2 (|W|^2 + |flow|^2) and its gradient (same contract as <see cref="Objective.Evaluate"/>).
    /// </summary>
    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient, out double viscosityGradient)
    {
        if (Fused is { LearnViscosity: false } fused && Shape.Steps == 0 && Shape.Embedding is { } embedding)
        {
            return EvaluateEmbedded(fused, embedding, parameters, viscosity, inputs, targets, weights, rows, gradient, out viscosityGradient);
        }

        if (!gradient.IsEmpty && rows > 0 && TakesSinglePath)
        {
            viscosityGradient = 0;
            return EvaluateSingle(Fused!, parameters, viscosity, inputs, targets, weights, rows, gradient);
        }

        return EvaluateDouble(parameters, viscosity, inputs, targets, weights, rows, gradient, out viscosityGradient);
    }

    // FlowPass and the read-out's Objective in double, in chunks of rows (its lambdas' closure is allocated on entry,
    // which the float32 path, called per mini-batch, must not pay).
    private double EvaluateDouble(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient, out double viscosityGradient)
    {
        int m = Shape.Width;
        int stride = Shape.InputDimension + 1;
        int readoutLength = ReadoutLength;
        int flowLength = Shape.ParameterCount;
        bool wantGradient = !gradient.IsEmpty;
        int chunks = Math.Max(1, Math.Min(threads, rows / MinimumChunkRows));
        int chunkRows = (rows + chunks - 1) / chunks;
        Grow(ref states, (long)rows * (Shape.Steps + 1) * m);
        Grow(ref gibbs, (long)rows * Shape.Steps * Shape.Pieces);
        Grow(ref terminal, (long)rows * (m + 1));
        if (wantGradient)
        {
            Grow(ref costate, (long)rows * m);
            Grow(ref scratch, (long)rows * Shape.Pieces);
            Grow(ref accumulators, (long)chunks * flowLength);
        }

        // The chunks run as lambdas, which cannot capture a span: the flow's controls are copied into a reused array.
        Grow(ref flow, flowLength);
        parameters.Slice(readoutLength, flowLength).CopyTo(flow);
        double[] controls = flow;
        double stepSize = StepSize;
        double flowViscosity = FlowViscosity;
        FlowShape shape = Shape;
        double[] stateBuffer = states, gibbsBuffer = gibbs, terminalBuffer = terminal;
        RunChunks(chunks, chunk =>
        {
            (int first, int count) = ChunkRows(chunk, chunkRows, rows);
            if (count == 0)
            {
                return;
            }

            Span<double> chunkStates = stateBuffer.AsSpan(first * (shape.Steps + 1) * m, count * (shape.Steps + 1) * m);
            FlowPass.Forward(shape, controls, stepSize, flowViscosity, inputs.AsSpan(first * stride), stride, count, chunkStates, gibbsBuffer.AsSpan(first * shape.Steps * shape.Pieces, count * shape.Steps * shape.Pieces));

            // The read-out sees [z_L 1], the layout Objective expects.
            for (int row = 0; row < count; row++)
            {
                Span<double> augmented = terminalBuffer.AsSpan((first + row) * (m + 1), m + 1);
                chunkStates.Slice((shape.Steps * count * m) + (row * m), m).CopyTo(augmented);
                augmented[m] = 1.0;
            }
        });

        double loss = readout.Evaluate(parameters[..readoutLength], viscosity, terminal, targets, weights, rows, wantGradient ? gradient[..readoutLength] : default, out viscosityGradient, wantGradient ? costate : null);
        ReadOnlySpan<double> flowParameters = parameters.Slice(readoutLength, flowLength);
        loss += 0.5 * regularisation * TensorPrimitives.Dot(flowParameters, flowParameters);
        if (!wantGradient)
        {
            return loss;
        }

        double[] costateBuffer = costate, scratchBuffer = scratch, accumulatorBuffer = accumulators;
        Array.Clear(accumulatorBuffer, 0, chunks * flowLength);
        RunChunks(chunks, chunk =>
        {
            (int first, int count) = ChunkRows(chunk, chunkRows, rows);
            if (count == 0)
            {
                return;
            }

            FlowPass.Backward(
                shape,
                controls,
                stepSize,
                flowViscosity,
                inputs.AsSpan(first * stride),
                stride,
                count,
                stateBuffer.AsSpan(first * (shape.Steps + 1) * m, count * (shape.Steps + 1) * m),
                gibbsBuffer.AsSpan(first * shape.Steps * shape.Pieces, count * shape.Steps * shape.Pieces),
                costateBuffer.AsSpan(first * m, count * m),
                scratchBuffer.AsSpan(first * shape.Pieces, count * shape.Pieces),
                accumulatorBuffer.AsSpan(chunk * flowLength, flowLength));
        });

        // Reduce in chunk order: deterministic for a given thread count.
        Span<double> flowGradient = gradient.Slice(readoutLength, flowLength);
        accumulators.AsSpan(0, flowLength).CopyTo(flowGradient);
        for (int chunk = 1; chunk < chunks; chunk++)
        {
            TensorPrimitives.Add(flowGradient, accumulators.AsSpan(chunk * flowLength, flowLength), flowGradient);
        }

        TensorPrimitives.MultiplyAdd(flowParameters, regularisation, flowGradient, flowGradient);
        return loss;
    }

    // The embedding alone before the read-out, fused; the embedding's L2 penalty added here as on the generic path.
    private double EvaluateEmbedded(ReadoutLoss fused, Embeddings.EmbeddingShape embedding, ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient, out double viscosityGradient)
    {
        int readoutLength = ReadoutLength;
        int flowLength = Shape.ParameterCount;
        bool wantGradient = !gradient.IsEmpty;
        ReadOnlySpan<double> readoutParameters = parameters[..readoutLength];
        ReadOnlySpan<double> flowParameters = parameters.Slice(readoutLength, flowLength);
        Span<double> readoutGradient = wantGradient ? gradient[..readoutLength] : default;
        Span<double> flowGradient = wantGradient ? gradient.Slice(readoutLength, flowLength) : default;
        // The loss alone (validation, which early stopping compares between epochs) in double; Adam's gradients in float32.
        double loss = fused.SinglePrecision && wantGradient
            ? (embeddedSingle ??= new EmbeddedObjective<float>(fused, embedding, threads)).Evaluate(readoutParameters, flowParameters, viscosity, inputs, targets, weights, rows, readoutGradient, flowGradient)
            : (embeddedDouble ??= new EmbeddedObjective<double>(fused, embedding, threads)).Evaluate(readoutParameters, flowParameters, viscosity, inputs, targets, weights, rows, readoutGradient, flowGradient);
        loss += 0.5 * regularisation * TensorPrimitives.Dot(flowParameters, flowParameters);
        if (wantGradient)
        {
            TensorPrimitives.MultiplyAdd(flowParameters, regularisation, flowGradient, flowGradient);
        }

        viscosityGradient = 0;
        return loss;
    }

    private static (int First, int Count) ChunkRows(int chunk, int chunkRows, int rows)
    {
        int first = chunk * chunkRows;
        return (first, Math.Max(0, Math.Min(chunkRows, rows - first)));
    }

    private void RunChunks(int chunks, Action<int> body)
    {
        if (chunks == 1)
        {
            body(0);
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
    }

    private static void Grow(ref double[] buffer, long length)
    {
        if (length > Array.MaxLength)
        {
            throw new InsufficientMemoryException($"A flow training pass needs {length} doubles in one buffer, more than an array holds.");
        }

        if (buffer.Length < length)
        {
            buffer = new double[length];
        }
    }
}
