using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Flows;
using HjMl.Kernels;
using HjMl.Models;

namespace HjMl.Attribution;

/// <summary>The explainer's path through a flow (THEORY.md section 9), beside the single layer's.</summary>
public sealed partial class ModelExplainer
{
    /// <summary>
    /// Gauss–Legendre nodes per panel of the integrated-gradients rule along the path from the training means to the row:
    /// 32 (exact for polynomials of degree 63 in the path parameter). A row whose remainder is above 1e-9 of its value is
    /// integrated again on 4, then 16, then 64 panels (see <see cref="InputDecomposition.QuadratureNodes"/>).
    /// </summary>
    public const int PathQuadratureNodes = 32;

    // The rule every explanation through a flow integrates with, per panel (FlowPath sizes its buffers from it).
    internal static readonly PathQuadrature Quadrature = PathQuadrature.GaussLegendre(PathQuadratureNodes);

    // A row's path integral is refined (panels x 4) until both remainders are within this much of max(1, |value|), up to
    // MostPanels panels; at 32 nodes on one panel the tested models' remainders are 1e-10 and below.
    private const double RemainderTarget = 1e-9;

    private const int MostPanels = 64;

    // The calling thread's standardised input before the flow carries it to z_L (Certify, StabilityRadius, Coverage).
    [ThreadStatic]
    private static double[]? inputScratch;

    private readonly GibbsFlow? flow;

    // ||P||_F prod_k (1 + h D_u D_a / (4 eps)) (section 9); 1 without a flow.
    private readonly double lipschitzBound = 1;

    // Every head's score at the baseline row (the training means, z = 0): f(x_0) of every explained value.
    private readonly double[]? baselineScores;

    // Every head's score at z = 0 carried through the flow.
    private static double[] BaselineScores(HopfColeModel model)
    {
        GibbsFlow flow = model.Flow!;
        var terminal = new double[flow.Width];
        flow.Transport(new double[flow.InputDimension], terminal);
        var scores = new double[model.Layer.NumberOfHeads];
        model.Layer.Evaluate(terminal, scores);
        return scores;
    }

    // The flow's steps stay out of line in the single layer's methods, whose code they would otherwise enlarge.

    // Standardises into the calling thread's input buffer and transports to terminal (z_L).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StandardiseAndTransport(ReadOnlySpan<double> features, Span<double> terminal)
    {
        Span<double> input = AlignedBuffer<double>.Rent(ref inputScratch, Model.InputDimension);
        Model.Scaling.Apply(features, input);
        flow!.Transport(input, terminal);
    }

    // PrepareThroughFlow with the calling thread's input buffer.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareThroughFlow(ReadOnlySpan<double> features, Span<double> terminal, Span<double> pi, Span<double> scores, Span<double> entropies)
        => PrepareThroughFlow(features, AlignedBuffer<double>.Rent(ref inputScratch, Model.InputDimension), terminal, pi, scores, entropies);

    // Validates, standardises into input, transports to terminal (z_L); then the read-out's scores, Gibbs weights and
    // entropies from the same kernel pass as a single layer's.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareThroughFlow(ReadOnlySpan<double> features, Span<double> input, Span<double> terminal, Span<double> pi, Span<double> scores, Span<double> entropies)
    {
        Model.ValidateFeatures(features);
        Model.Scaling.Apply(features, input);
        flow!.Transport(input, terminal);
        layer.Kernel.ExplainRow(terminal, scores, layer.Viscosity, pi, entropies);
    }

