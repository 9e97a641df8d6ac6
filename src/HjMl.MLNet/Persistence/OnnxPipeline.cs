using Google.Protobuf;
using HjMl.MLNet.DataView;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// What HjMl's transformers save in their place: a chain of ML.NET's own transformers around OnnxTransformer running
/// HjMl's ONNX export, so that the saved zip loads with plain ML.NET and Microsoft.ML.OnnxTransformer and has the same
/// output columns (names and types) as the live transformer. Each transformer builds its own chain from these helpers.
/// </summary>
/// <remarks>
/// <para>OnnxTransformer turns every tensor output into a vector column (the dynamic batch dimension counts as 1): [N]
/// becomes a vector of one float, and it cannot produce scalar columns (an output declared rank 0 fails its cast). ML.NET
/// offers no public transform from a one-slot vector to a scalar either, so each such output is read by a linear
/// regression transformer with weight exactly 1 and bias exactly 0, the identity, which ML.NET's online gradient
/// descent produces exactly from two examples (x, y) = (1, 1) and (-1, -1) at learning rate 1/4 (see
/// <see cref="Identity"/>); its Score is the output's float, bit for bit. Its results are copied to the final names,
/// Boolean predictions are recomputed from them with ML.NET's Expression transform (Score &gt; 0, as the graph does),
/// the multiclass class index is mapped back to the label's key type with a value mapping, and the intermediate
/// columns are dropped.</para>
/// <para>The graph's outputs are renamed "hjml.*" and its input is renamed to the feature column, because
/// OnnxTransformer binds inputs and outputs to columns by name.</para>
/// </remarks>
internal static class OnnxPipeline
{
    /// <summary>The prefix of every column and graph value a saved chain adds and drops again.</summary>
    public const string Prefix = "hjml.";

    /// <summary>A graph output named Prefix + Selected + column replaces the graph's outputs and is renamed Prefix + column.</summary>
    public const string Selected = "selected.";

    // The domain of ONNX's traditional machine learning operators (LabelEncoder).
    private const string MachineLearningDomain = "ai.onnx.ml";

    // The identity regression's label column; ML.NET's usual name, so the saved identity stage is what it always was.
    private const string IdentityLabel = "Label";

    /// <summary>
    /// Fits OnnxTransformer on HjMl's graph for <paramref name="model"/> (explanation outputs when
    /// <paramref name="exportOptions"/> asks), reading <paramref name="featureColumn"/> and producing the graph's
    /// <paramref name="outputs"/> as columns "hjml.&lt;output&gt;"; <paramref name="shapes"/> gets their sizes after the batch axis.
    /// </summary>
    public static ITransformer Apply(MLContext context, HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, string[] outputs, IDataView schemaSource, out Dictionary<string, int[]> shapes, Action<GraphProto>? selectOutputs = null)
    {
        byte[] graph = GraphFor(model, exportOptions, featureColumn, out shapes, selectOutputs);
        return ApplyGraph(context, graph, outputs.Select(output => Prefix + output).ToArray(), [featureColumn], shapes, schemaSource);
    }

    /// <summary>Fits OnnxTransformer on the serialised <paramref name="graph"/>, binding its inputs and outputs to the columns of the same names.</summary>
    public static ITransformer ApplyGraph(MLContext context, byte[] graph, string[] outputs, string[] inputs, Dictionary<string, int[]> shapes, IDataView schemaSource)
    {
        using var stream = new MemoryStream(graph);
        return context.Transforms.ApplyOnnxModel(outputs, inputs, stream, shapes, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100).Fit(schemaSource);
    }

    /// <summary>Fits OnnxTransformer on <paramref name="proto"/>, whose inputs and outputs have fixed shapes, binding them to the columns of the same names.</summary>
    public static ITransformer ApplyGraph(MLContext context, ModelProto proto, string[] outputs, string[] inputs, IDataView schemaSource)
        => ApplyGraph(context, proto.ToByteArray(), outputs, inputs, [], schemaSource);

