using System.Globalization;
using HjMl.Ensembles;
using HjMl.MLNet.Columns;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// The ONNX graph a saved ensemble runs in OnnxTransformer: the members' prediction columns in, the combined scores out,
/// computed as <see cref="MemberScores"/> and <see cref="EnsembleRule.Combine"/> compute them, in float32.
/// </summary>
/// <remarks>
/// <para><b>Guard.</b> A member output that is NaN or infinite fails the graph (<see cref="ScoringGraph.Guard"/>), as the
/// live ensemble refuses it, before any floor could hide a NaN.</para>
/// <para><b>Scores.</b> Regression: the Scores as they are. Binary: m_k = log max(P_k, floor) - log max(1 - P_k, floor).
/// Multiclass: s_kc = log max(P_kc, floor). Laid out [K, C].</para>
/// <para><b>Gibbs weights.</b> The combined scores are alpha [1, K] times the scores [K, C] (MatMul): sum_k alpha_k s_k.</para>
/// <para><b>Log-sum-exp pooling</b> (the engine's <c>LogSumExpPooling</c>, every log-sum-exp max-shifted):
/// regression (LSE_e(s) - LSE_e(-s)) / 2 with e = eps times the label scale, (max + min) / 2 at e = 0; classifiers
/// normalise each member's class scores (binary: (0, m_k)) to log-probabilities l_kc = s_kc - LSE_1(s_k), pool each
/// class over members, LSE_eps(l_c) - eps log K (the maximum at eps = 0), and the binary score is pooled positive minus
/// pooled negative.</para>
/// <para><b>Outputs.</b> Regression Score [1]; binary Score [1], the combined margin (and the placeholders of
/// <see cref="PredictionStages.BinaryPlaceholders"/>); multiclass the probabilities softmax(scores) [C] and the index
/// of the largest as Score [1]. <see cref="PredictionStages"/> turns them into ML.NET's columns.</para>
/// </remarks>
internal static class EnsembleGraph
{
    /// <summary>The graph's input: the members' source columns concatenated, float32 [1, K * C], member-major.</summary>
    public const string Members = OnnxPipeline.Prefix + "members";

    private const string Prefix = OnnxPipeline.Prefix + "ensemble.";

    /// <summary>The graph for <paramref name="ensemble"/> and the outputs OnnxTransformer must produce, in order.</summary>
    public static ModelProto Build(ViscosityEnsembleTransformer ensemble, out string[] outputs)
    {
        EnsembleRule rule = ensemble.Rule;
        int count = rule.NumberOfMembers, outputLength = rule.OutputLength;
        var graph = new OnnxGraphBuilder("hjml_viscosity_ensemble", $"The viscosity ensemble's {rule.Combination} at eps = {rule.Viscosity.ToString("R", CultureInfo.InvariantCulture)} over {count} members.");
        graph.Input(Members, DataType.Float, "Member outputs, member-major: Score (regression), Probability (binary), the Score probabilities (multiclass).", 1, count * outputLength);
        string values = ScoringGraph.Guard(graph, Members, count * outputLength);
        string scores = MemberScoreNodes(graph, ensemble.Kind, values, count, outputLength);
        string combined = rule.Combination == EnsembleCombination.GibbsWeights
            ? graph.Node("MatMul", Prefix + "combined", [graph.Floats(Prefix + "weights", [.. rule.GlobalWeights.Select(weight => (float)weight)], 1, count), scores])
            : ensemble.Kind == ModelKind.Regression
                ? RegressionPool(graph, scores, (float)(rule.Viscosity * rule.LabelScale))
                : ClassPool(graph, ensemble.Kind, scores, (float)rule.Viscosity, count);

        string score = DefaultColumnNames.Score;
        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                graph.Node("Reshape", score, [combined, graph.Int64s(Prefix + "one", [1], 1)]);
                graph.Output(score, DataType.Float, "The combined score.", 1);
                outputs = [score];
                break;
            case ModelKind.BinaryClassification:
                graph.Node("Reshape", score, [combined, graph.Int64s(Prefix + "one", [1], 1)]);
                graph.Output(score, DataType.Float, "The combined margin.", 1);
                outputs = PredictionStages.BinaryPlaceholders(graph, score, Members);
                break;
            default:
                string softmax = graph.Node("Softmax", Prefix + "softmax", [combined], OnnxGraphBuilder.Integer("axis", -1));
                string probabilities = graph.Node("Reshape", PredictionStages.Probabilities, [softmax, graph.Int64s(Prefix + "classes", [outputLength], 1)]);
                string index = graph.Node("ArgMax", Prefix + "class_index", [probabilities], OnnxGraphBuilder.Integer("axis", 0), OnnxGraphBuilder.Integer("keepdims", 1), OnnxGraphBuilder.Integer("select_last_index", 0));
                graph.Node("Cast", score, [index], OnnxGraphBuilder.Integer("to", (long)DataType.Float));
                graph.Output(probabilities, DataType.Float, "Combined class probabilities.", outputLength);
                graph.Output(score, DataType.Float, "The largest slot.", 1);
                outputs = [probabilities, score];
                break;
        }

