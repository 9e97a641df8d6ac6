using System.Text.Json;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using HjMl.Tests.Persistence;
using HjMl.Tests.Support;

namespace HjMl.Tests.Onnx;

/// <summary>The exported graph's structure, metadata and refusals, read back from the protobuf without a runtime.</summary>
public sealed class OnnxExportTests
{
    public static TheoryData<string> Kinds => ["regression", "binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void GraphNeverExponentiatesUnshiftedLogits(string kind)
    {
        foreach (bool explanations in new[] { false, true })
        {
            AssertEveryExpIsShifted(OnnxExport.Build(ModelFileTests.Model(kind), new OnnxExportOptions { IncludeExplanations = explanations }).Graph);
        }
    }

    private static void AssertEveryExpIsShifted(GraphProto graph)
    {
        Dictionary<string, NodeProto> producers = Producers(graph);
        NodeProto[] exponentials = graph.Node.Where(node => node.OpType == "Exp").ToArray();
        Assert.NotEmpty(exponentials);
        foreach (NodeProto exp in exponentials)
        {
            // exp((z - max z) / eps) or, for the class probabilities, exp(f - max f).
            NodeProto argument = producers[exp.Input[0]];
            NodeProto shift = argument.OpType == "Div" ? producers[argument.Input[0]] : argument;
            Assert.Equal("Sub", shift.OpType);
            NodeProto maximum = producers[shift.Input[1]];
            Assert.Equal("ReduceMax", maximum.OpType);
            Assert.Equal(shift.Input[0], maximum.Input[0]);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void HeadsUseTheMaxShiftedLogSumExpChain(string kind)
    {
        GraphProto graph = OnnxExport.Build(ModelFileTests.Model(kind)).Graph;
        string[] operators = graph.Node.Select(node => node.OpType).ToArray();
        string[] expected = ["Sub", "Div", "MatMul", "Add", "Reshape", "ReduceMax", "Sub", "Div", "Exp", "ReduceSum", "Log", "Mul", "Add", "Reshape"];
        Assert.Equal(expected, operators.Take(expected.Length));
        Assert.Equal([OnnxExport.FeaturesName, "feature_means"], graph.Node[0].Input);
    }

    [Theory]
    [InlineData("regression")]
    [InlineData("binary")]
    public void ZeroViscosityIsAPlainReduceMax(string kind)
    {
        HopfColeModel model = ModelFileTests.Model(kind).WithViscosity(0);
        GraphProto graph = OnnxExport.Build(model).Graph;
        NodeProto heads = Assert.Single(graph.Node, node => node.OpType == "ReduceMax");
        Assert.Equal("head_scores", heads.Output.Single());
        Assert.DoesNotContain(graph.Node, node => node.OpType is "Exp" or "Log" or "ReduceSum");
    }

    [Fact]
    public void ModelDeclaresOpset17IrVersion8AndADynamicBatch()
    {
        ModelProto model = OnnxExport.Build(ModelFileTests.Model("multiclass"));
        Assert.Equal(8, model.IrVersion);
        OperatorSetIdProto opset = Assert.Single(model.OpsetImport);
        Assert.Equal(string.Empty, opset.Domain);
        Assert.Equal(17, opset.Version);
        ValueInfoProto features = Assert.Single(model.Graph.Input);
        Assert.Equal(OnnxExport.FeaturesName, features.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, features.Type.TensorType.ElemType);
        Assert.Equal(OnnxExport.BatchDimension, features.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(4, features.Type.TensorType.Shape.Dim[1].DimValue);
    }

    [Fact]
    public void MetadataNamesVersionKindViscosityAndFeatures()
    {
        HopfColeModel model = ModelFileTests.Model("multiclass");
        Dictionary<string, string> metadata = OnnxExport.Build(model).MetadataProps.ToDictionary(entry => entry.Key, entry => entry.Value);
        Assert.Equal(HjMl.Persistence.ModelFile.LibraryVersion, metadata["hjml.version"]);
        Assert.Equal("multiclass", metadata["hjml.kind"]);
        Assert.Equal(model.Viscosity, double.Parse(metadata["hjml.viscosity"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(model.FeatureNames, JsonSerializer.Deserialize<string[]>(metadata["hjml.feature_names"]));
        Assert.Equal([0.0, 1.0, 2.0], JsonSerializer.Deserialize<double[]>(metadata["hjml.class_labels"])!);
    }

    [Fact]
    public void ExportIsDeterministicAndSaveWritesTheSameBytes()
    {
        HopfColeModel model = ModelFileTests.Model("binary");
        byte[] bytes = OnnxExport.ToBytes(model);
        Assert.Equal(bytes, OnnxExport.ToBytes(model));
        string path = Path.Combine(Directory.CreateTempSubdirectory("hjml-onnx-").FullName, "model.onnx");
        try
        {
            OnnxExport.Save(model, path);
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void ViscosityThatRoundsToZeroInFloat32IsUnsupported()
    {
        HopfColeModel model = ModelFileTests.Model("binary").WithViscosity(1e-50);
        var problem = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model));
        Assert.Contains("eps = 1E-50 rounds to 0 in float32", problem.Message);
    }

    [Fact]
    public void WeightBeyondFloat32RangeIsUnsupportedAndNamed()
    {
        var layer = new LseLayer<double>([1, 2, 3, 1e300], [0, 0], inputDimension: 2, viscosity: 0.1, numberOfHeads: 2);
        var model = new HopfColeModel(ModelKind.BinaryClassification, layer, new FeatureScaling([0, 0], [1, 1]), ["height", "width"], [0, 1], 0, 1, [-1, -1], 1);
        var problem = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model));
        Assert.Contains("The weight of head 1, piece 0 on feature 'width' is 1E+300, beyond float32's range", problem.Message);
    }

    [Fact]
    public void ClassLabelsThatCollideInFloat32AreUnsupported()
    {
        var layer = new LseLayer<double>([1, -1, 0.5], [0, 0, 0], inputDimension: 1, viscosity: 0.1, numberOfHeads: 3);
        var model = new HopfColeModel(ModelKind.MulticlassClassification, layer, new FeatureScaling([0], [1]), ["x"], [0, 1, 1 + 1e-12], 0, 1, [-1, -1, -1], 1);
        var problem = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model));
        Assert.Contains("Class labels 1 and 1.000000000001 are the same float32", problem.Message);
    }

    [Fact]
    public void SummaryReadsInputsOutputsAndMetadata()
    {
        HopfColeModel model = ModelFileTests.Model("binary");
        OnnxModelSummary summary = OnnxModelSummary.Read(new MemoryStream(OnnxExport.ToBytes(model)));
        Assert.Equal(8, summary.IrVersion);
        Assert.Equal("HjMl", summary.ProducerName);
        Assert.Equal(17, summary.OperatorSets.Single().Value);
        Assert.Equal("Features: float32 [N, 30]", Assert.Single(summary.Inputs).ToString());
        Assert.Equal(["Score: float32 [N]", "Probability: float32 [N]", "PredictedLabel: bool [N]"], summary.Outputs.Select(output => output.ToString()));
        Assert.Contains(new KeyValuePair<string, string>("hjml.kind", "binary"), summary.Metadata);
        Assert.Contains(summary.OperatorCounts, entry => entry.Key == "MatMul" && entry.Value == 1);
    }

    [Fact]
    public void SummaryRejectsBytesThatAreNotOnnx()
    {
        byte[] modelFile = HjMl.Persistence.ModelFile.ToBytes(ModelFileTests.Model("tiny"), null);
        var problem = Assert.Throws<InvalidDataException>(() => OnnxModelSummary.Read(new MemoryStream(modelFile), "tiny.hjml"));
        Assert.StartsWith("tiny.hjml: not", problem.Message);
        Assert.Throws<InvalidDataException>(() => OnnxModelSummary.Read(new MemoryStream("hello, world\n"u8.ToArray())));
    }

    [Theory]
    [InlineData(3, 8, false)]
    [InlineData(2, 0, true)]
    public void FlowRunsBetweenStandardisationAndTheHeadsOneSoftmaxPerStep(int depth, int flowWidth, bool shared)
    {
        HopfColeModel model = FlowModel(depth, flowWidth, shared);
        GraphProto graph = OnnxExport.Build(model).Graph;
        string[] operators = graph.Node.Select(node => node.OpType).ToArray();
        string[] lift = flowWidth > 0 ? ["MatMul", "Add"] : [];
        string[] step = ["MatMul", "Add", "Softmax", "MatMul", "Add"];
        string[] expected = [.. (string[])["Sub", "Div"], .. lift, .. Enumerable.Repeat(step, depth).SelectMany(ops => ops), "MatMul", "Add", "Reshape", "ReduceMax"];
        Assert.Equal(expected, operators.Take(expected.Length));
        Assert.Equal($"flow_state_{depth}", graph.Node.Single(node => node.Output.Single() == "weight_products").Input[0]);

        // The heads' weights have one row per coordinate of the terminal state; shared controls are one set of initializers.
        TensorProto weights = graph.Initializer.Single(tensor => tensor.Name == "weights");
        Assert.Equal(model.Layer.InputDimension, weights.Dims[0]);
        Assert.Equal(shared ? 1 : depth, graph.Initializer.Count(tensor => tensor.Name.EndsWith("_keys", StringComparison.Ordinal)));
        Assert.All(graph.Node.Where(node => node.OpType == "Softmax"), softmax => Assert.Equal(-1, softmax.Attribute.Single(attribute => attribute.Name == "axis").I));
    }

    [Fact]
    public void MetadataNamesTheDepthAndTheFlowsSizes()
    {
        HopfColeModel model = FlowModel(depth: 3, flowWidth: 8, shared: false);
        Dictionary<string, string> metadata = OnnxExport.Build(model).MetadataProps.ToDictionary(entry => entry.Key, entry => entry.Value);
        Assert.Equal("3", metadata["hjml.depth"]);
        Assert.Equal("8", metadata["hjml.flow_width"]);
        Assert.Equal("6", metadata["hjml.flow_support_points"]);
        Assert.Equal(model.Flow!.Horizon, double.Parse(metadata["hjml.flow_horizon"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(model.Flow.Viscosity, double.Parse(metadata["hjml.flow_viscosity"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("true", metadata["hjml.flow_lifted"]);
        Assert.Equal("false", metadata["hjml.flow_shared_controls"]);
        Dictionary<string, string> single = OnnxExport.Build(ModelFileTests.Model("binary")).MetadataProps.ToDictionary(entry => entry.Key, entry => entry.Value);
        Assert.Equal("0", single["hjml.depth"]);
        Assert.DoesNotContain(single.Keys, key => key.StartsWith("hjml.flow_", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ExplanationsOfAFlowModelAddInputContributionsThroughOneAdjointPassPerStep(bool shared)
    {
        HopfColeModel model = FlowModel(depth: 3, flowWidth: 8, shared);
        GraphProto graph = OnnxExport.Build(model, new OnnxExportOptions { IncludeExplanations = true }).Graph;
        var outputs = graph.Output.ToDictionary(output => output.Name, output => output.Type.TensorType.Shape.Dim.Select(dimension => dimension.DimValue).ToArray());
        Assert.Equal([0, 3, 4], outputs[OnnxExport.InputContributionsName]);
        Assert.Equal([0, 3], outputs[OnnxExport.BaselineScoresName]);
        Assert.Equal([0, 3, 8], outputs[OnnxExport.FeatureContributionsName]);

        // One forward and one adjoint pass per step along the path, beside the prediction's (and the read-out's Gibbs
        // weights at the path's terminal states); the controls are not copied.
        Assert.Equal((2 * 3) + 1, graph.Node.Count(node => node.OpType == "Softmax"));
        Assert.Equal(3, graph.Node.Count(node => node.Output[0].EndsWith("_pulled_back", StringComparison.Ordinal)));
        Assert.Equal(shared ? 1 : 3, graph.Initializer.Count(tensor => tensor.Name.EndsWith("_keys", StringComparison.Ordinal)));
    }

    [Fact]
    public void ExplanationsThroughAFlowWithATropicalReadOutAreRefusedNamingTheViscosity()
    {
        HopfColeModel model = FlowModel(depth: 2, flowWidth: 0, shared: false).WithViscosity(0);
        var problem = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true }));
        Assert.Contains("eps > 0", problem.Message);
        Assert.Contains("WithViscosity", problem.Message);
        Assert.Contains("IncludeExplanations = false", problem.Message);
        Assert.NotEmpty(OnnxExport.ToBytes(model));
    }

    private static HopfColeModel FlowModel(int depth, int flowWidth, bool shared) => new HjMl.Training.HopfColeTrainer(new HjMl.Training.HopfColeTrainerOptions
    {
        Kind = ModelKind.MulticlassClassification,
        NumberOfSupportPoints = 4,
        Depth = depth,
        FlowWidth = flowWidth,
        FlowSupportPoints = 6,
        SharedFlowControls = shared,
        MaximumEpochs = 2,
        Seed = 3,
        MaximumDegreeOfParallelism = 1,
    }).Fit(TestData.Load("iris.csv"));

    private static Dictionary<string, NodeProto> Producers(GraphProto graph)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (NodeProto node in graph.Node)
        {
            foreach (string output in node.Output)
            {
                producers.Add(output, node);
            }
        }

        return producers;
    }
}