    // The read-out's certificate at z_L made one for the input: ||z_L(z') - z_L(z)|| <= Lip ||z' - z||, so no input
    // within r_L / Lip leaves the read-out's certified ball (section 9 [derived]); the computed z_L of the row and of any
    // row in the ball may each be T off (RoundingAllowance.TransportError), so r* = (r_L - 2T) / Lip.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Certificate ThroughFlow(Certificate terminal, ReadOnlySpan<double> features)
    {
        double inputNorm = 0;
        ReadOnlySpan<double> means = Model.Scaling.Means;
        ReadOnlySpan<double> scales = Model.Scaling.Scales;
        for (int k = 0; k < features.Length; k++)
        {
            double z = (features[k] - means[k]) / scales[k];
            inputNorm += z * z;
        }

        // A flow whose bound is 0 (an embedding of constant features only) certifies nothing rather than divide by it.
        if (!(lipschitzBound > 0))
        {
            return terminal with { Radius = 0, RawRadius = 0, LipschitzBound = lipschitzBound };
        }

        // T at the largest input the ball can hold (r* <= r_L / Lip), so that it bounds every row in the ball.
        double reach = double.IsFinite(terminal.TerminalRadius) ? terminal.TerminalRadius / lipschitzBound : 0;
        double transport = rounding.TransportError(flow!, Math.Sqrt(inputNorm) + reach);
        double radius = Math.Max(0, terminal.TerminalRadius - (2 * transport)) / (lipschitzBound * rounding.LipschitzAllowance) * (1 - (8 * RoundingAllowance.Unit));
        return terminal with { Radius = radius, RawRadius = radius * minimumScale, LipschitzBound = lipschitzBound };
    }

    // Integrated gradients through the flow (section 9 [derived]): for each head h of the margin, c_k = z_k times the path
    // mean of d f_h / d z_k (alpha z), alpha in [0, 1], taken by Gauss–Legendre on 1, 4, 16 or 64 equal panels (the
    // first whose remainders are within RemainderTarget); the gradients come from the flow's adjoint with p_L = E_pi_h[w]
    // at z_L(alpha z), a panel's nodes in one batch. The class head is one of the two; the margin is their difference
    // (times LabelScale).
    // With a periodic embedding the path is the straight one in the embedding's output, from z_0(0) to z_0(x), through
    // the smooth steps and read-out G alone; each z_0 coordinate is a function of one input feature (a passed-through
    // feature, or the embedded feature whose v_f it belongs to), so the coordinates' contributions
    // (z_0(x) - z_0(0))_l times the path mean of dG/dz_l group exactly into the features' [derived]. Their sum is
    // G(z_0(x)) - G(z_0(0)) = f(x) - f(0): G is analytic on the path, where the straight path in x would cross a kink of
    // the embedding's ReLUs at every sign change of a unit (about 1,500 per row on breast_cancer), over which no
    // Gauss–Legendre rule on a few panels integrates to 1e-9.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExplainInputs(Explanation explanation, int classHead, int positive, int negative, double scale)
    {
        FlowPath path = explanation.Path!;
        InputDecomposition margin = explanation.InputMargin!;
        InputDecomposition single = explanation.InputClass!;
        bool regression = Model.Kind == ModelKind.Regression;
        double[] baseline = baselineScores!;
        margin.Value = explanation.Margin.Value;
        margin.Baseline = (regression ? Model.LabelMean : 0) + (scale * (baseline[positive] - baseline[negative]));
        single.Value = explanation.Class.Value;
        single.Baseline = baseline[classHead];
        bool embedded = path.Embedded;
        if (embedded)
        {
            path.SetEmbeddedRow(flow!);
        }

        ReadOnlySpan<double> z = embedded ? path.Change : path.Input;
        Span<double> first = path.FirstMean;
        Span<double> second = path.SecondMean;
        Span<double> coordinates = embedded ? path.CoordinateContributions : margin.FeatureContributions;
        for (int panels = 1; ; panels *= 4)
        {
            first.Clear();
            second.Clear();
            for (int panel = 0; panel < panels; panel++)
            {
                if (embedded)
                {
                    EmbeddedPanelMeans(path, panel, panels, positive, negative);
                }
                else
                {
                    PanelMeans(path, panel, panels, positive, negative);
                }
            }

            TensorPrimitives.Subtract(first, second, coordinates);
            TensorPrimitives.Multiply(coordinates, z, coordinates);
            TensorPrimitives.Multiply(coordinates, scale, coordinates);
            if (embedded)
            {
                path.Group(coordinates, margin.FeatureContributions);
            }

            margin.Remainder = margin.Value - margin.Baseline - TensorPrimitives.Sum<double>(margin.FeatureContributions);
            margin.QuadratureNodes = panels * Quadrature.Count;
            if (regression)
            {
                // Regression has one explained value: its class decomposition is the prediction's.
                margin.FeatureContributions.AsSpan().CopyTo(single.FeatureContributions);
                single.Value = margin.Value;
                single.Baseline = margin.Baseline;
            }
            else if (embedded)
            {
                TensorPrimitives.Multiply(z, classHead == positive ? first : second, coordinates);
                path.Group(coordinates, single.FeatureContributions);
            }
            else
            {
                TensorPrimitives.Multiply(z, classHead == positive ? first : second, single.FeatureContributions);
            }

            single.Remainder = single.Value - single.Baseline - TensorPrimitives.Sum<double>(single.FeatureContributions);
            single.QuadratureNodes = margin.QuadratureNodes;
            bool close = Math.Abs(margin.Remainder) <= RemainderTarget * Math.Max(1, Math.Abs(margin.Value))
                && Math.Abs(single.Remainder) <= RemainderTarget * Math.Max(1, Math.Abs(single.Value));
            if (close || panels >= MostPanels)
            {
                return;
            }
        }
    }

