using System.Buffers;
using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.Numerics;

namespace HjMl.Flows;

/// <summary>
/// A trained residual Gibbs flow: depth as time (THEORY.md section 9). The state starts at z_0 = P x + q (or x) and takes
/// L explicit Euler steps z_{k+1} = z_k + h v_k(z_k), h = T / L, of the characteristics dz/dt = v(z, t), whose velocity
/// is a Gibbs expectation over step k's support points: v_k(z) = sum_j pi_j(z) u_j, pi = softmax((a_j . z + c_j) / eps)
/// (attention with learned keys a_j and values u_j, section 8). With u_j = a_j the velocity is the gradient of an LSE
/// layer and dv/dz = Cov_pi(a) / eps, its exact Hessian (section 3); in general dv/dz = Cov_pi(u, a) / eps [derived].
/// Immutable and thread-safe; single-row transport allocates nothing after a thread's first call.
/// </summary>
public sealed class GibbsFlow
{
    [ThreadStatic]
    private static double[]? rowWeights;

    private readonly double[] parameters;

    /// <summary>Assembles a flow from its flat parameters (<see cref="FlowShape"/> layout); trainers and the model file reader call this.</summary>
    /// <exception cref="ArgumentException">A size, the horizon, the viscosity or a parameter is out of range (the message names it).</exception>
    public GibbsFlow(FlowShape shape, double horizon, double viscosity, double[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        shape.Validate();
        if (!(horizon > 0) || !double.IsFinite(horizon))
        {
            throw new ArgumentException($"The flow's horizon T is {horizon}; it must be finite and > 0.", nameof(horizon));
        }

        if (!(viscosity > 0) || !double.IsFinite(viscosity))
        {
            throw new ArgumentException($"The flow's viscosity eps is {viscosity}; it must be finite and > 0.", nameof(viscosity));
        }

        if (parameters.Length != shape.ParameterCount)
        {
            throw new ArgumentException($"The flow has {parameters.Length} parameters; its shape needs {shape.ParameterCount}.", nameof(parameters));
        }

        int bad = TensorPrimitives.IndexOfMaxMagnitude<double>(parameters);
        if (bad >= 0 && !double.IsFinite(parameters[bad]))
        {
            throw new ArgumentException($"The flow's parameter {bad} is {parameters[bad]}; every parameter must be finite.", nameof(parameters));
        }

        Shape = shape;
        Horizon = horizon;
        Viscosity = viscosity;
        this.parameters = parameters;
    }

    /// <summary>The flow's sizes.</summary>
    public FlowShape Shape { get; }

    /// <summary>T, the flow's time horizon.</summary>
    public double Horizon { get; }

    /// <summary>h = T / L (0 for an embedding without steps).</summary>
    public double StepSize => Shape.Steps == 0 ? 0 : Horizon / Shape.Steps;

    /// <summary>eps of the flow's Gibbs weights.</summary>
    public double Viscosity { get; }

    /// <summary>d, features per row.</summary>
    public int InputDimension => Shape.InputDimension;

    /// <summary>m, the terminal state's width.</summary>
    public int Width => Shape.Width;

    /// <summary>The flat parameters (<see cref="FlowShape"/> layout).</summary>
    public ReadOnlySpan<double> Parameters => parameters;

    /// <summary>The keys a_j (J x m) of a step.</summary>
    public ReadOnlySpan<double> Keys(int step) => parameters.AsSpan(Shape.KeysOffset(CheckStep(step)), Shape.Pieces * Width);

    /// <summary>The offsets c_j (J) of a step.</summary>
    public ReadOnlySpan<double> Offsets(int step) => parameters.AsSpan(Shape.OffsetsOffset(CheckStep(step)), Shape.Pieces);

    /// <summary>The values u_j (J x m) of a step.</summary>
    public ReadOnlySpan<double> Values(int step) => parameters.AsSpan(Shape.ValuesOffset(CheckStep(step)), Shape.Pieces * Width);

    /// <summary>
    /// Transports one standardised row to its terminal state z_L (length m). Inner entry: the model validates the row.
    /// </summary>
    public void Transport(ReadOnlySpan<double> standardised, Span<double> terminal)
    {
        int m = Width;
        int pieces = Shape.Pieces;
        Start(standardised, terminal[..m]);
        double[] weights = rowWeights is { } buffer && buffer.Length >= pieces ? buffer : (rowWeights = new double[pieces]);
        for (int step = 0; step < Shape.Steps; step++)
        {
            Velocity(step, terminal[..m], weights.AsSpan(0, pieces), terminal[..m], StepSize);
        }
    }

    /// <summary>
    /// Writes every state z_0 .. z_L of one standardised row to <paramref name="states"/> ((L + 1) x m), the trajectory
    /// that explanations integrate along.
    /// </summary>
    public void Trajectory(ReadOnlySpan<double> standardised, Span<double> states)
    {
        int m = Width;
        if (states.Length < (Shape.Steps + 1) * m)
        {
            throw new ArgumentException($"states has length {states.Length}; a flow of {Shape.Steps} steps of width {m} needs {(Shape.Steps + 1) * m}.", nameof(states));
        }

        Start(standardised, states[..m]);
        double[] weights = ArrayPool<double>.Shared.Rent(Shape.Pieces);
        try
        {
            for (int step = 0; step < Shape.Steps; step++)
            {
                states.Slice(step * m, m).CopyTo(states.Slice((step + 1) * m, m));
                Velocity(step, states.Slice(step * m, m), weights.AsSpan(0, Shape.Pieces), states.Slice((step + 1) * m, m), StepSize);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(weights);
        }
    }

    /// <summary>Transports rows of standardised features (row-major, d each) to their terminal states (m each).</summary>
    public void TransportBatch(ReadOnlySpan<double> standardised, Span<double> terminal)
    {
        int d = InputDimension;
        int m = Width;
        int rows = standardised.Length / d;
        if (standardised.Length != rows * d || terminal.Length < rows * m)
        {
            throw new ArgumentException($"standardised has {standardised.Length} values ({d} per row) and terminal room for {terminal.Length} ({m} per row); they must hold whole rows of the same count.", nameof(terminal));
        }

        TransportRows(standardised, d, rows, terminal, m);
    }

    /// <summary>
    /// Transports <paramref name="rows"/> rows read <paramref name="inputStride"/> apart to terminal states written
    /// <paramref name="terminalStride"/> apart (room for a trailing constant, as the read-out's training rows carry).
    /// </summary>
    internal void TransportRows(ReadOnlySpan<double> inputs, int inputStride, int rows, Span<double> terminal, int terminalStride)
    {
        const int TileRows = 256;
        int m = Width;
        int tile = Math.Min(TileRows, Math.Max(1, rows));
        double[] states = ArrayPool<double>.Shared.Rent((Shape.Steps + 1) * tile * m);
        double[] gibbs = ArrayPool<double>.Shared.Rent(Shape.Steps * tile * Shape.Pieces);
        try
        {
            for (int first = 0; first < rows; first += tile)
            {
                int count = Math.Min(tile, rows - first);
                FlowPass.Forward(Shape, parameters, StepSize, Viscosity, inputs[(first * inputStride)..], inputStride, count, states, gibbs);
                for (int row = 0; row < count; row++)
                {
                    states.AsSpan((Shape.Steps * count * m) + (row * m), m).CopyTo(terminal.Slice((first + row) * terminalStride, m));
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(states);
            ArrayPool<double>.Shared.Return(gibbs);
        }
    }

    /// <summary>
    /// A proven bound on the flow's Lipschitz constant in the Euclidean norm: ||P||_F times the product over steps of
    /// (1 + h ||Cov_pi(u, a)||_2 / eps), with ||Cov_pi(u, a)||_2 &lt;= (D_u / 2)(D_a / 2) for every Gibbs measure pi, D the
    /// diameter of the values' and keys' point sets (Popoviciu's inequality per direction, Cauchy–Schwarz across) [derived].
    /// </summary>
    public double LipschitzBound()
    {
        double bound = Shape.Lifted ? TensorPrimitives.Norm(parameters.AsSpan(0, Width * InputDimension))
            : Shape.Embedding is { } embedding ? PeriodicEmbedding.LipschitzBound(embedding, parameters.AsSpan(0, Shape.LiftLength))
            : 1.0;
        return bound * StepsLipschitzBound();
    }

    /// <summary>The steps' factor of <see cref="LipschitzBound"/>: prod_k (1 + h D_u D_a / (4 eps)), 1 without steps (z_0 -&gt; z_L).</summary>
    internal double StepsLipschitzBound()
    {
        double bound = 1;
        for (int step = 0; step < Shape.Steps; step++)
        {
            double keys = Diameter(Keys(step), Shape.Pieces, Width);
            double values = Diameter(Values(step), Shape.Pieces, Width);
            bound *= 1 + (StepSize * keys * values / (4 * Viscosity));
        }

        return bound;
    }

    // The diameter of J points of width m: the largest pairwise distance.
    private static double Diameter(ReadOnlySpan<double> points, int count, int width)
    {
        double largest = 0;
        for (int i = 0; i < count; i++)
        {
            for (int j = i + 1; j < count; j++)
            {
                largest = Math.Max(largest, TensorPrimitives.Distance(points.Slice(i * width, width), points.Slice(j * width, width)));
            }
        }

        return largest;
    }

    // z_0 = P x + q, the embedding of x, or x.
    private void Start(ReadOnlySpan<double> standardised, Span<double> initial)
    {
        int d = InputDimension;
        if (Shape.Embedding is { } embedding)
        {
            PeriodicEmbedding.Forward(embedding, parameters.AsSpan(0, Shape.LiftLength), standardised[..d], initial);
            return;
        }

        if (!Shape.Lifted)
        {
            standardised[..d].CopyTo(initial);
            return;
        }

        ReadOnlySpan<double> lift = parameters.AsSpan(0, Width * d);
        for (int i = 0; i < Width; i++)
        {
            initial[i] = parameters[(Width * d) + i] + TensorPrimitives.Dot(lift.Slice(i * d, d), standardised[..d]);
        }
    }

    // destination += scale * v_k(state), v_k(z) = sum_j pi_j(z) u_j (state and destination may be the same span).
    private void Velocity(int step, ReadOnlySpan<double> state, Span<double> weights, Span<double> destination, double scale)
    {
        int m = Width;
        int pieces = Shape.Pieces;
        ReadOnlySpan<double> keys = Keys(step);
        ReadOnlySpan<double> offsets = Offsets(step);
        ReadOnlySpan<double> values = Values(step);
        for (int j = 0; j < pieces; j++)
        {
            weights[j] = TensorPrimitives.Dot(keys.Slice(j * m, m), state) + offsets[j];
        }

        LogSumExp.GibbsWeights<double>(weights, Viscosity, weights);
        for (int j = 0; j < pieces; j++)
        {
            TensorPrimitives.MultiplyAdd(values.Slice(j * m, m), scale * weights[j], destination, destination);
        }
    }

    private int CheckStep(int step)
    {
        if ((uint)step >= (uint)Shape.Steps)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, $"The flow has steps 0 to {Shape.Steps - 1}.");
        }

        return step;
    }
}
