using HjMl.Attribution;
using HjMl.Models;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// One row's Gibbs attribution for the GibbsAttribution transform (THEORY.md sections 3–6), taken from HjMl's own
/// <see cref="ModelExplainer"/> (the engine's fused kernels: the same numbers as <c>hjml explain</c> and the engine API),
/// for the head that carries the prediction: the predicted class's head for classifiers, head 0 (the head whose support
/// points carry +y/2) for regression. Not thread-safe: one per cursor.
/// </summary>
internal sealed class RowExplainer
{
    private readonly HopfColeModel model;
    private readonly ModelExplainer explainer;
    private readonly Explanation explanation;
    private readonly int topSupportPoints;
    private readonly int[] order;

    public RowExplainer(HopfColeModel model, int topSupportPoints)
    {
        this.model = model;
        this.topSupportPoints = topSupportPoints;
        explainer = new ModelExplainer(model);
        explanation = new Explanation(model, topSupportPoints);
        order = model.Kind == ModelKind.Regression ? new int[model.Layer.NumberOfPieces] : [];
        TopWeights = new double[topSupportPoints];
        TopRows = new long[topSupportPoints];
        TopPieces = new int[topSupportPoints];
    }

    /// <summary>The explained head.</summary>
    public int Head { get; private set; }

    /// <summary>The largest Gibbs weights of the explained head, largest first.</summary>
    public double[] TopWeights { get; }

    /// <summary>The training rows (0-based, -1 unknown) of the support points of <see cref="TopWeights"/>.</summary>
    public long[] TopRows { get; }

    /// <summary>The head-major indices (head times pieces per head plus piece) of the support points of <see cref="TopWeights"/>.</summary>
    public int[] TopPieces { get; }

    /// <summary>H(pi) of the explained head, in nats.</summary>
    public double Entropy { get; private set; }

    /// <summary>
    /// Per standardised feature, its term of the exact decomposition of the explained quantity: LabelScale (c_0 - c_1)
    /// for regression (Score - LabelMean), c_0 - c_1 for binary (the margin), c_p for multiclass (the predicted head).
    /// With a flow, the same quantities (regression: the Score) split over the input features by integrated gradients
    /// from the training means (<see cref="InputDecomposition"/>: with its baseline and quadrature remainder they sum to it).
    /// </summary>
    public ReadOnlySpan<double> Contributions => model.Flow is null ? Decomposed.FeatureContributions : InputDecomposed.FeatureContributions;

    /// <summary>
    /// The value <see cref="Contributions"/> decompose: the Score for regression and binary (the margin), the predicted
    /// class's head f_p(x) for multiclass (Score[p] = softmax of the heads at p).
    /// </summary>
    public double ExplainedScore => model.Flow is null ? Decomposed.Value : InputDecomposed.Value;

    /// <summary>
    /// The terms that with the feature contributions sum to <see cref="ExplainedScore"/> (THEORY.md section 4):
    /// the baseline (regression: LabelMean; with a flow: the value at the training means), E_pi[b] and eps H(pi) of the
    /// explained value (0 with a flow), and the flow's quadrature remainder (0 for a single layer).
    /// </summary>
    public (double Baseline, double Bias, double Entropy, double Remainder) Terms => model.Flow is null
        ? (Decomposed.Baseline, Decomposed.BiasTerm, Decomposed.EntropyTerm, 0)
        : (InputDecomposed.Baseline, 0, 0, InputDecomposed.Remainder);

    private Decomposition Decomposed => model.Kind == ModelKind.MulticlassClassification ? explanation.Class : explanation.Margin;

    private InputDecomposition InputDecomposed => model.Kind == ModelKind.MulticlassClassification ? explanation.InputClass! : explanation.InputMargin!;

    /// <summary>The certified radius in standardised units, of the whole model with a flow (classifiers with eps &gt; 0; NaN otherwise).</summary>
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
        explainer.Explain(features, explanation);
        Entropy = explanation.Entropy;
        int pieces = model.Layer.NumberOfPieces;
        if (model.Kind == ModelKind.Regression)
        {
            // The engine's regression list draws from both heads (signed); this transform lists head 0's support points.
            Head = 0;
            TopOfHeadZero(explanation.Weights[..pieces], pieces);
        }
        else
        {
            Head = explanation.TopSupport[0].Head;
            for (int i = 0; i < topSupportPoints; i++)
            {
                SupportAttribution support = explanation.TopSupport[i];
                TopWeights[i] = support.Weight;
                TopRows[i] = support.SupportRow;
                TopPieces[i] = (support.Head * pieces) + support.Piece;
            }
        }

        bool smooth = model.Viscosity > 0;
        CertifiedRadius = model.Kind != ModelKind.Regression && smooth ? explainer.Certify(features).Radius : double.NaN;
        OutOfSupportScore = smooth ? explainer.Coverage(features).Score : double.NaN;
    }

    // Largest first; equal weights keep the lower piece first (as ONNX TopK does).
    private void TopOfHeadZero(ReadOnlySpan<double> gibbs, int pieces)
    {
        for (int j = 0; j < pieces; j++)
        {
            order[j] = j;
        }

        for (int i = 1; i < pieces; i++)
        {
            int piece = order[i];
            int position = i;
            while (position > 0 && (gibbs[order[position - 1]] < gibbs[piece] || (gibbs[order[position - 1]] == gibbs[piece] && order[position - 1] > piece)))
            {
                order[position] = order[position - 1];
                position--;
            }

            order[position] = piece;
        }

        for (int i = 0; i < topSupportPoints; i++)
        {
            TopWeights[i] = gibbs[order[i]];
            TopRows[i] = model.SupportRows[order[i]];
            TopPieces[i] = order[i];
        }
    }
}
