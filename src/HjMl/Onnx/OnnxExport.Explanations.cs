using HjMl.Attribution;
using HjMl.Models;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Onnx;

// The explanation outputs; their table is in OnnxExportOptions.IncludeExplanations' remarks.
public static partial class OnnxExport
{
    /// <summary>Explanations: the Gibbs weights pi_kj(x), float32 [N, K, pieces].</summary>
    public const string GibbsWeightsName = "GibbsWeights";

    /// <summary>Explanations: the k largest Gibbs weights of each head, float32 [N, K, k].</summary>
    public const string TopSupportWeightsName = "TopSupportWeights";

    /// <summary>Explanations: the piece indices of <see cref="TopSupportWeightsName"/>, int64 [N, K, k].</summary>
    public const string TopSupportIndicesName = "TopSupportIndices";

    /// <summary>Explanations: attribution entropy H(pi) per head, float32 [N, K].</summary>
    public const string AttributionEntropyName = "AttributionEntropy";

    /// <summary>
    /// Explanations: feature contributions z_d (E_pi[w])_d per head, float32 [N, K, d]; with a flow, at the read-out's
    /// input z_L, float32 [N, K, m] (the input features' are <see cref="InputContributionsName"/>).
    /// </summary>
    public const string FeatureContributionsName = "FeatureContributions";

    /// <summary>Explanations: E_pi[b] per head, float32 [N, K].</summary>
    public const string BiasTermsName = "BiasTerms";

    /// <summary>Explanations: the head-major index of the nearest support point, int64 [N].</summary>
    public const string NearestSupportIndexName = "NearestSupportIndex";

    /// <summary>Explanations: the training row of the nearest support point (-1 if unknown), int64 [N].</summary>
    public const string NearestSupportRowName = "NearestSupportRow";

    /// <summary>Explanations: the distance to the nearest support point in standardised units, float32 [N].</summary>
    public const string SupportDistanceName = "SupportDistance";

    /// <summary>Explanations (eps &gt; 0): SupportDistance / max(sqrt(2 eps t), CoverageRadius), float32 [N].</summary>
    public const string OutOfSupportScoreName = "OutOfSupportScore";

    /// <summary>Explanations (classifiers, eps &gt; 0): the certified radius in standardised units, float32 [N].</summary>
    public const string CertifiedRadiusName = "CertifiedRadius";

