using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// The ONNX graphs a saved pipeline runs in OnnxTransformer, one row per run: HjMl's own export of the model up to its
/// head scores, a guard that refuses a row the live transformer refuses, and each task's outputs.
/// </summary>
/// <remarks>
/// <para>The head scores f_k are <see cref="OnnxExport"/>'s (standardisation, flow, logits and the max-shifted log-sum-exp
/// of THEORY.md section 1), node for node, so a saved prediction's Score is, bit for bit, the float32 value every other
/// saved HjMl graph computes for the same row (the GibbsAttribution transform's ExplainedScore among them).</para>
/// <para><b>Guard.</b> The live transformer throws on a NaN or infinite feature. A non-finite feature makes every logit
/// of the row non-finite, and every head score NaN or infinite, so the graph keeps the head scores only where
/// v - v == v - v (false for NaN and infinity: Sub, Equal, Compress) and reshapes what is kept to the K values it must
/// hold; a row that lost one makes that Reshape fail, and ONNX Runtime's error names the node, whose name is
/// <see cref="GuardMessage"/>. A finite row whose scores overflow float32 (features near 1e38) is refused too, where the
/// live transformer, in double, would score it.</para>
/// </remarks>
internal static class ScoringGraph
{
    /// <summary>The guard node's name, which is what ONNX Runtime's error shows when a row is refused.</summary>
    public const string GuardMessage = "HjMl refuses this row: a feature is NaN or infinite (or so large that the model overflows float32); features must be finite, as for the model before it was saved";

    private const string Prefix = OnnxPipeline.Prefix;

    // The value of HjMl's export holding the head scores f_k, float32 [N, K], before the task's outputs.
    private const string ExportedHeadScores = "head_scores";

    /// <summary>
    /// A graph reading <paramref name="featureColumn"/>, float32 [1, d], whose head scores f_k pass the guard as
    /// <c>values</c>, float32 [K]; <paramref name="build"/> adds the task's nodes and outputs to the builder it is given,
    /// which already declares <c>values</c>.
    /// </summary>
    public static ModelProto Build(HopfColeModel model, string featureColumn, Action<OnnxGraphBuilder, string> build)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (featureColumn.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new NotSupportedException($"The feature column is named '{featureColumn}'; names starting with '{Prefix}' are reserved for HjMl's saved graph.");
        }

        string kind = OnnxExport.KindName(model.Kind);
        var front = new OnnxGraphBuilder("hjml_saved_" + kind, $"A HjMl Hopf–Cole {kind} model as ML.NET's OnnxTransformer runs it, one row at a time.");
        front.Input(featureColumn, DataType.Float, "Raw features, float32 [1, d].", 1, model.InputDimension);
        string values = Spliced(front.Graph, model, featureColumn);

