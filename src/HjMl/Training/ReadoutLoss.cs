using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// The LSE read-out's loss as a fused objective needs it (<see cref="EmbeddedObjective{T}"/>): what the heads are, the
/// per-row loss of their scores with dL/df, the L2 penalty on the weights, and the precision Adam may train in.
/// </summary>
/// <param name="Kind">What the model learns.</param>
/// <param name="Heads">K, the LSE heads (2 for regression and binary classification).</param>
/// <param name="Pieces">N, support points per head.</param>
/// <param name="Regularisation">lambda of the penalty lambda/2 |W|^2 on the read-out's weights.</param>
/// <param name="RegressionLoss">The regression loss.</param>
/// <param name="HuberDelta">The Huber threshold, in standardised label units.</param>
/// <param name="LearnViscosity">Whether eps is learned (then d/d eps is needed, which only the generic path computes).</param>
/// <param name="SinglePrecision">
/// Whether the fused path may compute gradients in float32 (their sums across chunks in double): set for Adam, which
/// float32's rounding (about 1e-7 relative) does not disturb; L-BFGS's line search compares losses closer than that, so
/// it keeps double, as the plain layer's training does, and so does every loss evaluated alone (validation).
/// </param>
internal sealed record ReadoutLoss(ModelKind Kind, int Heads, int Pieces, double Regularisation, RegressionLoss RegressionLoss, double HuberDelta, bool LearnViscosity, bool SinglePrecision)
{
    /// <summary>
    /// The loss of one row from its head scores (f_k, in the read-out's units), and dL/df per head into
    /// <paramref name="deltas"/>: squared or Huber on f_0 - f_1 (regression), logistic on the margin f_0 - f_1 (binary,
    /// target 1 the positive head 0), softmax cross-entropy (multiclass, target the class index).
    /// </summary>
    public double Evaluate(ReadOnlySpan<double> scores, double target, Span<double> deltas)
        => Objective.RowLoss(Kind, RegressionLoss, HuberDelta, scores, target, deltas);
}
