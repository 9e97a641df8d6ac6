using HjMl.Data;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;
using Xunit.Abstractions;

namespace HjMl.Tests.Flows;

/// <summary>
/// The float32 flow path of <see cref="HopfColeModel.Score(ReadOnlySpan{float}, Span{float})"/> and
/// <see cref="HopfColeModel.ScoreBatch(ReadOnlySpan{float}, Span{float})"/> (<see cref="SinglePrecisionFlow"/>): its
/// accuracy contract against the double path on every row of real data, bit-identical rows alone and in a batch,
/// and no allocation once warm.
/// </summary>
public class SinglePrecisionFlowTests(ITestOutputHelper log)
{
    private static readonly Lazy<(HopfColeModel Model, Dataset Data)> Digits = new(() => Train("digits.csv", ModelKind.MulticlassClassification, depth: 4, flowWidth: 0, FeatureEmbedding.None));

    public static TheoryData<string, ModelKind, int, int, FeatureEmbedding> Flows => new()
    {
        { "iris.csv", ModelKind.MulticlassClassification, 4, 8, FeatureEmbedding.None },
        { "breast_cancer.csv", ModelKind.BinaryClassification, 2, 0, FeatureEmbedding.Periodic },
        { "diabetes.csv", ModelKind.Regression, 3, 0, FeatureEmbedding.None },
    };

    [Fact]
    public void Float32ScoresOfADepthFourFlowAreWithinTheContractOfDoubleOnEveryDigitsRow()
    {
        (HopfColeModel model, Dataset data) = Digits.Value;
        AssertWithinContract(model, data);
    }

    [Theory]
    [MemberData(nameof(Flows))]
    public void Float32ScoresOfLiftedEmbeddedAndRegressionFlowsAreWithinTheContractOfDoubleOnEveryRow(string file, ModelKind kind, int depth, int flowWidth, FeatureEmbedding embedding)
    {
        (HopfColeModel model, Dataset data) = Train(file, kind, depth, flowWidth, embedding);
        Assert.Equal(depth, model.Depth);
        AssertWithinContract(model, data);
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public void Float32ScoresOfTheDepthFourMnistFlowAreWithinTheContractOfDoubleOnEveryRow()
    {
        Dataset data = CsvDataset.Load(Path.Combine(TestData.Folder, "mnist-10000.csv.gz"), "Label");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions
        {
            Kind = ModelKind.MulticlassClassification,
            NumberOfSupportPoints = 8,
            Depth = 4,
            FlowSupportPoints = 32,
            FeatureEmbedding = FeatureEmbedding.None,
            MaximumEpochs = 2,
            ValidationFraction = 0,
            Optimizer = Optimizer.Adam,
            LearningRate = 0.003,
            Seed = 1,
        }).Fit(data);
        AssertWithinContract(model, data);
    }

    [Fact]
    public void Float32RowsOfAFlowScoreBitIdenticallyAloneAndInEveryBatch()
    {
        (HopfColeModel model, Dataset data) = Digits.Value;
        float[] features = Narrow(data);
        int d = data.Columns;
        int outputs = model.OutputLength;
        var batch = new float[data.Rows * outputs];
        model.ScoreBatch(features, batch);
        var single = new float[outputs];
        for (int row = 0; row < data.Rows; row++)
        {
            model.Score(features.AsSpan(row * d, d), single);
            Assert.Equal(batch.AsSpan(row * outputs, outputs).ToArray(), single);
        }

        // Batches that end mid-block and mid-tile give the same bits.
        foreach (int rows in new[] { 1, 7, 9, 83 })
        {
            var part = new float[rows * outputs];
            model.ScoreBatch(features.AsSpan(5 * d, rows * d), part);
            Assert.Equal(batch.AsSpan(5 * outputs, rows * outputs).ToArray(), part);
        }
    }

    [Fact]
    public void Float32FlowScoringAllocatesNothingOnceWarm()
    {
        (HopfColeModel model, Dataset data) = Digits.Value;
        float[] features = Narrow(data);
        int d = data.Columns;
        var scores = new float[model.OutputLength];
        var batch = new float[64 * model.OutputLength];
        model.Score(features.AsSpan(0, d), scores);
        model.ScoreBatch(features.AsSpan(0, 64 * d), batch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int row = 0; row < 100; row++)
        {
            model.Score(features.AsSpan(row * d, d), scores);
        }

        model.ScoreBatch(features.AsSpan(0, 64 * d), batch);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // Every row, in a batch: |float32 - double| <= FlowScoreTolerance max(1, |double|), and the same predicted class
    // wherever the double scores' top two differ by more than twice that.
    private void AssertWithinContract(HopfColeModel model, Dataset data)
    {
        float[] features = Narrow(data);
        double[] wide = Array.ConvertAll(features, value => (double)value);
        int outputs = model.OutputLength;
        var single = new float[data.Rows * outputs];
        var reference = new double[data.Rows * outputs];
        model.ScoreBatch(features, single);
        model.ScoreBatch(wide, reference);
        double worst = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(single[i] - reference[i]) / Math.Max(1, Math.Abs(reference[i])));
        }

        log.WriteLine($"{data.Rows} rows, depth {model.Depth}: the largest float32 - double difference is {worst:E3} of max(1, |score|)");
        Assert.True(worst <= HopfColeModel.FlowScoreTolerance, $"float32 scores differ from double by {worst:E3} relative to max(1, |score|), beyond {HopfColeModel.FlowScoreTolerance:E1}");
        Assert.True(worst > 0, "the float32 path gave the double scores exactly: it is not running in float32");
        if (model.Kind != ModelKind.MulticlassClassification)
        {
            return;
        }

        for (int row = 0; row < data.Rows; row++)
        {
            ReadOnlySpan<double> scores = reference.AsSpan(row * outputs, outputs);
            double[] sorted = [.. scores.ToArray().OrderDescending()];
            if (sorted[0] - sorted[1] > 2 * HopfColeModel.FlowScoreTolerance * Math.Max(1, Math.Abs(sorted[0])))
            {
                float[] narrow = single.AsSpan(row * outputs, outputs).ToArray();
                Assert.Equal(scores.IndexOf(sorted[0]), Array.IndexOf(narrow, narrow.Max()));
            }
        }
    }

    private static (HopfColeModel, Dataset) Train(string file, ModelKind kind, int depth, int flowWidth, FeatureEmbedding embedding)
    {
        Dataset data = TestData.Load(file);
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = 6,
            Depth = depth,
            FlowWidth = flowWidth,
            FlowSupportPoints = 16,
            FeatureEmbedding = embedding,
            EmbeddingFrequencies = 8,
            EmbeddingWidth = 8,
            MaximumEpochs = 15,
            Optimizer = Optimizer.Adam,
            Seed = 5,
            MaximumDegreeOfParallelism = 2,
        };
        return (new HopfColeTrainer(options).Fit(data), data);
    }

    private static float[] Narrow(Dataset data) => Array.ConvertAll(data.Features.ToArray(), value => (float)value);
}
