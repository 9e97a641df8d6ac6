using System.Globalization;
using HjMl.Data;
using Google.Protobuf;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using HjMl.Tests.Support;
using HjMl.Training;
using Xunit.Abstractions;

namespace HjMl.Tests.Onnx;

/// <summary>
/// Models whose flow starts with a periodic feature embedding, trained on real data, export to graphs that ONNX Runtime
/// runs on every row to HjMl's own scores of the same float32 inputs, at depth 0 (the embedding alone before the
/// read-out) and deeper, with and without passed-through features.
/// </summary>
public sealed class EmbeddedFlowOnnxRuntimeTests(OnnxRuntimeFixture runtime, ITestOutputHelper log) : IClassFixture<OnnxRuntimeFixture>
{
    // The flow tests' 1e-5 relative to max(1, |value|): the graph forms the phases 2 pi c x in double (in float32 their
    // error grows with |c x|; OnnxExport.EmbeddingGraph).
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 0, false)]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 2, false)]
    [InlineData("diabetes.csv", ModelKind.Regression, 0, false)]
    [InlineData("diabetes.csv", ModelKind.Regression, 2, true)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification, 1, false)]
    public void EmbeddedFlowModelMatchesHjMlInOnnxRuntimeOnEveryRow(string file, ModelKind kind, int depth, bool sharedControls)
    {
        Dataset data = TestData.Load(file);
        HopfColeModel model = Train(data, kind, depth, sharedControls);
        EmbeddingShape embedding = model.Flow!.Shape.Embedding!;
        Assert.Equal(depth, model.Depth);
        log.WriteLine($"{file}: {embedding.Features.Count} embedded and {embedding.PassedThrough.Count} passed-through features, width {model.Flow.Width}");

        float[] features = Float32Features(data);
        RuntimeResult result = runtime.Run(OnnxExport.ToBytes(model), features, data.Rows, data.Columns);
        int outputs = model.OutputLength;
        var scores = new float[data.Rows * outputs];
        var probabilities = new double[data.Rows * outputs];
        var predictions = new Prediction[data.Rows];
        var wide = new double[outputs];
        for (int row = 0; row < data.Rows; row++)
        {
            ReadOnlySpan<float> input = features.AsSpan(row * data.Columns, data.Columns);
            model.Score(input, scores.AsSpan(row * outputs, outputs));
            model.Score(input.ToArray().Select(value => (double)value).ToArray(), wide);
            predictions[row] = model.Interpret(wide, probabilities.AsSpan(row * outputs, outputs));
        }

        IEnumerable<double> expected = scores.Select(score => (double)score);
        switch (kind)
        {
            case ModelKind.Regression:
                AssertTensor(result, OnnxExport.ScoreName, [data.Rows], expected);
                break;
            case ModelKind.BinaryClassification:
                AssertTensor(result, OnnxExport.ScoreName, [data.Rows], expected);
                AssertTensor(result, OnnxExport.ProbabilityName, [data.Rows], predictions.Select(prediction => prediction.Probability));
                AssertSameLabelsBeyondTolerance(result, OnnxExport.PredictedLabelName, predictions.Select(prediction => (double)prediction.ClassIndex), predictions.Select(prediction => prediction.Score));
                break;
            default:
                AssertTensor(result, OnnxExport.ScoreName, [data.Rows, outputs], probabilities);
                AssertTensor(result, OnnxExport.ClassScoresName, [data.Rows, outputs], expected);
                AssertSameLabelsBeyondTolerance(result, OnnxExport.PredictedClassIndexName, predictions.Select(prediction => (double)prediction.ClassIndex), predictions.Select((_, row) => RunnerUpGap(scores.AsSpan(row * outputs, outputs))));
                break;
        }
    }

    [Fact]
    public void EmbeddedStateMatchesOnRowsFarFromTheTrainingMeansBecauseThePhasesAreFormedInDouble()
    {
        // z_0 itself, read from the graph: at 25 standard deviations a float32 phase 2 pi c x would be off by about 1e-7
        // of itself (1e-4 rad for |c| = 6), and the sines with it.
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = Train(data, ModelKind.BinaryClassification, depth: 0, sharedControls: false);
        GibbsFlow flow = model.Flow!;
        EmbeddingShape embedding = flow.Shape.Embedding!;
        int rows = 2 * embedding.Features.Count;
        float[] features = Float32Features(data)[..(rows * data.Columns)];
        for (int row = 0; row < rows; row++)
        {
            int feature = embedding.Features[row % embedding.Features.Count];
            double far = row < embedding.Features.Count ? 25 : -25;
            features[(row * data.Columns) + feature] = (float)(model.Scaling.Means[feature] + (far * model.Scaling.Scales[feature]));
        }

        ModelProto proto = ModelProto.Parser.ParseFrom(OnnxExport.ToBytes(model));
        proto.Graph.Output.Add(new ValueInfoProto
        {
            Name = "embedding_state",
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        RuntimeResult result = runtime.Run(proto.ToByteArray(), features, rows, data.Columns);
        int m = flow.Width;
        var expected = new double[rows * m];
        var standardised = new double[data.Columns];
        for (int row = 0; row < rows; row++)
        {
            model.Scaling.Apply(features.AsSpan(row * data.Columns, data.Columns).ToArray().Select(value => (double)value).ToArray(), standardised);
            flow.Trajectory(standardised, expected.AsSpan(row * m, m));
        }

        AssertTensor(result, "embedding_state", [rows, m], expected);
    }

    [Fact]
    public void EmbeddedFlowExportRecordsTheEmbeddingInItsMetadata()
    {
        Dataset data = TestData.Load("diabetes.csv");
        HopfColeModel model = Train(data, ModelKind.Regression, depth: 1, sharedControls: false);
        EmbeddingShape embedding = model.Flow!.Shape.Embedding!;
        ModelProto proto = ModelProto.Parser.ParseFrom(OnnxExport.ToBytes(model));
        var metadata = proto.MetadataProps.ToDictionary(entry => entry.Key, entry => entry.Value);

        Assert.Equal("periodic", metadata["hjml.embedding"]);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(embedding.Features.Select(feature => data.FeatureNames[feature])), metadata["hjml.embedding_features"]);
        Assert.Equal(embedding.Frequencies.ToString(CultureInfo.InvariantCulture), metadata["hjml.embedding_frequencies"]);
        Assert.Equal(embedding.Width.ToString(CultureInfo.InvariantCulture), metadata["hjml.embedding_width"]);
        Assert.Equal(model.Flow.Width.ToString(CultureInfo.InvariantCulture), metadata["hjml.flow_width"]);
        Assert.Contains(proto.Graph.Node, node => node.OpType == "Sin");
        Assert.Contains(proto.Graph.Node, node => node.OpType == "Cos");
    }

    [Fact]
    public void NonFiniteEmbeddedFeatureGivesNaNScoresInOnnxRuntime()
    {
        // Relu's NaN handling is unspecified; the saved pipelines' guard refuses a row only if its head scores are NaN.
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = Train(data, ModelKind.BinaryClassification, depth: 0, sharedControls: false);
        int feature = model.Flow!.Shape.Embedding!.Features[0];
        float[] features = Float32Features(data)[..(3 * data.Columns)];
        features[feature] = float.NaN;
        features[data.Columns + feature] = float.PositiveInfinity;
        RuntimeResult result = runtime.Run(OnnxExport.ToBytes(model), features, 3, data.Columns);
        double[] scores = result.Outputs[OnnxExport.ScoreName].Values;
        Assert.True(double.IsNaN(scores[0]), $"a NaN feature scored {scores[0]}");
        Assert.True(double.IsNaN(scores[1]), $"an infinite feature scored {scores[1]}");
        Assert.True(double.IsFinite(scores[2]), $"a finite row scored {scores[2]}");
    }

    internal static HopfColeModel Train(Dataset data, ModelKind kind, int depth, bool sharedControls)
    {
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = 8,
            Depth = depth,
            FlowSupportPoints = 8,
            SharedFlowControls = sharedControls,
            FeatureEmbedding = FeatureEmbedding.Periodic,
            EmbeddingFrequencies = 8,
            EmbeddingWidth = 8,
            MaximumEpochs = 8,
            Optimizer = Optimizer.Adam,
            LearningRate = 0.001,
            Seed = 7,
            MaximumDegreeOfParallelism = 1,
        };
        return new HopfColeTrainer(options).Fit(data);
    }

    private static float[] Float32Features(Dataset data)
    {
        var features = new float[data.Rows * data.Columns];
        for (int row = 0; row < data.Rows; row++)
        {
            for (int k = 0; k < data.Columns; k++)
            {
                features[(row * data.Columns) + k] = (float)data.Row(row)[k];
            }
        }

        return features;
    }

    private static double RunnerUpGap(ReadOnlySpan<float> scores)
    {
        float best = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (float score in scores)
        {
            if (score > best)
            {
                (best, second) = (score, best);
            }
            else if (score > second)
            {
                second = score;
            }
        }

        return best - second;
    }

    private void AssertTensor(RuntimeResult result, string name, long[] dims, IEnumerable<double> expected)
    {
        RuntimeTensor tensor = result.Outputs[name];
        Assert.Equal("float32", tensor.Type);
        Assert.Equal(dims, tensor.Dims);
        double[] wanted = [.. expected];
        Assert.Equal(wanted.Length, tensor.Values.Length);
        double worst = 0;
        int worstIndex = 0;
        for (int i = 0; i < wanted.Length; i++)
        {
            double error = Math.Abs(tensor.Values[i] - wanted[i]) / Math.Max(1, Math.Abs(wanted[i]));
            if (!(error <= worst))
            {
                worst = error;
                worstIndex = i;
            }
        }

        log.WriteLine($"{name}: max relative difference {worst.ToString("0.00e+0", CultureInfo.InvariantCulture)} over {wanted.Length} values");
        Assert.True(worst <= Tolerance, $"{name}[{worstIndex}]: ONNX Runtime gave {tensor.Values[worstIndex]}, HjMl {wanted[worstIndex]}; relative difference {worst} > {Tolerance}.");
    }

    // Labels must agree wherever the deciding margin (binary score, or best minus runner-up) exceeds the tolerance; within
    // it the float32 graph may round either way.
    private static void AssertSameLabelsBeyondTolerance(RuntimeResult result, string name, IEnumerable<double> expected, IEnumerable<double> margins)
    {
        double[] wanted = [.. expected];
        double[] gaps = [.. margins];
        double[] actual = result.Outputs[name].Values;
        int[] different = [.. Enumerable.Range(0, wanted.Length).Where(i => actual[i] != wanted[i] && Math.Abs(gaps[i]) > Tolerance * Math.Max(1, Math.Abs(gaps[i])))];
        Assert.True(different.Length == 0, $"{name}: {different.Length} rows differ, first row {different.FirstOrDefault()} (ONNX Runtime {actual[different.FirstOrDefault()]}, HjMl {wanted[different.FirstOrDefault()]}).");
    }
}