    /// <summary>
    /// Gives <paramref name="column"/>, an output of <paramref name="proto"/>, the slot names <paramref name="names"/> in
    /// OnnxTransformer's own convention, which ML.NET's ONNX export writes: a LabelEncoder node named
    /// "mlnet.&lt;column&gt;.SlotNames" whose keys are the names, with an output "mlnet.&lt;column&gt;.unusedOutput" that
    /// OnnxTransformer leaves out of the columns. Its input is a one-element string made by casting an integer, because
    /// HjMl's ONNX subset writes no string tensors.
    /// </summary>
    public static void AddSlotNames(ModelProto proto, string column, IReadOnlyList<string> names)
    {
        string node = $"mlnet.{column}.SlotNames";
        var builder = new OnnxGraphBuilder("slot_names", string.Empty);
        string one = builder.Int64s(node + ".one", [1], 1, 1);
        string text = builder.Node("Cast", $"mlnet.{column}.unusedInput", [one], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.String));
        string output = builder.Node("LabelEncoder", $"mlnet.{column}.unusedOutput", [text]);
        NodeProto encoder = builder.Graph.Node[^1];
        encoder.Name = node;
        encoder.Domain = MachineLearningDomain;
        var keys = new AttributeProto { Name = "keys_strings", Type = AttributeProto.Types.AttributeType.Strings };
        keys.Strings.Add(names.Select(ByteString.CopyFromUtf8));
        encoder.Attribute.Add(keys);
        encoder.Attribute.Add(OnnxGraphBuilder.Integers("values_int64s", Enumerable.Range(0, names.Count).Select(index => (long)index).ToArray()));
        builder.Output(output, TensorProto.Types.DataType.Int64, string.Empty, 1, 1);
        builder.Graph.Node[0].Name = node + ".cast";
        proto.Graph.Node.Add(builder.Graph.Node);
        proto.Graph.Initializer.Add(builder.Graph.Initializer);
        proto.Graph.Output.Add(builder.Graph.Output);
        if (!proto.OpsetImport.Any(opset => opset.Domain == MachineLearningDomain))
        {
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = MachineLearningDomain, Version = 2 });
        }
    }

    /// <summary>HjMl's ONNX graph with its outputs renamed "hjml.*" and its input renamed to the feature column.</summary>
    internal static byte[] GraphFor(HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, out Dictionary<string, int[]> shapes, Action<GraphProto>? selectOutputs = null)
    {
        ModelProto proto = OnnxExport.Build(model, exportOptions);
        GraphProto graph = proto.Graph;
        selectOutputs?.Invoke(graph);
        var renames = graph.Output.ToDictionary(output => output.Name, output => output.Name.StartsWith(Prefix + Selected, StringComparison.Ordinal) ? Prefix + output.Name[(Prefix.Length + Selected.Length)..] : Prefix + output.Name);
        if (renames.ContainsValue(featureColumn) || featureColumn.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new NotSupportedException($"The feature column is named '{featureColumn}'; names starting with '{Prefix}' are reserved for HjMl's saved graph.");
        }

        renames[OnnxExport.FeaturesName] = featureColumn;
        foreach (NodeProto node in graph.Node)
        {
            Rename(node.Input, renames);
            Rename(node.Output, renames);
        }

        graph.Input[0].Name = featureColumn;

        // An [N] output becomes a one-slot vector by itself; an [N, K] output would become a [1, K] vector, so it is
        // flattened to [N*K] and OnnxTransformer is told its size, K, which gives a plain vector of K slots.
        shapes = [];
        foreach (ValueInfoProto output in graph.Output)
        {
            string name = renames[output.Name];
            output.Name = name;
            TensorShapeProto shape = output.Type.TensorType.Shape;
            if (shape.Dim.Count == 1)
            {
                continue;
            }

            int size = checked((int)shape.Dim.Skip(1).Aggregate(1L, (product, dimension) => product * dimension.DimValue));
            string matrix = name + ".matrix";
            foreach (NodeProto node in graph.Node)
            {
                Rename(node.Output, new Dictionary<string, string> { [name] = matrix });
                Rename(node.Input, new Dictionary<string, string> { [name] = matrix });
            }

            string flatShape = name + ".flat_shape";
            graph.Initializer.Add(new TensorProto { Name = flatShape, DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { -1 } });
            graph.Node.Add(new NodeProto { OpType = "Reshape", Name = name + ".flatten", Input = { matrix, flatShape }, Output = { name } });
            shape.Dim.Clear();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N_" + size });
            shapes[name] = [size];
        }

        return proto.ToByteArray();
    }

    /// <summary>
    /// Adds <paramref name="builder"/>'s nodes (their names prefixed with <paramref name="nodePrefix"/>) and initialisers
    /// to <paramref name="graph"/> and makes its outputs the graph's, after any of the graph's own outputs
    /// <paramref name="keep"/> names.
    /// </summary>
    public static void ReplaceOutputs(GraphProto graph, OnnxGraphBuilder builder, string nodePrefix, Func<ValueInfoProto, bool>? keep = null)
    {
        var kept = graph.Output.Where(output => keep?.Invoke(output) == true).ToList();
        graph.Output.Clear();
        foreach (NodeProto node in builder.Graph.Node)
        {
            node.Name = nodePrefix + node.Name;
        }

        graph.Node.Add(builder.Graph.Node);
        graph.Initializer.Add(builder.Graph.Initializer);
        graph.Output.Add(builder.Graph.Output);
        graph.Output.Add(kept);
    }

    /// <summary>An empty view with one column: <paramref name="name"/>, a vector of <paramref name="size"/> floats.</summary>
    public static IDataView FeaturesOnly(string name, int size)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single, size));
        return new EmptyDataView(builder.ToSchema());
    }

    /// <summary>
    /// A linear regression transformer reading the one-slot vector column <paramref name="column"/> with weight exactly 1
    /// and bias exactly 0, so that its Score is that slot's float. ML.NET's online gradient descent (squared loss,
    /// derivative 2(p - y), learning rate 1/4, no averaging, decay, regularisation or shuffling) gets there exactly from
    /// (1, 1): w = b = 1/2, then (-1, -1): p = 0, w = 1, b = 0; every step is a power of two, so nothing rounds.
    /// </summary>
    internal static ITransformer Identity(MLContext context, string column)
    {
        var examples = new InMemoryDataView((column, true, [[1f], [-1f]]), (IdentityLabel, false, [[1f], [-1f]]));
        var trainer = context.Regression.Trainers.OnlineGradientDescent(new OnlineGradientDescentTrainer.Options
        {
            FeatureColumnName = column,
            LabelColumnName = IdentityLabel,
            LearningRate = 0.25f,
            DecreaseLearningRate = false,
            L2Regularization = 0,
            NumberOfIterations = 1,
            Shuffle = false,
            Averaged = false,
            LossFunction = new SquaredLoss(),
        });
        RegressionPredictionTransformer<LinearRegressionModelParameters> identity = trainer.Fit(examples);
        IReadOnlyList<float> weights = identity.Model.Weights;
        if (weights.Count != 1 || weights[0] != 1f || identity.Model.Bias != 0f)
        {
            throw new InvalidOperationException($"ML.NET's online gradient descent gave weights [{string.Join(", ", weights)}] and bias {identity.Model.Bias} instead of exactly [1] and 0; this ML.NET cannot save HjMl models through ONNX.");
        }

        return identity;
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, Dictionary<string, string> renames)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (renames.TryGetValue(names[i], out string? renamed))
            {
                names[i] = renamed;
            }
        }
    }
}
