using System.Globalization;

namespace HjMl.Relaxation;

/// <summary>How a relaxation layer mixes the sites: the W of sigma(W z - b).</summary>
public enum RelaxationMixing
{
    /// <summary>A dense N x N matrix and a bias: N^2 + N parameters a layer.</summary>
    Dense,

    /// <summary>An ADR stencil with one set of moments for the whole grid: 3 parameters a layer on a line, 5 on an image.</summary>
    HomogeneousAdr,

    /// <summary>An ADR stencil with moments per site (or per tile x tile patch): 3 per site on a line, 5 on an image.</summary>
    HeterogeneousAdr,
}

/// <summary>What a relaxation network outputs after its last step.</summary>
public enum RelaxationReadout
{
    /// <summary>The terminal state z_L itself (N values), fitted by squared error.</summary>
    State,

    /// <summary>K linear outputs V z_L + c, fitted by squared error.</summary>
    Linear,

    /// <summary>K class probabilities softmax(V z_L + c), fitted by cross-entropy.</summary>
    Softmax,
}

/// <summary>
/// The sizes and parameter layout of a relaxation network: L steps on N sites, each step's mixing parameters in turn
/// (dense: W row-major then b; ADR: the moment groups of <see cref="AdrStencil"/>), then the read-out's V (K x N) and c (K).
/// </summary>
public sealed class RelaxationShape
{
    private readonly AdrStencil? stencil;

    /// <summary>Creates and checks a shape; every message names the value at fault.</summary>
    /// <param name="inputDimension">N, the sites (features) per row.</param>
    /// <param name="depth">L, the relaxation steps (0 for the read-out alone).</param>
    /// <param name="mixing">Dense or ADR steps.</param>
    /// <param name="grid">The lattice of the features, needed by ADR steps (null: a line of N sites).</param>
    /// <param name="momentTile">For <see cref="RelaxationMixing.HeterogeneousAdr"/>: the side of the patch sharing one set of moments (1: per site).</param>
    /// <param name="readout">What the network outputs.</param>
    /// <param name="outputs">K, the read-out's outputs or classes (ignored for <see cref="RelaxationReadout.State"/>).</param>
    /// <exception cref="ArgumentException">A size is out of range or the grid does not fit N.</exception>
    public RelaxationShape(int inputDimension, int depth, RelaxationMixing mixing, GridShape? grid, int momentTile, RelaxationReadout readout, int outputs)
    {
        if (inputDimension < 1)
        {
            throw new ArgumentException($"The input dimension is {inputDimension}; a relaxation network needs at least one site.", nameof(inputDimension));
        }

        if (depth < 0)
        {
            throw new ArgumentException($"Option Depth is {depth}; it must be >= 0 (the number of relaxation steps).", nameof(depth));
        }

        if (!Enum.IsDefined(mixing) || !Enum.IsDefined(readout))
        {
            throw new ArgumentException($"Mixing {mixing} or read-out {readout} is not a defined value.", nameof(mixing));
        }

        if (readout != RelaxationReadout.State && outputs < (readout == RelaxationReadout.Softmax ? 2 : 1))
        {
            throw new ArgumentException($"The read-out has {outputs} outputs; a {readout} read-out needs at least {(readout == RelaxationReadout.Softmax ? 2 : 1)}.", nameof(outputs));
        }

        if (mixing == RelaxationMixing.Dense && (long)inputDimension * (inputDimension + 1) * depth > Array.MaxLength)
        {
            throw new ArgumentException($"Dense steps on {inputDimension} sites need {(long)inputDimension * (inputDimension + 1) * depth} parameters, more than an array holds.", nameof(inputDimension));
        }

        GridShape lattice = grid ?? GridShape.Line(inputDimension);
        lattice.RequireLength(inputDimension, "Grid", "the feature vector");
        if (mixing == RelaxationMixing.HeterogeneousAdr && momentTile < 1)
        {
            throw new ArgumentException($"Option MomentTile is {momentTile}; it must be >= 1 (1: moments per site, s: per s x s patch).", nameof(momentTile));
        }

        InputDimension = inputDimension;
        Depth = depth;
        Mixing = mixing;
        Grid = lattice;
        MomentTile = mixing == RelaxationMixing.HeterogeneousAdr ? momentTile : 0;
        Readout = readout;
        Outputs = readout == RelaxationReadout.State ? inputDimension : outputs;
        if (mixing != RelaxationMixing.Dense)
        {
            stencil = new AdrStencil(lattice, MomentTile);
        }

        LayerLength = mixing == RelaxationMixing.Dense ? inputDimension * (inputDimension + 1) : stencil!.ParameterCount;
        ReadoutLength = readout == RelaxationReadout.State ? 0 : (Outputs * inputDimension) + Outputs;
        ParameterCount = checked((Depth * LayerLength) + ReadoutLength);
    }

    /// <summary>N, the sites.</summary>
    public int InputDimension { get; }

    /// <summary>L, the relaxation steps.</summary>
    public int Depth { get; }

    /// <summary>How the steps mix the sites.</summary>
    public RelaxationMixing Mixing { get; }

    /// <summary>The lattice of the sites.</summary>
    public GridShape Grid { get; }

    /// <summary>The side of a moment patch: 0 for homogeneous or dense steps.</summary>
    public int MomentTile { get; }

    /// <summary>What the network outputs.</summary>
    public RelaxationReadout Readout { get; }

    /// <summary>The width of the output: K, or N for <see cref="RelaxationReadout.State"/>.</summary>
    public int Outputs { get; }

    /// <summary>Parameters of one step.</summary>
    public int LayerLength { get; }

    /// <summary>Parameters of the read-out.</summary>
    public int ReadoutLength { get; }

    /// <summary>All parameters.</summary>
    public int ParameterCount { get; }

    /// <summary>Parameters of the L steps together (what the ADR parameterisation reduces).</summary>
    public int MixingParameterCount => Depth * LayerLength;

    /// <summary>A short description, e.g. "3 heterogeneous ADR steps on 28 x 28 (tile 2)".</summary>
    public string Description => Mixing switch
    {
        RelaxationMixing.Dense => string.Create(CultureInfo.InvariantCulture, $"{Depth} dense steps on {InputDimension} sites"),
        RelaxationMixing.HomogeneousAdr => string.Create(CultureInfo.InvariantCulture, $"{Depth} homogeneous ADR steps on {Grid}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Depth} heterogeneous ADR steps on {Grid} (tile {MomentTile})"),
    };

    internal AdrStencil? Stencil => stencil;

    /// <summary>Where step <paramref name="layer"/>'s parameters start.</summary>
    internal int LayerOffset(int layer) => layer * LayerLength;

    /// <summary>Where the read-out's V starts (c follows it).</summary>
    internal int ReadoutOffset => Depth * LayerLength;
}
