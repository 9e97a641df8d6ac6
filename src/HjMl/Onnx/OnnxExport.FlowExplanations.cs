using HjMl.Attribution;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Models;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Onnx;

// The explanation outputs through a flow: input-feature contributions by integrated gradients (ModelExplainer.Flow).
public static partial class OnnxExport
{
    /// <summary>
    /// Explanations of a model with a flow: each head's integrated gradients over the input features, float32 [N, K, d]
    /// (THEORY.md section 9 [derived]); with <see cref="BaselineScoresName"/> and the quadrature remainder they sum to the
    /// head's score.
    /// </summary>
    public const string InputContributionsName = "InputContributions";

    /// <summary>Explanations of a model with a flow: every head's score at the training means (the path's start), float32 [N, K].</summary>
    public const string BaselineScoresName = "BaselineScores";

    // The standardised features as HeadScores names them.
    private const string StandardisedFeaturesName = "standardised_features";

    /// <summary>
    /// Each head's integrated gradients through the flow, as <c>ModelExplainer.ExplainInputs</c> computes them on its
    /// first rule: c_kl = Delta_l sum_q omega_q (d f_k / d s_l)(s_0 + alpha_q Delta), with the Gauss–Legendre nodes
    /// alpha_q and weights omega_q of <see cref="ModelExplainer.PathQuadratureNodes"/> points on one panel. The path runs
    /// from the training means (s_0 = 0, Delta = the standardised row) in the input, or with a periodic embedding in its
    /// output (s_0 = z_0 of the training means, Delta = z_0(x) - s_0; coordinate l credited to the one feature it is a
    /// function of, see Group). All Q points of every row run through the flow in one batch of N Q rows; each head's
    /// co-state p_L = E_pi_k[w_k] at the point's z_L is carried back step by step,
    /// p_k = p_{k+1} + (dv_k/dz)^T p_{k+1} with (dv/dz)^T p = sum_j pi_j (s_j - E_pi[s]) a_j / eps and s_j = h u_j . p
    /// (h and 1/eps folded into the values and keys as in the forward graph), and through a lift by P^T.
    /// </summary>
    /// <remarks>
    /// The engine refines a row's rule (4, 16, 64 panels) while its remainder f(x) - f(0) - sum c exceeds 1e-9 of the
    /// value; the graph keeps the first rule, which is where the engine stops on smooth paths (every row of adult's
    /// default model), and reports its own remainder beside the contributions, so that the sum is exact in the graph too.
    /// </remarks>
    /// <exception cref="NotSupportedException">The read-out's eps is 0.</exception>
    private static void FlowInputContributions(OnnxGraphBuilder graph, HopfColeModel model, string headWeights)
    {
        if (model.Viscosity == 0)
        {
            throw new NotSupportedException($"Explanation outputs through a flow need a read-out with eps > 0; this model's is 0, so its gradient jumps wherever the maximal piece changes along the integration path, where the graph's fixed {ModelExplainer.PathQuadratureNodes}-point rule is not the engine's refined one. Export model.WithViscosity(eps) with some eps > 0, train with Viscosity > 0, or export without explanations (IncludeExplanations = false).");
        }

        GibbsFlow flow = model.Flow!;
        FlowShape shape = flow.Shape;
        int d = model.InputDimension;
        int m = shape.Width;
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        double[] nodes = ModelExplainer.Quadrature.Nodes;
        double[] weights = ModelExplainer.Quadrature.Weights;
        int count = nodes.Length;
        EmbeddingShape? embedding = shape.Embedding;
        int coordinates = embedding is null ? d : m;

        // The path's start and direction, [N, c].
        string direction;
        string? start = null;
        if (embedding is null)
        {
            direction = StandardisedFeaturesName;
        }
        else
        {
            var origin = new double[m];
            PeriodicEmbedding.Forward(embedding, flow.Parameters[..shape.LiftLength], new double[d], origin);
            start = graph.Floats("path_start", ToSingles(origin), m);
            string embedded = embedding.PassedThrough.Count == 0 ? "embedding_state" : "flow_state_0";
            direction = graph.Node("Sub", "path_direction", [embedded, start]);
        }

        // Points s_0 + alpha_q Delta, [N, Q, c] flattened to [N Q, c].
        string fractions = graph.Floats("path_nodes", ToSingles(nodes), count, 1);
        string directionRows = graph.Node("Unsqueeze", "path_direction_rows", [direction, graph.Int64s("path_row_axis", [1], 1)]);
        string steps = graph.Node("Mul", "path_steps", [directionRows, fractions]);
        string points = start is null ? steps : graph.Node("Add", "path_points_by_row", [steps, start]);
        string state = graph.Node("Flatten", "path_points", [points], Integer("axis", 2));
        if (shape.Lifted)
        {
            string lifted = graph.Node("MatMul", "path_lift_products", [state, "flow_lift"]);
            state = graph.Node("Add", "path_state_0", [lifted, "flow_lift_biases"]);
        }

        // Forward through the steps, keeping each step's Gibbs weights (all the adjoint needs: the keys and values are constants).
        var gibbs = new string[shape.Steps];
        for (int step = 0; step < shape.Steps; step++)
        {
            string set = shape.SharedControls ? "flow_shared" : $"flow_step{step}";
            string products = graph.Node("MatMul", $"path_step{step}_key_products", [state, set + "_keys"]);
            string logits = graph.Node("Add", $"path_step{step}_logits", [products, set + "_offsets"]);
            gibbs[step] = graph.Node("Softmax", $"path_step{step}_gibbs_weights", [logits], Integer("axis", -1));
            string velocity = graph.Node("MatMul", $"path_step{step}_displacement", [gibbs[step], set + "_values"]);
            state = graph.Node("Add", $"path_state_{step + 1}", [state, velocity]);
        }

        // Each head's co-state p_L = E_pi_k[w_k] at z_L (section 3), [N Q, K, m].
        string readoutProducts = graph.Node("MatMul", "path_weight_products", [state, "weights"]);
        string readoutFlat = graph.Node("Add", "path_logits_flat", [readoutProducts, "biases"]);
        string readoutLogits = graph.Node("Reshape", "path_logits", [readoutFlat, graph.Int64s("path_logits_shape", [0, heads, pieces], 3)]);
        string readoutGibbs = ReadoutGibbs(graph, readoutLogits);
        string gibbsRows = graph.Node("Unsqueeze", "path_gibbs_rows", [readoutGibbs, graph.Int64s("path_gibbs_axis", [2], 1)]);
        string expected = graph.Node("MatMul", "path_expected_weight_rows", [gibbsRows, headWeights]);
        string costate = graph.Node("Reshape", $"path_costate_{shape.Steps}", [expected, graph.Int64s("path_costate_shape", [0, heads, m], 3)]);

        string pieceAxis = shape.Steps == 0 ? string.Empty : graph.Int64s("path_piece_axis", [2], 1);
        string[] transposedKeys = new string[shape.ControlSets];
        string[] transposedValues = new string[shape.ControlSets];
        for (int step = shape.Steps - 1; step >= 0; step--)
        {
            int index = shape.SharedControls ? 0 : step;
            string set = shape.SharedControls ? "flow_shared" : $"flow_step{step}";
            if (transposedKeys[index] is null)
            {
                // ONNX Runtime folds these transposes of initialisers once, when the session is made.
                transposedKeys[index] = graph.Node("Transpose", set + "_keys_by_piece", [set + "_keys"], Integers("perm", 1, 0));
                transposedValues[index] = graph.Node("Transpose", set + "_values_by_coordinate", [set + "_values"], Integers("perm", 1, 0));
            }

            string pi = graph.Node("Unsqueeze", $"path_step{step}_gibbs_by_head", [gibbs[step], "path_row_axis"]);
            string projections = graph.Node("MatMul", $"path_step{step}_value_projections", [costate, transposedValues[index]]);
            string weighted = graph.Node("Mul", $"path_step{step}_weighted_projections", [pi, projections]);
            string mean = graph.Node("ReduceSum", $"path_step{step}_expected_projection", [weighted, pieceAxis], Integer("keepdims", 1));
            string centred = graph.Node("Sub", $"path_step{step}_centred_projections", [projections, mean]);
            string covariance = graph.Node("Mul", $"path_step{step}_covariance_weights", [pi, centred]);
            string pulled = graph.Node("MatMul", $"path_step{step}_pulled_back", [covariance, transposedKeys[index]]);
            costate = graph.Node("Add", $"path_costate_{step}", [costate, pulled]);
        }

        if (shape.Lifted)
        {
            // z_0 = P x + q, so d f / d x = P^T p_0; flow_lift holds P^T.
            string lift = graph.Node("Transpose", "flow_lift_by_coordinate", ["flow_lift"], Integers("perm", 1, 0));
            costate = graph.Node("MatMul", "path_input_gradients", [costate, lift]);
        }

        // The weighted sum over the nodes, [N, K, c], times Delta.
        string byRow = graph.Node("Reshape", "path_gradients_by_row", [costate, graph.Int64s("path_gradients_shape", [-1, count, heads, coordinates], 4)]);
        string nodeWeights = graph.Floats("path_weights", ToSingles(weights), count, 1, 1);
        string weightedGradients = graph.Node("Mul", "path_weighted_gradients", [byRow, nodeWeights]);
        string means = graph.Node("ReduceSum", "path_mean_gradients", [weightedGradients, graph.Int64s("path_node_axis", [1], 1)], Integer("keepdims", 0));
        string contributions = graph.Node("Mul", embedding is null ? InputContributionsName : "path_coordinate_contributions", [means, directionRows]);
        if (embedding is not null)
        {
            Group(graph, embedding, contributions, heads);
        }

        // Every head's score at the training means, computed once in double.
        var origins = new double[flow.InputDimension];
        var terminal = new double[m];
        flow.Transport(origins, terminal);
        var baseline = new double[heads];
        model.Layer.Evaluate(terminal, baseline);
        graph.Node("Expand", BaselineScoresName, [graph.Floats("baseline_scores", ToSingles(baseline), heads), graph.Node("Shape", "baseline_scores_shape", ["head_scores"])]);
    }

