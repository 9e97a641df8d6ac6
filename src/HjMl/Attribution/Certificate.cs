namespace HjMl.Attribution;

/// <summary>
/// A certified radius (THEORY.md section 5): no input within <see cref="Radius"/> of the row (Euclidean, in the model's
/// standardised feature space) changes the prediction (classifiers), or moves the output by <see cref="Tolerance"/> or
/// more (regression). <see cref="RawRadius"/> is the same guarantee as a ball in raw feature units
/// (Radius times the smallest feature scale, since ||dz|| &lt;= ||dx|| / min scale). With a flow, the read-out's radius
/// at the terminal state z_L (<see cref="TerminalRadius"/>) divided by the flow's Lipschitz bound (section 9): no input
/// within it moves z_L out of the read-out's certified ball.
/// </summary>
/// <param name="Radius">r*, standardised input units; 0 when the margin is 0 or within its proven rounding bound (a row within rounding of the decision boundary), or eps = 0 (curvature unbounded at the kinks).</param>
/// <param name="RawRadius">r* times the smallest feature scale.</param>
/// <param name="Margin">The margin the radius protects: |f_pred - f_other| at the binding class (classifiers), the tolerance in layer units (regression).</param>
/// <param name="GradientNorm">||grad of the margin|| with respect to the read-out's inputs (z_L with a flow).</param>
/// <param name="Curvature">K = max(D_a^2, D_b^2) / (4 eps), the bound on the margin's Hessian in the read-out's inputs.</param>
/// <param name="BindingClass">Multiclass: the class whose margin gives the smallest radius; binary: the class not predicted; -1 for regression.</param>
/// <param name="Tolerance">Regression: the output change certified against; NaN for classifiers.</param>
/// <param name="TerminalRadius">The read-out's own radius in its inputs: z_L with a flow, the standardised features (= Radius) without.</param>
/// <param name="LipschitzBound">The flow's Lipschitz bound ||P||_F prod_k (1 + h D_u D_a / (4 eps)) (section 9); 1 without a flow.</param>
public readonly record struct Certificate(double Radius, double RawRadius, double Margin, double GradientNorm, double Curvature, int BindingClass, double Tolerance, double TerminalRadius, double LipschitzBound);

/// <summary>
/// Where a row sits relative to the model's support (THEORY.md section 6), in the read-out's inputs: the standardised
/// features, or with a flow its terminal state z_L, where the read-out's support points and the trainer's coverage
/// radius live.
/// </summary>
/// <param name="NearestDistance">Distance from the standardised row (with a flow: its z_L) to the nearest support point y_j = 2t w_j.</param>
/// <param name="NearestHead">Head of that support point.</param>
/// <param name="NearestPiece">Piece of that support point.</param>
/// <param name="NearestSupportRow">Training row that support point started on, or -1.</param>
/// <param name="DiffusionRadius">sqrt(2 eps t), the authors' in-support radius.</param>
/// <param name="CoverageRadius">The model's calibrated radius (99% of training rows fall within it), or NaN.</param>
/// <param name="Score">NearestDistance / max(DiffusionRadius, CoverageRadius): above 1 is out of support.</param>
/// <param name="LogitGap">Delta, the top-two logit gap of the predicted class's head.</param>
/// <param name="ExtrapolationBound">eps log(1 + (N - 1) exp(-Delta / eps)): how far f is from its single winning piece.</param>
/// <param name="IsOutOfSupport">Score &gt; 1.</param>
public readonly record struct SupportCoverage(double NearestDistance, int NearestHead, int NearestPiece, int NearestSupportRow, double DiffusionRadius, double CoverageRadius, double Score, double LogitGap, double ExtrapolationBound, bool IsOutOfSupport);
