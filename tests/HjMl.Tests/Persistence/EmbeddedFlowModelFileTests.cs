using System.Buffers.Binary;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Persistence;

/// <summary>
/// A model whose flow starts with a periodic feature embedding is written as format version 3 and comes back bit for bit;
/// plain flows keep version 2; a damaged embedding section is refused with an error that names it.
/// </summary>
public sealed class EmbeddedFlowModelFileTests
{
    // Payload bytes before the embedding section of a version-3 file: kind, d, K, N, L, J, m, two flags, T, eps.
    private const int EmbeddingSectionOffset = 1 + (4 * 3) + 4 + (4 * 2) + 2 + (8 * 2);

    private static readonly Lazy<Dataset> BreastCancer = new(() => TestData.Load("breast_cancer.csv"));

    private static readonly Lazy<HopfColeModel> Shallow = new(() => Train(BreastCancer.Value, depth: 0));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void EmbeddedModelScoresBitIdenticallyAfterSaveAndLoad(int depth)
    {
        Dataset data = BreastCancer.Value;
        HopfColeModel model = depth == 0 ? Shallow.Value : Train(data, depth);
        Assert.Equal(depth, model.Depth);
        Assert.NotNull(model.Flow!.Shape.Embedding);

        using var stream = new MemoryStream();
        ModelFile.Save(model, stream);
        stream.Position = 0;
        ModelFileContents contents = ModelFile.Read(stream);
        HopfColeModel loaded = contents.Model;

        Assert.Equal(3, contents.FormatVersion);
        Assert.Equal(model.Flow.Shape, loaded.Flow!.Shape);
        Assert.Equal(model.Flow.Shape.Embedding, loaded.Flow.Shape.Embedding);
        Assert.Equal(Bits(model.Flow.Parameters), Bits(loaded.Flow.Parameters));
        var before = new double[model.OutputLength];
        var after = new double[model.OutputLength];
        for (int row = 0; row < data.Rows; row++)
        {
            model.Score(data.Row(row), before);
            loaded.Score(data.Row(row), after);
            Assert.Equal(Bits(before), Bits(after));
        }
    }

    [Fact]
    public void FlowWithoutEmbeddingIsStillWrittenAndReadAsVersionTwo()
    {
        Dataset data = BreastCancer.Value;
        HopfColeModel model = new HopfColeTrainer(Options(depth: 1) with { FeatureEmbedding = FeatureEmbedding.None }).Fit(data);
        using var stream = new MemoryStream();
        ModelFile.Save(model, stream);
        stream.Position = 0;
        ModelFileContents contents = ModelFile.Read(stream);
        Assert.Equal(2, contents.FormatVersion);
        Assert.Null(contents.Model.Flow!.Shape.Embedding);
        Assert.Equal(Bits(model.Flow!.Parameters), Bits(contents.Model.Flow.Parameters));
    }

    [Theory]
    [InlineData("count=0", "the number of embedded features n is 0")]
    [InlineData("count=d+1", "embedded features for d = 30")]
    [InlineData("frequencies=0", "frequencies per feature K is 0")]
    [InlineData("repeated", "the embedding section is inconsistent: Embedded feature 1 is index 0")]
    [InlineData("index=d", "the embedding section is inconsistent: Embedded feature 29 is index 30")]
    [InlineData("width", "its width is the embedding's")]
    public void DamagedEmbeddingSectionIsRefusedNamingIt(string change, string expected)
    {
        byte[] payload = ModelPayload.Write(Shallow.Value, new Dictionary<string, string>());
        Span<byte> section = payload.AsSpan(EmbeddingSectionOffset);
        int features = BinaryPrimitives.ReadInt32LittleEndian(section);
        int width = BinaryPrimitives.ReadInt32LittleEndian(section[8..]);
        switch (change)
        {
            case "count=0":
                BinaryPrimitives.WriteInt32LittleEndian(section, 0);
                break;
            case "count=d+1":
                BinaryPrimitives.WriteInt32LittleEndian(section, 31);
                break;
            case "frequencies=0":
                BinaryPrimitives.WriteInt32LittleEndian(section[4..], 0);
                break;
            case "repeated":
                BinaryPrimitives.WriteInt32LittleEndian(section[16..], 0);
                break;
            case "index=d":
                BinaryPrimitives.WriteInt32LittleEndian(section[(12 + (4 * (features - 1)))..], 30);
                break;
            default:
                BinaryPrimitives.WriteInt32LittleEndian(section[8..], width + 1);
                break;
        }

        var problem = Assert.Throws<InvalidDataException>(() => ModelFile.Load(new MemoryStream(ModelFile.Frame(payload, 3))));
        Assert.Contains("contents are inconsistent", problem.Message);
        Assert.Contains(expected, problem.Message);
    }

    [Fact]
    public void EmbeddedPayloadFramedAsVersionTwoIsRefused()
    {
        // The same payload framed as version 2 lacks the embedding section: the flow's width no longer matches d.
        byte[] payload = ModelPayload.Write(Shallow.Value, new Dictionary<string, string>());
        var problem = Assert.Throws<InvalidDataException>(() => ModelFile.Load(new MemoryStream(ModelFile.Frame(payload, 2))));
        Assert.Contains("not a valid HjMl model file", problem.Message);
    }

    [Theory]
    [InlineData("frequency=1e302", "phase 2 pi c x reaches")]
    [InlineData("bias=1e308", "The embedding's weights and biases carry inputs to states of")]
    [InlineData("weight=NaN", "every parameter must be finite")]
    public void EmbeddingParametersThatWouldOverflowAreRefused(string change, string expected)
    {
        HopfColeModel model = Shallow.Value;
        GibbsFlow flow = model.Flow!;
        EmbeddingShape embedding = flow.Shape.Embedding!;
        double[] parameters = flow.Parameters.ToArray();
        switch (change)
        {
            case "frequency=1e302":
                parameters[embedding.FrequenciesOffset(1)] = 1e302;
                break;
            case "bias=1e308":
                parameters[embedding.BiasOffset(2)] = 1e308;
                break;
            default:
                parameters[embedding.WeightsOffset(0)] = double.NaN;
                break;
        }

        var problem = Assert.Throws<ArgumentException>(() =>
        {
            var damaged = new GibbsFlow(flow.Shape, flow.Horizon, flow.Viscosity, parameters);
            LseLayer<double> layer = model.Layer;
            return new HopfColeModel(model.Kind, layer, model.Scaling, model.FeatureNames, [.. model.ClassLabels], model.LabelMean, model.LabelScale, [.. model.SupportRows], model.Time, model.CoverageRadius, damaged);
        });
        Assert.Contains(expected, problem.Message);
    }

    private static HopfColeTrainerOptions Options(int depth) => new()
    {
        Kind = ModelKind.BinaryClassification,
        NumberOfSupportPoints = 8,
        Depth = depth,
        FlowSupportPoints = 8,
        FeatureEmbedding = FeatureEmbedding.Periodic,
        EmbeddingFrequencies = 8,
        EmbeddingWidth = 8,
        MaximumEpochs = 6,
        Optimizer = Optimizer.Adam,
        Seed = 11,
        MaximumDegreeOfParallelism = 1,
    };

    private static HopfColeModel Train(Dataset data, int depth) => new HopfColeTrainer(Options(depth)).Fit(data);

    private static long[] Bits(ReadOnlySpan<double> values)
    {
        var bits = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            bits[i] = BitConverter.DoubleToInt64Bits(values[i]);
        }

        return bits;
    }
}
