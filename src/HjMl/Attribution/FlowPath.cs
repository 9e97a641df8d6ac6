using System.Globalization;
using HjMl.Flows;

namespace HjMl.Attribution;

/// <summary>
/// An explanation's buffers for the path through a flow (THEORY.md section 9): the standardised input, the quadrature's
/// points on the straight path from the training means, the flow's adjoint buffers for all of them at once, the input
/// gradients, and the path means of two heads' gradients. Not thread-safe: one per <see cref="Explanation"/>.
/// </summary>
internal sealed class FlowPath
{
    private readonly double[] input;
    private readonly double[] gradients;
    private readonly double[] firstMean;
    private readonly double[] secondMean;

    public FlowPath(GibbsFlow flow)
    {
        int d = flow.InputDimension;
        int count = ModelExplainer.Quadrature.Count;
        Adjoint = new FlowInputGradient(flow, count);
        input = new double[d];
        gradients = new double[count * d];
        firstMean = new double[d];
        secondMean = new double[d];
        CoordinateNames = [.. Enumerable.Range(0, flow.Width).Select(i => string.Create(CultureInfo.InvariantCulture, $"z[{i}]"))];
    }

    /// <summary>The flow's adjoint, sized for every quadrature node.</summary>
    public FlowInputGradient Adjoint { get; }

    /// <summary>The row's standardised input z_0 (d).</summary>
    public Span<double> Input => input;

    /// <summary>Input gradients, one row of d per quadrature node.</summary>
    public Span<double> Gradients => gradients;

    /// <summary>The path mean of the first head's input gradient.</summary>
    public Span<double> FirstMean => firstMean;

    /// <summary>The path mean of the second head's input gradient.</summary>
    public Span<double> SecondMean => secondMean;

    /// <summary>"z[0]" .. "z[m-1]": the terminal coordinates the read-out's decompositions run over.</summary>
    public string[] CoordinateNames { get; }
}
