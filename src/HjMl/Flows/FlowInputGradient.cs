using HjMl.LinearAlgebra;

namespace HjMl.Flows;

/// <summary>
/// Gradients with respect to a flow's standardised input of functions of its terminal state, for a block of rows at once,
/// by the discrete adjoint (THEORY.md section 9): <see cref="FlowPass.Forward"/> stores the states, the caller writes
/// p_L = dF/dz_L per row (<see cref="Costate"/>), <see cref="FlowPass.Backward"/> carries it to p_0 = dF/dz_0, and the
/// lift's transpose gives dF/dx = P^T p_0 (the embedding's adjoint when embedded, p_0 unlifted). The parameter gradient Backward also accumulates goes to a
/// buffer that is never read. Holds every buffer, so that repeated use allocates nothing; not thread-safe.
/// </summary>
internal sealed class FlowInputGradient
{
    private readonly GibbsFlow flow;
    private readonly double[] inputs;
    private readonly double[] states;
    private readonly double[] gibbs;
    private readonly double[] costate;
    private readonly double[] scratch;
    private readonly double[] discarded;
    private int rows;

    /// <summary>Buffers for up to <paramref name="capacity"/> rows through <paramref name="flow"/>.</summary>
    public FlowInputGradient(GibbsFlow flow, int capacity)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        FlowShape shape = flow.Shape;
        this.flow = flow;
        Capacity = capacity;
        inputs = new double[capacity * shape.InputDimension];
        states = new double[(shape.Steps + 1) * capacity * shape.Width];
        gibbs = new double[shape.Steps * capacity * shape.Pieces];
        costate = new double[capacity * shape.Width];
        scratch = new double[capacity * shape.Pieces];
        discarded = new double[shape.ParameterCount];
    }

    /// <summary>The most rows one pass takes.</summary>
    public int Capacity { get; }

    /// <summary>Rows of d standardised inputs, written by the caller before <see cref="Forward"/>.</summary>
    public Span<double> Inputs => inputs;

    /// <summary>Runs the flow on the first <paramref name="count"/> rows of <see cref="Inputs"/> and keeps every state.</summary>
    public void Forward(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Capacity);
        rows = count;
        FlowPass.Forward(flow.Shape, flow.Parameters, flow.StepSize, flow.Viscosity, inputs, flow.InputDimension, count, states, gibbs);
    }

    /// <summary>z_L of row <paramref name="row"/> of the last <see cref="Forward"/> (m values).</summary>
    public ReadOnlySpan<double> Terminal(int row)
    {
        int m = flow.Width;
        return states.AsSpan((flow.Shape.Steps * rows * m) + (row * m), m);
    }

    /// <summary>Where the caller writes dF/dz_L of row <paramref name="row"/> (m values) before <see cref="Backward"/>.</summary>
    public Span<double> Costate(int row) => costate.AsSpan(row * flow.Width, flow.Width);

    /// <summary>
    /// Writes dF/dx (d values per row, row-major) of every row of the last <see cref="Forward"/> to
    /// <paramref name="gradients"/>, from the co-states written since; the co-states are consumed. The stored states
    /// stay, so another set of co-states can follow.
    /// </summary>
    public void Backward(Span<double> gradients)
    {
        FlowShape shape = flow.Shape;
        int d = shape.InputDimension;
        int m = shape.Width;
        // An embedded start writes dF/dx in the same pass as its (discarded) parameter gradient.
        FlowPass.Backward(shape, flow.Parameters, flow.StepSize, flow.Viscosity, inputs, d, rows, states, gibbs, costate, scratch, discarded, shape.Embedding is null ? default : gradients);
        if (shape.Lifted)
        {
            // dF/dx = p_0 P (rows x m times m x d): the lift z_0 = P x + q transposed.
            MatrixProducts.Current.Multiply(Transpose.No, Transpose.No, rows, d, m, 1.0, costate, m, flow.Parameters[..(m * d)], d, 0.0, gradients, d);
            return;
        }

        if (shape.Embedding is not null)
        {
            return;
        }

        costate.AsSpan(0, rows * m).CopyTo(gradients);
    }
}
