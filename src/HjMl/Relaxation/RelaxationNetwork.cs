using System.Globalization;
using System.Numerics.Tensors;

namespace HjMl.Relaxation;

/// <summary>
/// A trained relaxation network (THEORY.md section 10): L steps z_{k+1} = (1 - omega) z_k + omega sigma(W_k z_k - b_k)
/// from z_0 = x, with W_k dense or an advection–diffusion–reaction stencil given by its moments, then a read-out.
/// It is the residual Euler form z_k + h v(z_k) of section 9 with step h = omega and velocity v = sigma(W z - b) - z:
/// omega = 1 is the usual layer, omega &gt; 1 over-relaxes. Immutable and thread-safe.
/// </summary>
public sealed class RelaxationNetwork
{
    private readonly double[] parameters;

    /// <summary>Assembles a network from its flat parameters (<see cref="RelaxationShape"/> layout); the trainer calls this.</summary>
    /// <exception cref="ArgumentException">omega, eps or a parameter is out of range (the message names it).</exception>
    public RelaxationNetwork(RelaxationShape shape, RelaxationActivation activation, double viscosity, double relaxationFactor, double[] parameters)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(parameters);
        RelaxationTrainerOptions.RequireRelaxationFactor(relaxationFactor);
        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentException($"Option Activation is {activation}, not a defined activation.", nameof(activation));
        }

        if (activation == RelaxationActivation.Softplus)
        {
            Guard.Positive(viscosity, nameof(viscosity), "The softplus viscosity eps");
        }

        if (parameters.Length != shape.ParameterCount)
        {
            throw new ArgumentException($"The network has {parameters.Length} parameters; its shape ({shape.Description}) needs {shape.ParameterCount}.", nameof(parameters));
        }

        Guard.Finite<double>(parameters, nameof(parameters));
        Shape = shape;
        Activation = activation;
        Viscosity = viscosity;
        RelaxationFactor = relaxationFactor;
        this.parameters = parameters;
    }

    /// <summary>The sizes and layout.</summary>
    public RelaxationShape Shape { get; }

    /// <summary>sigma.</summary>
    public RelaxationActivation Activation { get; }

    /// <summary>eps of softplus (unused by the other activations).</summary>
    public double Viscosity { get; }

    /// <summary>omega = gamma dt, the relaxation factor (the Euler step h of section 9).</summary>
    public double RelaxationFactor { get; }

    /// <summary>The flat parameters.</summary>
    public ReadOnlySpan<double> Parameters => parameters;

    /// <summary>N, the values per input row.</summary>
    public int InputDimension => Shape.InputDimension;

    /// <summary>The values per output row.</summary>
    public int OutputDimension => Shape.Outputs;

    /// <summary>The moments of ADR step <paramref name="layer"/>: groups of [M0, M1 per axis, M2 per axis].</summary>
    /// <exception cref="InvalidOperationException">The steps are dense.</exception>
    public ReadOnlySpan<double> Moments(int layer)
    {
        if (Shape.Mixing == RelaxationMixing.Dense)
        {
            throw new InvalidOperationException("The network's steps are dense; only ADR steps have moments.");
        }

        Guard.Index(layer, Shape.Depth, nameof(layer), "steps");
        return parameters.AsSpan(Shape.LayerOffset(layer), Shape.LayerLength);
    }

    /// <summary>
    /// The moments (M0, M1, M2) of the whole step z -&gt; (1 - omega) z + omega W z of a linear (identity) ADR layer at
    /// site <paramref name="site"/> along axis <paramref name="axis"/>: M0' = 1 - omega + omega M0, M1' = omega M1,
    /// M2' = omega M2 [derived: THEORY.md section 10, step moments as dynamics]; these are the moments a recovery reads.
    /// </summary>
    public (double Reaction, double Advection, double Diffusion) StepMoments(int layer, int site, int axis = 0)
    {
        ReadOnlySpan<double> moments = Moments(layer);
        AdrStencil stencil = Shape.Stencil!;
        Guard.Index(site, Shape.InputDimension, nameof(site), "sites");
        Guard.Index(axis, stencil.Dimensions, nameof(axis), "axes");
        int g = stencil.GroupOf(site) * stencil.MomentsPerGroup;
        double omega = RelaxationFactor;
        return (1 - omega + (omega * moments[g]), omega * moments[g + 1 + axis], omega * moments[g + 1 + stencil.Dimensions + axis]);
    }

    /// <summary>Writes the terminal state z_L of <paramref name="input"/> (N values) to <paramref name="terminal"/> (N).</summary>
    /// <exception cref="InvalidOperationException">The steps diverge on this input (a state leaves the finite numbers).</exception>
    public void Transport(ReadOnlySpan<double> input, Span<double> terminal)
    {
        Guard.Length(input, InputDimension, nameof(input), "the network");
        Guard.AtLeast(terminal, InputDimension, nameof(terminal), "the terminal state");
        Guard.Finite(input, nameof(input));
        Transport(input, terminal, new double[(Shape.Depth + 1) * InputDimension], new double[Math.Max(1, Shape.Depth) * InputDimension]);
    }

    /// <summary>The states and pre-activations one row's transport needs, for callers that transport many rows one by one.</summary>
    internal (double[] States, double[] Arguments) TransportWorkspace() => (new double[(Shape.Depth + 1) * InputDimension], new double[Math.Max(1, Shape.Depth) * InputDimension]);

    /// <summary><see cref="Transport(ReadOnlySpan{double}, Span{double})"/> in the caller's workspace; the input is checked finite by the caller.</summary>
    internal void Transport(ReadOnlySpan<double> input, Span<double> terminal, double[] states, double[] arguments)
    {
        int n = InputDimension;
        RelaxationPass.Forward(Shape, parameters, Activation, Viscosity, RelaxationFactor, input, 1, states, arguments);
        ReadOnlySpan<double> last = states.AsSpan(Shape.Depth * n, n);
        int bad = TensorPrimitives.IndexOfMaxMagnitude(last);
        if (bad >= 0 && !double.IsFinite(last[bad]))
        {
            throw new InvalidOperationException($"The terminal state is not finite at site {bad}: the relaxation steps diverge on this input (omega = {RelaxationFactor}).");
        }

        last.CopyTo(terminal);
    }

    /// <summary>
    /// Writes the outputs of rows of N inputs (row-major) to <paramref name="outputs"/> (K a row): class probabilities,
    /// linear outputs, or the terminal state.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not hold whole rows, or an input is not finite.</exception>
    public void PredictBatch(ReadOnlySpan<double> inputs, Span<double> outputs)
    {
        int n = InputDimension;
        int rows = inputs.Length / n;
        if (inputs.Length != rows * n || outputs.Length < rows * OutputDimension)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"inputs has {inputs.Length} values ({n} a row) and outputs room for {outputs.Length} ({OutputDimension} a row); they must hold whole rows of the same count."), nameof(outputs));
        }

        Guard.Finite(inputs, nameof(inputs));
        const int TileRows = 256;
        int tile = Math.Max(1, Math.Min(TileRows, rows));
        var states = new double[(Shape.Depth + 1) * tile * n];
        var arguments = new double[Math.Max(1, Shape.Depth) * tile * n];
        for (int first = 0; first < rows; first += tile)
        {
            int count = Math.Min(tile, rows - first);
            RelaxationPass.Forward(Shape, parameters, Activation, Viscosity, RelaxationFactor, inputs.Slice(first * n, count * n), count, states, arguments);
            ReadoutPass.Outputs(Shape, parameters, states.AsSpan(Shape.Depth * count * n, count * n), count, outputs.Slice(first * OutputDimension, count * OutputDimension));
        }

        int bad = TensorPrimitives.IndexOfMaxMagnitude<double>(outputs[..(rows * OutputDimension)]);
        if (bad >= 0 && !double.IsFinite(outputs[bad]))
        {
            throw new InvalidOperationException($"Row {(bad / OutputDimension) + 1} gives a non-finite output: the relaxation steps diverge on it (omega = {RelaxationFactor}).");
        }
    }

    /// <summary>The outputs of one row (see <see cref="PredictBatch"/>).</summary>
    public void Predict(ReadOnlySpan<double> input, Span<double> output)
    {
        Guard.Length(input, InputDimension, nameof(input), "the network");
        PredictBatch(input, output);
    }
}
