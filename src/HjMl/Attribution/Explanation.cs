using HjMl.Kernels;
using HjMl.Models;

namespace HjMl.Attribution;

/// <summary>
/// One explained function's exact decomposition (THEORY.md section 4):
/// <c>Value = Baseline + sum(FeatureContributions) + BiasTerm + EntropyTerm</c>, to rounding.
/// Feature k contributes z_k (E_pi[w])_k with z_k = (x_k - mean_k) / scale_k: its deviation from the training mean,
/// read through the pieces that carry the row. For a margin of two heads the terms are differences of the heads' terms.
/// </summary>
public sealed class Decomposition
{
    internal Decomposition(int dimension) => FeatureContributions = new double[dimension];

    /// <summary>The explained value.</summary>
    public double Value { get; internal set; }

    /// <summary>Per-feature contributions, in the model's feature order.</summary>
    public double[] FeatureContributions { get; }

    /// <summary>E_pi[b] (or its difference across the margin's heads).</summary>
    public double BiasTerm { get; internal set; }

    /// <summary>eps H(pi) (or its difference across the margin's heads).</summary>
    public double EntropyTerm { get; internal set; }

    /// <summary>A constant the value starts from: the label mean for regression, 0 otherwise.</summary>
    public double Baseline { get; internal set; }

    /// <summary>Baseline + contributions + bias + entropy, which equals <see cref="Value"/> to rounding.</summary>
    public double Sum
    {
        get
        {
            double sum = Baseline + BiasTerm + EntropyTerm;
            foreach (double contribution in FeatureContributions)
            {
                sum += contribution;
            }

            return sum;
        }
    }
}

/// <summary>
/// One explained value of a model with a flow split over its input features (THEORY.md section 9, integrated gradients
/// [derived]): <c>Value = Baseline + sum(FeatureContributions) + Remainder</c>, to rounding. Feature k contributes
/// z_k times the mean of d value / d z_k along the straight path from the training means (z = 0) to the row, the mean
/// taken by a Gauss–Legendre rule; z_k = (x_k - mean_k) / scale_k, so a contribution is also (x_k - mean_k) times the
/// mean of d value / d x_k, in the value's units, as a single layer's contributions are. With a periodic embedding the
/// path is the straight one from z_0 of the training means to z_0 of the row in the embedding's output (where the model
/// is analytic; the straight path in x crosses the embedding's ReLU kinks), and feature k receives the contributions of
/// the z_0 coordinates that are functions of x_k alone: its own when passed through, its vector v_k when embedded.
/// </summary>
public sealed class InputDecomposition
{
    internal InputDecomposition(int dimension) => FeatureContributions = new double[dimension];

    /// <summary>The explained value (the same as the terminal decomposition's).</summary>
    public double Value { get; internal set; }

    /// <summary>Per input feature, its contribution, in the model's feature order.</summary>
    public double[] FeatureContributions { get; }

    /// <summary>The value at the baseline row: every feature at its training mean (z = 0).</summary>
    public double Baseline { get; internal set; }

    /// <summary>
    /// Value - Baseline - sum(FeatureContributions): the quadrature's error (the path integral itself is exact), refined
    /// to within 1e-9 of max(1, |Value|) where 64 panels suffice, and reported as it is where they do not.
    /// </summary>
    public double Remainder { get; internal set; }

    /// <summary>
    /// Gradient evaluations the path integral took: <see cref="ModelExplainer.PathQuadratureNodes"/> on one panel, or
    /// 4, 16 or 64 times as many where a coarser rule left a remainder above 1e-9 of the value.
    /// </summary>
    public int QuadratureNodes { get; internal set; }

    /// <summary>Baseline + contributions + remainder, which equals <see cref="Value"/> to rounding.</summary>
    public double Sum
    {
        get
        {
            double sum = Baseline + Remainder;
            foreach (double contribution in FeatureContributions)
            {
                sum += contribution;
            }

            return sum;
        }
    }
}

/// <summary>How much one support point (piece) carries an explained value.</summary>
/// <param name="Head">The head the piece belongs to (binary/regression: 0 positive, 1 negative; multiclass: the class index).</param>
/// <param name="Piece">The piece's index within its head.</param>
/// <param name="Weight">pi_j, the piece's Gibbs weight in its head (d f / d b_j).</param>
/// <param name="Influence">d value / d b_j: +pi_j for the head the value adds, -pi_j for the head it subtracts (times the label scale for regression).</param>
/// <param name="LabelSensitivity">d value / d g_j = -Influence: how the value moves if the piece's initial data g_j (its label in the Hopf–Cole reading) moves (THEORY.md section 4).</param>
/// <param name="SupportRow">The 0-based training row the piece started on, or -1.</param>
public readonly record struct SupportAttribution(int Head, int Piece, double Weight, double Influence, double LabelSensitivity, int SupportRow);

