namespace HjMl.Onnx;

/// <summary>What <see cref="OnnxExport"/> writes besides the predictions. Immutable; the defaults export predictions only.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The number of support points <c>TopSupportIndices</c> and <c>TopSupportWeights</c> list when none is given.</summary>
    public const int DefaultTopSupportPoints = 5;

    /// <summary>
    /// Adds the explanation outputs (THEORY.md sections 3–6): Gibbs weights per head, the top support points with their
    /// weights, attribution entropy, feature contributions and bias terms, the nearest support point and its distance,
    /// and for eps &gt; 0 the out-of-support score and (classifiers) the certified radius; with a flow (Depth &gt; 0 or a
    /// feature embedding) also each head's input-feature contributions through it. See <see cref="OnnxExport"/>.
    /// </summary>
    /// <remarks>
    /// The explanation outputs, all in standardised feature space
    /// (the space the LSE layer sees) and per head k of K (pieces j of P per head):
    /// <list type="table">
    /// <listheader><term>output</term><description>meaning</description></listheader>
    /// <item><term><c>GibbsWeights</c> float32 [N, K, P]</term><description>pi_kj(x) = d f_k / d b_kj (THEORY.md section 3); at eps = 0 uniform over the tied maxima.</description></item>
    /// <item><term><c>TopSupportWeights</c> float32 [N, K, k], <c>TopSupportIndices</c> int64 [N, K, k]</term><description>the k largest Gibbs weights of each head and their piece indices j (TopK, largest first).</description></item>
    /// <item><term><c>AttributionEntropy</c> float32 [N, K]</term><description>H(pi) in nats, in [0, log P]; exp(H) is the effective number of support points (section 4).</description></item>
    /// <item><term><c>FeatureContributions</c> float32 [N, K, d]</term><description>c_kd = z_d (E_pi[w_k])_d for the standardised features z (section 4).</description></item>
    /// <item><term><c>BiasTerms</c> float32 [N, K]</term><description>E_pi[b_k]; sum_d c_kd + BiasTerms + eps * AttributionEntropy = f_k, the head's score.</description></item>
    /// <item><term><c>NearestSupportIndex</c> int64 [N], <c>NearestSupportRow</c> int64 [N]</term><description>the piece (head-major index k*P + j) whose support point y = 2 t w is nearest, and the training row it came from (-1 if unknown).</description></item>
    /// <item><term><c>SupportDistance</c> float32 [N]</term><description>min_j ||z - y_j|| over every piece of every head.</description></item>
    /// <item><term><c>OutOfSupportScore</c> float32 [N] (eps &gt; 0)</term><description>SupportDistance / max(sqrt(2 eps t), the model's calibrated CoverageRadius); above 1 the row lies out of support (section 6), as ModelExplainer.Coverage says.</description></item>
    /// <item><term><c>CertifiedRadius</c> float32 [N] (classifiers, eps &gt; 0)</term><description>r* = min over classes c other than the predicted p of (sqrt(g^2 + 2 K m) - g) / K, with m = f_p - f_c, g = ||E_pi_p[w] - E_pi_c[w]||, K = max(D_p^2, D_c^2) / (4 eps) and D a head's weight diameter (section 5): no change of standardised features shorter than r* changes the prediction. With a flow, the read-out's radius at z_L over the flow's Lipschitz bound (section 9).</description></item>
    /// </list>
    /// <para>With a flow the rows above are the read-out's, at the flow's terminal state z_L of width m (FeatureContributions
    /// is then [N, K, m], over z_L's coordinates, and distances are in z_L), and two more outputs explain the input:</para>
    /// <list type="table">
    /// <listheader><term>output</term><description>meaning</description></listheader>
    /// <item><term><c>InputContributions</c> float32 [N, K, d]</term><description>each head's integrated gradients over the input features along the straight path from the training means, in the embedding's output when the flow starts with one (section 9), on the engine's first rule: 32 Gauss–Legendre nodes (ModelExplainer.PathQuadratureNodes), each node's gradient by the flow's adjoint.</description></item>
    /// <item><term><c>BaselineScores</c> float32 [N, K]</term><description>each head's score at the training means; f_k - BaselineScores - sum_d InputContributions is the quadrature remainder (about 1e-6 of the score in float32 on smooth paths, where the engine's own is below 1e-9; the engine refines rows whose remainder is larger, the graph does not).</description></item>
    /// </list>
    /// <para>A flow whose read-out has eps = 0 exports no explanations (<see cref="NotSupportedException"/>): its gradient
    /// jumps along the path, where a fixed rule is not the engine's refined one.</para>
    /// </remarks>
    public bool IncludeExplanations { get; init; }

    /// <summary>
    /// How many support points per head the top-k outputs list (TopK on the Gibbs weights). Null means
    /// min(<see cref="DefaultTopSupportPoints"/>, pieces per head); a given value must lie in [1, pieces per head].
    /// </summary>
    public int? TopSupportPoints { get; init; }

    /// <summary>The k used for a model with <paramref name="pieces"/> pieces per head.</summary>
    /// <exception cref="ArgumentException"><see cref="TopSupportPoints"/> is outside [1, <paramref name="pieces"/>].</exception>
    internal int TopSupportPointsFor(int pieces)
    {
        if (TopSupportPoints is not { } requested)
        {
            return Math.Min(DefaultTopSupportPoints, pieces);
        }

        if (requested < 1 || requested > pieces)
        {
            throw new ArgumentException($"TopSupportPoints is {requested}; it must lie in [1, {pieces}] because each head has {pieces} support points.", nameof(TopSupportPoints));
        }

        return requested;
    }
}