    private static void Explanations(OnnxGraphBuilder graph, HopfColeModel model, LseGraph lse, int top)
    {
        // The read-out's explanations are taken at its input: the standardised row, or a flow's terminal state z_L.
        int d = model.Layer.InputDimension;
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        string pieceAxis = graph.Int64s("explanation_piece_axis", [2], 1);
        string headShape = graph.Int64s("explanation_head_shape", [0, heads], 2);

        string gibbs;
        string entropyColumn;
        if (model.Viscosity == 0)
        {
            // The eps -> 0 limit of the Gibbs measure: uniform over the maximal logits, so H = log(number of ties).
            string isMaximum = graph.Node("Equal", "is_maximum_logit", [lse.Logits, lse.Maximum]);
            string mask = graph.Node("Cast", "maximum_logit_mask", [isMaximum], Integer("to", (long)DataType.Float));
            string ties = graph.Node("ReduceSum", "tie_count", [mask, pieceAxis], Integer("keepdims", 1));
            gibbs = graph.Node("Div", GibbsWeightsName, [mask, ties]);
            entropyColumn = graph.Node("Log", "entropy_column", [ties]);
        }
        else
        {
            gibbs = graph.Node("Div", GibbsWeightsName, [lse.Exponentials, lse.Sum]);

            // H = log S - sum_j pi_j (z_j - m) / eps, from log pi_j = (z_j - m)/eps - log S: no log of a vanishing weight,
            // and both terms are >= 0, so nothing cancels.
            // The floor (as in LogSumExp.ShiftedExponentials) keeps a scaled logit that overflowed to -infinity at tiny
            // eps from turning 0 * -infinity into NaN; below it exp underflows to 0 in float32 anyway.
            string floored = graph.Node("Max", "floored_scaled_logits", [lse.Scaled, graph.Floats("scaled_logit_floor", [-104f])]);
            string weighted = graph.Node("Mul", "weighted_scaled_logits", [gibbs, floored]);
            string expectation = graph.Node("ReduceSum", "expected_scaled_logit", [weighted, pieceAxis], Integer("keepdims", 1));
            entropyColumn = graph.Node("Sub", "entropy_column", [lse.LogSum, expectation]);
        }

        graph.Node("Reshape", AttributionEntropyName, [entropyColumn, headShape]);
        graph.Node("TopK", [TopSupportWeightsName, TopSupportIndicesName], [gibbs, graph.Int64s("top_support_count", [top], 1)], Integer("axis", 2), Integer("largest", 1), Integer("sorted", 1));

        // E_pi[w_k] as a batched [1, P] x [P, d] product per row and head: [N, K, 1, P] x [K, P, d] -> [N, K, 1, d].
        string gibbsRows = graph.Node("Reshape", "gibbs_rows", [gibbs, graph.Int64s("gibbs_rows_shape", [0, heads, 1, pieces], 4)]);
        // w_k as [K, P, d], from the logits' [d, K P] initialiser (ONNX Runtime folds this once, when the session is made).
        string weightsByHead = graph.Node("Reshape", "weights_by_head", ["weights", graph.Int64s("weights_by_head_shape", [d, heads, pieces], 3)]);
        string headWeights = graph.Node("Transpose", "head_weights", [weightsByHead], Integers("perm", 1, 2, 0));
        string expectedColumns = graph.Node("MatMul", "expected_weight_rows", [gibbsRows, headWeights]);
        string expectedWeights = graph.Node("Reshape", "expected_weights", [expectedColumns, graph.Int64s("expected_weights_shape", [0, heads, d], 3)]);
        string featureRows = graph.Node("Reshape", "standardised_rows", [lse.Standardised, graph.Int64s("standardised_rows_shape", [0, 1, d], 3)]);
        graph.Node("Mul", FeatureContributionsName, [expectedWeights, featureRows]);
        string headBiases = graph.Floats("head_biases", ToSingles(model.Layer.Biases), heads, pieces, 1);
        string expectedBias = graph.Node("MatMul", "expected_bias", [gibbsRows, headBiases]);
        graph.Node("Reshape", BiasTermsName, [expectedBias, headShape]);
        if (model.Flow is not null)
        {
            FlowInputContributions(graph, model, headWeights);
        }

        string distance = NearestSupport(graph, model, lse);
        if (model.Viscosity > 0)
        {
            // The same reference radius as ModelExplainer.Coverage: the diffusion radius sqrt(2 eps t), or the model's
            // calibrated coverage radius where that is larger.
            double radius = Math.Sqrt(2 * model.Viscosity * model.Time);
            if (!double.IsNaN(model.CoverageRadius))
            {
                radius = Math.Max(radius, model.CoverageRadius);
            }

            string inverseRadius = graph.Floats("inverse_coverage_radius", [Single(1 / radius, "1 / max(sqrt(2 eps t), coverage radius), the inverse in-support radius")]);
            graph.Node("Mul", OutOfSupportScoreName, [distance, inverseRadius]);
            if (model.Kind != ModelKind.Regression)
            {
                CertifiedRadius(graph, model, lse.HeadScores, expectedWeights);
            }
        }

        WriteExplanationOutputs(graph, model, top);
    }

    // THEORY.md section 6: the support point y_j = 2 t w_j nearest to the standardised row, and its distance.
    private static string NearestSupport(OnnxGraphBuilder graph, HopfColeModel model, LseGraph lse)
    {
        int d = model.Layer.InputDimension;
        int all = model.Layer.Biases.Length;
        ReadOnlySpan<double> weights = model.Layer.Weights;
        var support = new float[all * d];
        var squaredNorms = new float[all];
        var rows = new long[all];
        for (int piece = 0; piece < all; piece++)
        {
            double squaredNorm = 0;
            for (int k = 0; k < d; k++)
            {
                double y = 2 * model.Time * weights[(piece * d) + k];
                support[(piece * d) + k] = Single(y, $"support point coordinate 2 t w of piece {piece}");
                squaredNorm += y * y;
            }

            squaredNorms[piece] = Single(squaredNorm, $"|y|^2 of piece {piece}");
            rows[piece] = model.SupportRows[piece];
        }

        // argmin_j |z - y_j|^2 = argmin_j (|y_j|^2 - 2 z . y_j), and 2 z . y_j = 4 t (z . w_j) reuses the logits' product.
        // The distance itself is then taken directly, since the expanded form loses all precision near a support point.
        string fourTime = graph.Floats("four_time", [Single(4 * model.Time, "4 t")]);
        string cross = graph.Node("Mul", "support_cross_terms", [lse.Products, fourTime]);
        string proxy = graph.Node("Sub", "support_distance_proxy", [graph.Floats("support_squared_norms", squaredNorms, all), cross]);
        string index = graph.Node("ArgMin", NearestSupportIndexName, [proxy], Integer("axis", 1), Integer("keepdims", 0), Integer("select_last_index", 0));
        string nearest = graph.Node("Gather", "nearest_support_point", [graph.Floats("support_points", support, all, d), index], Integer("axis", 0));
        graph.Node("Gather", NearestSupportRowName, [graph.Int64s("support_rows", rows, all), index], Integer("axis", 0));
        string difference = graph.Node("Sub", "support_difference", [lse.Standardised, nearest]);
        string squares = graph.Node("Mul", "support_difference_squares", [difference, difference]);
        string sum = graph.Node("ReduceSum", "support_squared_distance", [squares, graph.Int64s("feature_axis", [1], 1)], Integer("keepdims", 0));
        return graph.Node("Sqrt", SupportDistanceName, [sum]);
    }

