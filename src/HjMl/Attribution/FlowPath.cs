using System.Globalization;
using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.Flows;

namespace HjMl.Attribution;

/// <summary>
/// An explanation's buffers for the path through a flow (THEORY.md section 9): the standardised input, the quadrature's
/// points on the straight path from the training means, the flow's adjoint buffers for all of them at once, the
/// gradients, and the path means of two heads' gradients. With a periodic embedding the path runs in the embedding's
/// output, from z_0 of the training means to z_0 of the row, through the flow's steps alone (see
/// <see cref="Embedded"/>). Not thread-safe: one per <see cref="Explanation"/>.
/// </summary>
internal sealed class FlowPath
{
    private readonly double[] input;
    private readonly double[] gradients;
    private readonly double[] firstMean;
    private readonly double[] secondMean;
    private readonly double[]? points;
    private readonly double[]? baseline;
    private readonly double[]? change;
    private readonly double[]? coordinateContributions;

    public FlowPath(GibbsFlow flow)
    {
        int d = flow.InputDimension;
        int count = ModelExplainer.Quadrature.Count;
        FlowShape shape = flow.Shape;
        Embedding = shape.Embedding;
        int coordinates = d;
        if (Embedding is { } embedding)
        {
            // The steps alone, as a flow of width m on z_0 (none at depth 0: the read-out reads z_0).
            int m = shape.Width;
            coordinates = m;
            Adjoint = shape.Steps == 0 ? null : new FlowInputGradient(new GibbsFlow(new FlowShape(m, m, shape.Steps, shape.Pieces, false, shape.SharedControls), flow.Horizon, flow.Viscosity, flow.Parameters[shape.LiftLength..].ToArray()), count);
            points = shape.Steps == 0 ? new double[count * m] : null;
            baseline = new double[m];
            PeriodicEmbedding.Forward(embedding, flow.Parameters[..shape.LiftLength], new double[d], baseline);
            change = new double[m];
            coordinateContributions = new double[m];
        }
        else
        {
            Adjoint = new FlowInputGradient(flow, count);
        }

        input = new double[d];
        gradients = new double[count * coordinates];
        firstMean = new double[coordinates];
        secondMean = new double[coordinates];
        CoordinateNames = [.. Enumerable.Range(0, flow.Width).Select(i => string.Create(CultureInfo.InvariantCulture, $"z[{i}]"))];
    }

    /// <summary>
    /// The flow's adjoint, sized for every quadrature node: from the standardised input, or with an embedding from z_0
    /// through the steps alone (null at depth 0).
    /// </summary>
    public FlowInputGradient? Adjoint { get; }

    /// <summary>The flow's periodic embedding, or null.</summary>
    public EmbeddingShape? Embedding { get; }

    /// <summary>Whether the path runs in the embedding's output z_0 rather than in the standardised input.</summary>
    public bool Embedded => Embedding is not null;

    /// <summary>The row's standardised input z_0 (d).</summary>
    public Span<double> Input => input;

    /// <summary>Gradients, one row per quadrature node (d, or m when <see cref="Embedded"/>).</summary>
    public Span<double> Gradients => gradients;

    /// <summary>The path mean of the first head's gradient.</summary>
    public Span<double> FirstMean => firstMean;

    /// <summary>The path mean of the second head's gradient.</summary>
    public Span<double> SecondMean => secondMean;

    /// <summary>At depth 0 with an embedding, the quadrature's points in z_0 (one row of m per node).</summary>
    public Span<double> Points => points;

    /// <summary>z_0 of the training means (m), the embedded path's start.</summary>
    public ReadOnlySpan<double> Baseline => baseline;

    /// <summary>z_0(row) - z_0(training means) (m), the embedded path's direction, set by <see cref="SetEmbeddedRow"/>.</summary>
    public ReadOnlySpan<double> Change => change;

    /// <summary>Per z_0 coordinate, its contribution before <see cref="Group"/> credits it to its feature.</summary>
    public Span<double> CoordinateContributions => coordinateContributions;

    /// <summary>"z[0]" .. "z[m-1]": the terminal coordinates the read-out's decompositions run over.</summary>
    public string[] CoordinateNames { get; }

    /// <summary>Embeds <see cref="Input"/> and sets <see cref="Change"/>.</summary>
    public void SetEmbeddedRow(GibbsFlow flow)
    {
        PeriodicEmbedding.Forward(Embedding!, flow.Parameters[..flow.Shape.LiftLength], input, change);
        TensorPrimitives.Subtract(change, baseline, change);
    }

    /// <summary>
    /// Credits each z_0 coordinate's contribution to the one input feature it is a function of: a passed-through
    /// coordinate to its feature, embedded feature f's vector v_f to f.
    /// </summary>
    public void Group(ReadOnlySpan<double> coordinates, Span<double> features)
    {
        EmbeddingShape embedding = Embedding!;
        IReadOnlyList<int> passed = embedding.PassedThrough;
        for (int i = 0; i < passed.Count; i++)
        {
            features[passed[i]] = coordinates[i];
        }

        for (int slot = 0; slot < embedding.Features.Count; slot++)
        {
            features[embedding.Features[slot]] = TensorPrimitives.Sum(coordinates.Slice(embedding.OutputOffset(slot), embedding.Width));
        }
    }
}