    // Adds panel s of S's share of both heads' path means: the nodes (s + alpha_q) / S, weights omega_q / S, through the
    // flow in one batch; each head's co-state p_L = E_pi[w] at the node's z_L (section 3), carried back by the adjoint.
    private void PanelMeans(FlowPath path, int panel, int panels, int positive, int negative)
    {
        int d = Model.InputDimension;
        ReadOnlySpan<double> z = path.Input;
        FlowInputGradient adjoint = path.Adjoint!;
        Span<double> points = adjoint.Inputs;
        double[] nodes = Quadrature.Nodes;
        double[] weights = Quadrature.Weights;
        for (int q = 0; q < nodes.Length; q++)
        {
            TensorPrimitives.Multiply(z, (panel + nodes[q]) / panels, points.Slice(q * d, d));
        }

        adjoint.Forward(nodes.Length);
        for (int which = 0; which < 2; which++)
        {
            int head = which == 0 ? positive : negative;
            Span<double> mean = which == 0 ? path.FirstMean : path.SecondMean;
            for (int q = 0; q < nodes.Length; q++)
            {
                layer.Gradient(adjoint.Terminal(q), head, adjoint.Costate(q));
            }

            adjoint.Backward(path.Gradients);
            for (int q = 0; q < nodes.Length; q++)
            {
                TensorPrimitives.MultiplyAdd(path.Gradients.Slice(q * d, d), weights[q] / panels, mean, mean);
            }
        }
    }

    // PanelMeans on the embedded path z_0(0) + t (z_0(x) - z_0(0)): through the steps' adjoint from z_0, or at depth 0 the
    // read-out's gradient E_pi[w] at the point itself.
    private void EmbeddedPanelMeans(FlowPath path, int panel, int panels, int positive, int negative)
    {
        int m = flow!.Width;
        ReadOnlySpan<double> start = path.Baseline;
        ReadOnlySpan<double> change = path.Change;
        FlowInputGradient? adjoint = path.Adjoint;
        Span<double> points = adjoint is null ? path.Points : adjoint.Inputs;
        double[] nodes = Quadrature.Nodes;
        double[] weights = Quadrature.Weights;
        for (int q = 0; q < nodes.Length; q++)
        {
            TensorPrimitives.MultiplyAdd(change, (panel + nodes[q]) / panels, start, points.Slice(q * m, m));
        }

        adjoint?.Forward(nodes.Length);
        for (int which = 0; which < 2; which++)
        {
            int head = which == 0 ? positive : negative;
            Span<double> mean = which == 0 ? path.FirstMean : path.SecondMean;
            for (int q = 0; q < nodes.Length; q++)
            {
                if (adjoint is null)
                {
                    layer.Gradient(points.Slice(q * m, m), head, path.Gradients.Slice(q * m, m));
                }
                else
                {
                    layer.Gradient(adjoint.Terminal(q), head, adjoint.Costate(q));
                }
            }

            adjoint?.Backward(path.Gradients);
            for (int q = 0; q < nodes.Length; q++)
            {
                TensorPrimitives.MultiplyAdd(path.Gradients.Slice(q * m, m), weights[q] / panels, mean, mean);
            }
        }
    }
}
