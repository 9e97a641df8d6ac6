using System.Numerics.Tensors;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// One row's Gibbs attribution, computed natively in double (THEORY.md sections 3–6), for the head that carries the
/// prediction: the predicted class's head for classifiers, head 0 (the head whose support points carry +y/2) for
/// regression. Not thread-safe: one per cursor.
/// </summary>
internal sealed class RowExplainer
{
    private readonly HopfColeModel model;
    private readonly int topSupportPoints;
    private readonly double[] standardised;
    private readonly double[] headScores;
    private readonly double[] gibbs;
    private readonly double[] contributions;
    private readonly double[] headContributions;
    private readonly double[] gradients;
    private readonly int[] order;

    public RowExplainer(HopfColeModel model, int topSupportPoints)
    {
        this.model = model;
        this.topSupportPoints = topSupportPoints;
        int d = model.InputDimension;
        int heads = model.Layer.NumberOfHeads;
        standardised = new double[d];
        headScores = new double[heads];
        gibbs = new double[model.Layer.NumberOfPieces];
        contributions = new double[d];
        headContributions = new double[d];
        gradients = new double[heads * d];
        order = new int[model.Layer.NumberOfPieces];
        TopWeights = new double[topSupportPoints];
        TopRows = new long[topSupportPoints];
    }

    /// <summary>The explained head.</summary>
    public int Head { get; private set; }

    /// <summary>The largest Gibbs weights of the explained head, largest first.</summary>
    public double[] TopWeights { get; }

    /// <summary>The training rows (0-based, -1 unknown) of the support points of <see cref="TopWeights"/>.</summary>
    public long[] TopRows { get; }

    /// <summary>H(pi) of the explained head, in nats.</summary>
    public double Entropy { get; private set; }

    /// <summary>
    /// Per standardised feature, its term of the exact decomposition of the explained quantity: LabelScale (c_0 - c_1)
    /// for regression (Score - LabelMean), c_0 - c_1 for binary (the margin), c_p for multiclass (the predicted head).
    /// </summary>
    public ReadOnlySpan<double> Contributions => contributions;

    /// <summary>The certified radius in standardised units (classifiers with eps &gt; 0; NaN otherwise).</summary>
    public double CertifiedRadius { get; private set; }

    /// <summary>
    /// Distance to the nearest support point over the in-support radius: the diffusion radius sqrt(2 eps t), or the
    /// model's calibrated coverage radius where that is larger, as HjMl's ONNX export and ModelExplainer.Coverage use
    /// (eps &gt; 0; NaN otherwise).
    /// </summary>
    public double OutOfSupportScore { get; private set; }

    /// <summary>Explains one raw (unstandardised) row.</summary>
    public void Explain(ReadOnlySpan<double> features)
    {
        model.ValidateFeatures(features);
        LseLayer<double> layer = model.Layer;
        int d = model.InputDimension;
        int heads = layer.NumberOfHeads;
        model.Scaling.Apply(features, standardised);
        for (int head = 0; head < heads; head++)
        {
            headScores[head] = layer.Gradient(standardised, head, gradients.AsSpan(head * d, d));
        }

        Head = model.Kind switch
        {
            ModelKind.Regression => 0,
            ModelKind.BinaryClassification => headScores[0] - headScores[1] > 0 ? 0 : 1,
            _ => TensorPrimitives.IndexOfMax<double>(headScores),
        };

        layer.GibbsWeights(standardised, Head, gibbs);
        Entropy = layer.Entropy(standardised, Head);
        Top();
        Decompose();
        CertifiedRadius = model.Kind != ModelKind.Regression && model.Viscosity > 0 ? Radius() : double.NaN;
        OutOfSupportScore = model.Viscosity > 0 ? NearestSupportDistance() / InSupportRadius() : double.NaN;
    }

    // Largest first; equal weights keep the lower piece first (as ONNX TopK does).
    private void Top()
    {
        int pieces = gibbs.Length;
        for (int j = 0; j < pieces; j++)
        {
            order[j] = j;
        }

        Array.Sort(order, (left, right) => gibbs[left] != gibbs[right] ? gibbs[right].CompareTo(gibbs[left]) : left.CompareTo(right));
        for (int i = 0; i < topSupportPoints; i++)
        {
            TopWeights[i] = gibbs[order[i]];
            TopRows[i] = model.SupportRows[(Head * pieces) + order[i]];
        }
    }

    private void Decompose()
    {
        LseLayer<double> layer = model.Layer;
        if (model.Kind == ModelKind.MulticlassClassification)
        {
            layer.Decompose(standardised, Head, contributions);
            return;
        }

        layer.Decompose(standardised, 0, contributions);
        layer.Decompose(standardised, 1, headContributions);
        TensorPrimitives.Subtract(contributions, headContributions, contributions);
        if (model.Kind == ModelKind.Regression)
        {
            TensorPrimitives.Multiply(contributions, model.LabelScale, contributions);
        }
    }

    // THEORY.md section 5: min over rival heads c of 2m / (sqrt(g^2 + 2Km) + g), m = f_p - f_c, g = |grad f_p - grad f_c|,
    // K = max(D_p^2, D_c^2) / (4 eps); written so that nothing cancels when 2Km is small against g^2.
    private double Radius()
    {
        LseLayer<double> layer = model.Layer;
        int d = model.InputDimension;
        double radius = double.PositiveInfinity;
        ReadOnlySpan<double> predicted = gradients.AsSpan(Head * d, d);
        double predictedDiameter = layer.WeightDiameter(Head);
        for (int rival = 0; rival < layer.NumberOfHeads; rival++)
        {
            if (rival == Head)
            {
                continue;
            }

            double margin = headScores[Head] - headScores[rival];
            double gradient = TensorPrimitives.Distance(predicted, gradients.AsSpan(rival * d, d));
            double diameter = Math.Max(predictedDiameter, layer.WeightDiameter(rival));
            double curvature = diameter * diameter / (4 * model.Viscosity);
            double denominator = Math.Sqrt((gradient * gradient) + (2 * curvature * margin)) + gradient;
            radius = Math.Min(radius, denominator > 0 ? 2 * margin / denominator : 0);
        }

        return Math.Max(0, radius);
    }

    private double InSupportRadius()
    {
        double diffusion = Math.Sqrt(2 * model.Viscosity * model.Time);
        return double.IsNaN(model.CoverageRadius) ? diffusion : Math.Max(diffusion, model.CoverageRadius);
    }

    // THEORY.md section 6: min_j |z - y_j| over every piece of every head, y_j = 2 t w_j.
    private double NearestSupportDistance()
    {
        int d = model.InputDimension;
        ReadOnlySpan<double> weights = model.Layer.Weights;
        double best = double.PositiveInfinity;
        double twoTime = 2 * model.Time;
        for (int piece = 0; piece < model.Layer.Biases.Length; piece++)
        {
            double squared = 0;
            for (int k = 0; k < d; k++)
            {
                double difference = standardised[k] - (twoTime * weights[(piece * d) + k]);
                squared += difference * difference;
            }

            best = Math.Min(best, squared);
        }

        return Math.Sqrt(best);
    }
}