        int heads = model.Layer.NumberOfHeads;
        var tail = new OnnxGraphBuilder("tail", string.Empty);
        tail.Input(values, DataType.Float, string.Empty, 1, heads);
        string guarded = Guard(tail, values, heads);
        build(tail, guarded);
        Append(front.Graph, tail.Graph, "hjml.tail.");
        return Model(front.Graph);
    }

    /// <summary>A ModelProto around <paramref name="graph"/> with the opset HjMl's graphs use.</summary>
    public static ModelProto Model(GraphProto graph)
    {
        var proto = new ModelProto { IrVersion = OnnxExport.IrVersion, ProducerName = "HjMl", ProducerVersion = HjMl.Persistence.ModelFile.LibraryVersion, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxExport.Opset });
        return proto;
    }

    /// <summary>
    /// The guard (see remarks): keeps <paramref name="values"/> ([1, K]) where they are finite and reshapes them to
    /// [<paramref name="count"/>], which fails, naming <see cref="GuardMessage"/>, when one was not.
    /// </summary>
    public static string Guard(OnnxGraphBuilder graph, string values, int count)
    {
        string difference = graph.Node("Sub", Prefix + "guard_difference", [values, values]);
        string finite = graph.Node("Equal", Prefix + "guard_finite", [difference, difference]);
        string kept = graph.Node("Compress", Prefix + "guard_kept", [values, finite]);
        string guarded = graph.Node("Reshape", Prefix + "values", [kept, graph.Int64s(Prefix + "values_shape", [count], 1)]);
        graph.Graph.Node[^1].Name = GuardMessage;
        return guarded;
    }

    // Adds the nodes, initialisers and outputs of the tail (whose inputs the graph already computes), its node names
    // prefixed so they cannot meet the graph's, except the guard, whose name is its message.
    private static void Append(GraphProto graph, GraphProto tail, string nodePrefix)
    {
        foreach (NodeProto node in tail.Node)
        {
            node.Name = node.Name == GuardMessage ? node.Name : nodePrefix + node.Name;
        }

        graph.Node.Add(tail.Node);
        graph.Initializer.Add(tail.Initializer);
        graph.Output.Add(tail.Output);
    }

    /// <summary>
    /// The logits of the first <paramref name="heads"/> heads over eps, a = (x - mu) (W / (s eps))^T + b / eps, float32
    /// [1, heads * pieces] head-major (eps = 0 divides by 1), or null when a folded parameter is not a finite float32:
    /// 1/scale and 1/eps are folded into the weights in double before rounding, and the mean stays a subtraction of its
    /// own, because folding it into the bias would cancel catastrophically for features far from zero.
    /// </summary>
    public static string? ScaledLogits(OnnxGraphBuilder graph, HopfColeModel model, string featureColumn, int heads)
    {
        int d = model.InputDimension;
        int pieces = model.Layer.NumberOfPieces;
        int all = heads * pieces;
        double divisor = model.Viscosity > 0 ? model.Viscosity : 1;
        var means = new float[d];
        var weights = new float[d * all];
        var biases = new float[all];
        ReadOnlySpan<double> layerWeights = model.Layer.Weights;
        for (int k = 0; k < d; k++)
        {
            means[k] = (float)model.Scaling.Means[k];
            if (!float.IsFinite(means[k]))
            {
                return null;
            }
        }

        for (int piece = 0; piece < all; piece++)
        {
            for (int k = 0; k < d; k++)
            {
                // MatMul wants [d, heads*pieces], column (k*pieces + j) holding w_kj, so logits come out head-major.
                float weight = (float)(layerWeights[(piece * d) + k] / model.Scaling.Scales[k] / divisor);
                weights[(k * all) + piece] = weight;
                if (!float.IsFinite(weight))
                {
                    return null;
                }
            }

            biases[piece] = (float)(model.Layer.Biases[piece] / divisor);
            if (!float.IsFinite(biases[piece]))
            {
                return null;
            }
        }

        string centred = graph.Node("Sub", Prefix + "centred", [featureColumn, graph.Floats(Prefix + "means", means, d)]);
        string products = graph.Node("MatMul", Prefix + "products", [centred, graph.Floats(Prefix + "weights", weights, d, all)]);
        return graph.Node("Add", Prefix + "logits", [products, graph.Floats(Prefix + "biases", biases, all)]);
    }

    // HjMl's own export of the model (flow included) up to its head scores f_k, every value renamed into the saved
    // graph's namespace and its input renamed to the feature column.
    private static string Spliced(GraphProto graph, HopfColeModel model, string featureColumn)
    {
        GraphProto exported = OnnxExport.Build(model).Graph;
        int last = exported.Node.ToList().FindLastIndex(node => node.Output.Contains(ExportedHeadScores));
        if (last < 0)
        {
            throw new InvalidOperationException($"HjMl's ONNX export has no '{ExportedHeadScores}' value; the saved graph cannot be built from it.");
        }

        string Renamed(string name) => name.Length == 0 ? name : name == OnnxExport.FeaturesName ? featureColumn : Prefix + "exported." + name;
        foreach (NodeProto node in exported.Node.Take(last + 1))
        {
            var copy = node.Clone();
            copy.Name = Prefix + "exported." + node.Name;
            for (int i = 0; i < copy.Input.Count; i++)
            {
                copy.Input[i] = Renamed(copy.Input[i]);
            }

            for (int i = 0; i < copy.Output.Count; i++)
            {
                copy.Output[i] = Renamed(copy.Output[i]);
            }

            graph.Node.Add(copy);
        }

        // Only the initializers the kept nodes read: ONNX Runtime warns about (and drops) the rest, the output stage's.
        var used = exported.Node.Take(last + 1).SelectMany(node => node.Input).ToHashSet(StringComparer.Ordinal);
        foreach (TensorProto initializer in exported.Initializer.Where(initializer => used.Contains(initializer.Name)))
        {
            var copy = initializer.Clone();
            copy.Name = Renamed(initializer.Name);
            graph.Initializer.Add(copy);
        }

        return Renamed(ExportedHeadScores);
    }
}