        return ScoringGraph.Model(graph.Graph);
    }

    // The guarded member outputs [K * C] as the rule's scores [K, C] (see the remarks).
    private static string MemberScoreNodes(OnnxGraphBuilder graph, ModelKind kind, string values, int count, int outputLength)
    {
        string matrix = graph.Int64s(Prefix + "member_shape", [count, outputLength], 2);
        if (kind == ModelKind.Regression)
        {
            return graph.Node("Reshape", Prefix + "scores", [values, matrix]);
        }

        string floor = graph.Floats(Prefix + "floor", [MemberScores.ProbabilityFloor]);
        string logProbability = graph.Node("Log", Prefix + "log_probability", [graph.Node("Max", Prefix + "floored", [values, floor])]);
        if (kind == ModelKind.BinaryClassification)
        {
            string complement = graph.Node("Sub", Prefix + "complement", [graph.Floats(Prefix + "unit", [1f]), values]);
            string logComplement = graph.Node("Log", Prefix + "log_complement", [graph.Node("Max", Prefix + "complement_floored", [complement, floor])]);
            logProbability = graph.Node("Sub", Prefix + "margins", [logProbability, logComplement]);
        }

        return graph.Node("Reshape", Prefix + "scores", [logProbability, matrix]);
    }

    // (LSE_e(s) - LSE_e(-s)) / 2 over members, [1, 1]; at e = 0 the midrange (max + min) / 2.
    private static string RegressionPool(OnnxGraphBuilder graph, string scores, float scaled)
    {
        string upper, lower;
        if (scaled > 0)
        {
            upper = LogSumExp(graph, scores, scaled, 0, "upper");
            string negated = graph.Node("Neg", Prefix + "negated", [scores]);
            lower = graph.Node("Neg", Prefix + "lower", [LogSumExp(graph, negated, scaled, 0, "lower_negated")]);
        }
        else
        {
            upper = graph.Node("ReduceMax", Prefix + "upper", [scores], OnnxGraphBuilder.Integers("axes", 0), OnnxGraphBuilder.Integer("keepdims", 1));
            lower = graph.Node("ReduceMin", Prefix + "lower", [scores], OnnxGraphBuilder.Integers("axes", 0), OnnxGraphBuilder.Integer("keepdims", 1));
        }

        return graph.Node("Mul", Prefix + "combined", [graph.Node("Add", Prefix + "sum", [upper, lower]), graph.Floats(Prefix + "half", [0.5f])]);
    }

    // Each class's member log-probabilities pooled by LSE_eps - eps log K, [1, C]; binary gives pooled(1) - pooled(0), [1, 1].
    private static string ClassPool(OnnxGraphBuilder graph, ModelKind kind, string scores, float viscosity, int count)
    {
        if (kind == ModelKind.BinaryClassification)
        {
            string zeros = graph.Node("Sub", Prefix + "zeros", [scores, scores]);
            scores = graph.Node("Concat", Prefix + "class_scores", [zeros, scores], OnnxGraphBuilder.Integer("axis", 1));
        }

        string normaliser = LogSumExp(graph, scores, 1f, 1, "normaliser");
        string logProbabilities = graph.Node("Sub", Prefix + "log_probabilities", [scores, normaliser]);
        string pooled = viscosity > 0
            ? graph.Node("Sub", Prefix + "pooled", [LogSumExp(graph, logProbabilities, viscosity, 0, "pool"), graph.Floats(Prefix + "log_count", [(float)(viscosity * Math.Log(count))])])
            : graph.Node("ReduceMax", Prefix + "pooled", [logProbabilities], OnnxGraphBuilder.Integers("axes", 0), OnnxGraphBuilder.Integer("keepdims", 1));
        return kind == ModelKind.BinaryClassification
            ? graph.Node("MatMul", Prefix + "combined", [pooled, graph.Floats(Prefix + "difference", [-1f, 1f], 2, 1)])
            : pooled;
    }

    // m + eps log sum exp((x - m) / eps) along axis, kept as a size-1 axis (THEORY.md section 1, max-shifted).
    private static string LogSumExp(OnnxGraphBuilder graph, string x, float viscosity, long axis, string name)
    {
        string prefix = Prefix + name + ".";
        string maximum = graph.Node("ReduceMax", prefix + "maximum", [x], OnnxGraphBuilder.Integers("axes", axis), OnnxGraphBuilder.Integer("keepdims", 1));
        string shifted = graph.Node("Div", prefix + "shifted", [graph.Node("Sub", prefix + "difference", [x, maximum]), graph.Floats(prefix + "viscosity", [viscosity])]);
        string sum = graph.Node("ReduceSum", prefix + "sum", [graph.Node("Exp", prefix + "exponentials", [shifted]), graph.Int64s(prefix + "axis", [axis], 1)], OnnxGraphBuilder.Integer("keepdims", 1));
        string scaled = graph.Node("Mul", prefix + "scaled_log", [graph.Node("Log", prefix + "log", [sum]), graph.Floats(prefix + "viscosity_factor", [viscosity])]);
        return graph.Node("Add", prefix + "value", [maximum, scaled]);
    }
}