/// <summary>
/// A row's explanation, filled by <see cref="ModelExplainer.Explain"/>. Holds its own buffers so that a caller who keeps
/// one per thread explains rows without allocating. Not thread-safe; one per thread.
/// </summary>
public sealed class Explanation
{
    // Per-row work, laid out as the kernels need it.
    private readonly ExplanationWorkspace workspace;

    /// <summary>Creates buffers for <paramref name="model"/> with room for <paramref name="top"/> support points.</summary>
    /// <exception cref="ArgumentException"><paramref name="top"/> is below 1 or above the pieces a top list can draw from.</exception>
    public Explanation(HopfColeModel model, int top = 5)
    {
        ArgumentNullException.ThrowIfNull(model);
        int available = model.Kind == ModelKind.Regression ? 2 * model.Layer.NumberOfPieces : model.Layer.NumberOfPieces;
        if (top < 1 || top > available)
        {
            throw new ArgumentException($"top is {top}; it must be between 1 and {available}, the support points this model's explanations draw from.", nameof(top));
        }

        Model = model;
        Class = new Decomposition(model.Layer.InputDimension);
        Margin = new Decomposition(model.Layer.InputDimension);
        TopSupport = new SupportAttribution[top];
        TopPieces = new int[top];
        TopWeights = new double[top];
        workspace = new ExplanationWorkspace(model.Layer.Kernel);
        if (model.Flow is not null)
        {
            InputClass = new InputDecomposition(model.InputDimension);
            InputMargin = new InputDecomposition(model.InputDimension);
            Path = new FlowPath(model.Flow);
        }
    }

    /// <summary>The model explained.</summary>
    public HopfColeModel Model { get; }

    /// <summary>The prediction.</summary>
    public Prediction Prediction { get; internal set; }

    /// <summary>
    /// Classifiers: the predicted class's head f_c(x) decomposed. Regression: the same as <see cref="Margin"/>. With a
    /// flow, over the read-out's inputs: the terminal coordinates z_L (see <see cref="CoordinateNames"/>).
    /// </summary>
    public Decomposition Class { get; }

    /// <summary>
    /// The margin decomposed: binary f_0 - f_1 (positive class minus negative; the score), multiclass f_c - f_r against
    /// the runner-up class r, regression the prediction LabelMean + LabelScale (f_0 - f_1) itself. With a flow, over the
    /// terminal coordinates z_L.
    /// </summary>
    public Decomposition Margin { get; }

    /// <summary>
    /// The names of the entries of <see cref="Class"/>'s and <see cref="Margin"/>'s contributions: the model's feature
    /// names for a single layer, "z[0]" .. "z[m-1]" (the flow's terminal state) for a model with a flow.
    /// </summary>
    public IReadOnlyList<string> CoordinateNames => Model.Flow is null ? Model.FeatureNames : Path!.CoordinateNames;

    /// <summary>
    /// Models with a flow: <see cref="Class"/>'s value split over the input features (integrated gradients through the
    /// flow); null for a single layer, whose <see cref="Class"/> is already over the input features.
    /// </summary>
    public InputDecomposition? InputClass { get; }

    /// <summary>Models with a flow: <see cref="Margin"/>'s value split over the input features; null for a single layer.</summary>
    public InputDecomposition? InputMargin { get; }

    /// <summary>The runner-up class for multiclass margins, -1 otherwise.</summary>
    public int RunnerUp { get; internal set; } = -1;

    /// <summary>The support points that carry the row most, largest |influence| first (classifiers: in the predicted class's head).</summary>
    public SupportAttribution[] TopSupport { get; }

    /// <summary>Attribution entropy H(pi) of the predicted class's head (regression: head 0), in [0, log N] nats.</summary>
    public double Entropy { get; internal set; }

    /// <summary>exp(H): the effective number of support points carrying the row.</summary>
    public double EffectiveSupportCount => Math.Exp(Entropy);

    // Models with a flow: the path points, the flow's adjoint buffers and the standardised input.
    internal FlowPath? Path { get; }

    // Per-row work: standardised features (with a flow: the terminal state z_L), Gibbs weights of every head (with a vector of slack), two expectations E_pi[w].
    internal Span<double> Standardised => workspace.Standardised;

    // The top list under construction: pieces and their weights, largest first.
    internal int[] TopPieces { get; }

    internal double[] TopWeights { get; }

    internal Span<double> Weights => workspace.Weights;

    internal Span<double> FirstExpectation => workspace.FirstExpectation;

    internal Span<double> SecondExpectation => workspace.SecondExpectation;

    // Every head's score (with slack up to whole vectors of 8, which ScoreInterpretation reads) and entropy.
    internal Span<double> HeadScores => workspace.HeadScores;

    internal Span<double> Entropies => workspace.Entropies;
}