    // THEORY.md section 5, for the predicted head p against every other head c, written as 2m / (sqrt(g^2 + 2Km) + g),
    // which equals (sqrt(g^2 + 2Km) - g) / K but does not cancel when 2Km is small against g^2.
    private static void CertifiedRadius(OnnxGraphBuilder graph, HopfColeModel model, string headScores, string expectedWeights)
    {
        int heads = model.Layer.NumberOfHeads;
        var curvature = new float[heads * heads];
        for (int p = 0; p < heads; p++)
        {
            for (int c = 0; c < heads; c++)
            {
                double diameter = Math.Max(model.Layer.WeightDiameter(p), model.Layer.WeightDiameter(c));
                curvature[(p * heads) + c] = Single(diameter * diameter / (4 * model.Viscosity), $"the curvature bound max(D^2) / (4 eps) of heads {p} and {c}");
            }
        }

        var headIndices = new long[heads];
        for (int k = 0; k < heads; k++)
        {
            headIndices[k] = k;
        }

        string predicted = graph.Node("ArgMax", "radius_predicted_head", [headScores], Integer("axis", 1), Integer("keepdims", 1), Integer("select_last_index", 0));
        string isPredicted = graph.Node("Equal", "is_predicted_head", [graph.Int64s("head_indices", headIndices, heads), predicted]);
        string predictedMask = graph.Node("Cast", "predicted_head_mask", [isPredicted], Integer("to", (long)DataType.Float));
        string maskRows = graph.Node("Reshape", "predicted_head_rows", [predictedMask, graph.Int64s("predicted_head_rows_shape", [0, 1, heads], 3)]);
        string predictedWeights = graph.Node("MatMul", "predicted_expected_weight", [maskRows, expectedWeights]);
        string gradients = graph.Node("Sub", "margin_gradients", [predictedWeights, expectedWeights]);
        string gradientSquares = graph.Node("Mul", "margin_gradient_squares", [gradients, gradients]);
        string squaredNorms = graph.Node("ReduceSum", "margin_gradient_squared_norms", [gradientSquares, graph.Int64s("radius_feature_axis", [2], 1)], Integer("keepdims", 0));
        string norms = graph.Node("Sqrt", "margin_gradient_norms", [squaredNorms]);
        string best = graph.Node("ReduceMax", "radius_best_score", [headScores], Integers("axes", 1), Integer("keepdims", 1));
        string margins = graph.Node("Sub", "class_margins", [best, headScores]);
        string curvatureRows = graph.Node("Gather", "curvature_bound_rows", [graph.Floats("curvature_bounds", curvature, heads, heads), predicted], Integer("axis", 0));
        string curvatureBounds = graph.Node("Reshape", "curvature_bound", [curvatureRows, graph.Int64s("curvature_bound_shape", [0, heads], 2)]);
        string curvatureMargins = graph.Node("Mul", "curvature_margins", [curvatureBounds, margins]);
        string twiceCurvatureMargins = graph.Node("Add", "twice_curvature_margins", [curvatureMargins, curvatureMargins]);
        string root = graph.Node("Sqrt", "radius_root", [graph.Node("Add", "radius_discriminant", [squaredNorms, twiceCurvatureMargins])]);
        string denominator = graph.Node("Add", "radius_denominator", [root, norms]);

        // m = 0 and g = 0 (a tie with equal gradients) would be 0/0; the radius there is 0.
        string safeDenominator = graph.Node("Max", "radius_safe_denominator", [denominator, graph.Floats("smallest_normal", [BitConverter.Int32BitsToSingle(0x0080_0000)])]);
        string twiceMargins = graph.Node("Add", "twice_class_margins", [margins, margins]);
        string radii = graph.Node("Div", "class_radii", [twiceMargins, safeDenominator]);
        string others = graph.Node("Where", "other_class_radii", [isPredicted, graph.Floats("largest_float", [float.MaxValue]), radii]);
        if (model.Flow is not { } flow)
        {
            graph.Node("ReduceMin", CertifiedRadiusName, [others], Integers("axes", 1), Integer("keepdims", 0));
            return;
        }

        // Section 9: the read-out's radius at z_L over the flow's Lipschitz bound (0 where the bound is 0: an embedding
        // of constant features, which certifies nothing, as ModelExplainer.ThroughFlow).
        double lipschitz = flow.LipschitzBound();
        string terminalRadius = graph.Node("ReduceMin", "terminal_certified_radius", [others], Integers("axes", 1), Integer("keepdims", 0));
        float inverse = lipschitz > 0 ? Single(1 / lipschitz, "1 / the flow's Lipschitz bound") : 0f;
        graph.Node("Mul", CertifiedRadiusName, [terminalRadius, graph.Floats("inverse_lipschitz_bound", [inverse])]);
    }