    // The read-out's Gibbs weights at the path's terminal states [N Q, K, P]: the softmax of logits / eps.
    private static string ReadoutGibbs(OnnxGraphBuilder graph, string logits)
    {
        string scaled = graph.Node("Div", "path_scaled_logits", [logits, "viscosity"]);
        return graph.Node("Softmax", "path_readout_gibbs", [scaled], Integer("axis", -1));
    }

    // Credits each z_0 coordinate's contribution to the input feature it is a function of (FlowPath.Group), [N, K, m] to
    // [N, K, d]: the passed-through coordinates as they are, each embedded feature's block of e summed (Slice, Reshape,
    // ReduceSum), then Gather puts the d columns in feature order.
    private static void Group(OnnxGraphBuilder graph, EmbeddingShape embedding, string coordinates, int heads)
    {
        int passed = embedding.PassedThrough.Count;
        int embedded = embedding.Features.Count;
        string axis = graph.Int64s("group_coordinate_axis", [2], 1);
        string blocks = graph.Node("Slice", "group_embedded_coordinates", [coordinates, graph.Int64s("group_embedded_start", [passed], 1), graph.Int64s("group_embedded_end", [passed + ((long)embedded * embedding.Width)], 1), axis]);
        string byFeature = graph.Node("Reshape", "group_embedded_blocks", [blocks, graph.Int64s("group_blocks_shape", [-1, heads, embedded, embedding.Width], 4)]);
        string sums = graph.Node("ReduceSum", "group_embedded_sums", [byFeature, graph.Int64s("group_block_axis", [3], 1)], Integer("keepdims", 0));
        string columns = sums;
        if (passed > 0)
        {
            string kept = graph.Node("Slice", "group_passed_coordinates", [coordinates, graph.Int64s("group_passed_start", [0], 1), graph.Int64s("group_passed_end", [passed], 1), axis]);
            columns = graph.Node("Concat", "group_columns", [kept, sums], Integer("axis", 2));
        }

        // Column i of [passed, embedded] is feature PassedThrough[i] or Features[i - passed]; feature f is read from its column.
        var position = new long[embedding.InputDimension];
        for (int i = 0; i < passed; i++)
        {
            position[embedding.PassedThrough[i]] = i;
        }

        for (int slot = 0; slot < embedded; slot++)
        {
            position[embedding.Features[slot]] = passed + slot;
        }

        graph.Node("Gather", InputContributionsName, [columns, graph.Int64s("group_column_of_feature", position, position.Length)], Integer("axis", 2));
    }
}