    private static void WriteExplanationOutputs(OnnxGraphBuilder graph, HopfColeModel model, int top)
    {
        int d = model.Layer.InputDimension;
        bool flow = model.Flow is not null;
        string space = flow ? "the flow's terminal state z_L" : "standardised features";
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        graph.Output(GibbsWeightsName, DataType.Float, "Gibbs weights pi_kj(x) of each head's support points (THEORY.md section 3).", BatchDimension, heads, pieces);
        graph.Output(TopSupportWeightsName, DataType.Float, $"The {top} largest Gibbs weights of each head, largest first.", BatchDimension, heads, top);
        graph.Output(TopSupportIndicesName, DataType.Int64, "Piece indices j of TopSupportWeights within each head.", BatchDimension, heads, top);
        graph.Output(AttributionEntropyName, DataType.Float, "Attribution entropy H(pi) per head, nats in [0, log pieces] (section 4).", BatchDimension, heads);
        graph.Output(FeatureContributionsName, DataType.Float, $"Feature contributions z_d (E_pi[w])_d per head on {space} (section 4).", BatchDimension, heads, d);
        graph.Output(BiasTermsName, DataType.Float, "E_pi[b] per head; contributions + BiasTerms + eps * AttributionEntropy = the head's score.", BatchDimension, heads);
        graph.Output(NearestSupportIndexName, DataType.Int64, "Head-major index of the nearest support point y = 2 t w.", BatchDimension);
        graph.Output(NearestSupportRowName, DataType.Int64, "Training row of the nearest support point (-1 if unknown).", BatchDimension);
        graph.Output(SupportDistanceName, DataType.Float, $"Distance to the nearest support point on {space}.", BatchDimension);
        if (model.Viscosity > 0)
        {
            graph.Output(OutOfSupportScoreName, DataType.Float, "SupportDistance / max(sqrt(2 eps t), the model's calibrated coverage radius); above 1 means out of support (section 6).", BatchDimension);
            if (model.Kind != ModelKind.Regression)
            {
                graph.Output(CertifiedRadiusName, DataType.Float, "Certified radius in standardised units: no smaller change flips the prediction (section 5; through a flow, section 9).", BatchDimension);
            }
        }

        if (flow)
        {
            int features = model.InputDimension;
            graph.Output(InputContributionsName, DataType.Float, $"Each head's integrated gradients over the {features} input features along the straight path from the training means (section 9; {ModelExplainer.PathQuadratureNodes} Gauss–Legendre nodes).", BatchDimension, heads, features);
            graph.Output(BaselineScoresName, DataType.Float, "Each head's score at the training means; with sum_d InputContributions and the quadrature remainder, the head's score.", BatchDimension, heads);
        }
    }

    private static float[] ToSingles(ReadOnlySpan<double> values)
    {
        // The prediction graph has already refused values beyond float32's range.
        var singles = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            singles[i] = (float)values[i];
        }

        return singles;
    }
}
