using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Flows;

/// <summary>
/// The float32 flow's layout for shapes the other tests do not reach: support-point counts that are not whole vectors
/// (each step's logits and Gibbs weights sit in padded slots) and controls shared by every step (each step corrects a
/// copy of the one set's logits, not the set itself).
/// </summary>
public class SinglePrecisionFlowShapesTests
{
    public static TheoryData<int, bool> Shapes => new()
    {
        { 5, false },
        { 5, true },
        { 16, true },
        { 21, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32ScoresOfPaddedAndSharedFlowsAreWithinTheContractAndTheSameBitsAloneAndInABatch(int flowSupportPoints, bool shared)
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions
        {
            Kind = ModelKind.MulticlassClassification,
            NumberOfSupportPoints = 3,
            Depth = 3,
            FlowSupportPoints = flowSupportPoints,
            SharedFlowControls = shared,
            FeatureEmbedding = FeatureEmbedding.None,
            MaximumEpochs = 10,
            Optimizer = Optimizer.Adam,
            Seed = 7,
            MaximumDegreeOfParallelism = 2,
        }).Fit(data);
        Assert.Equal(3, model.Depth);

        float[] features = Array.ConvertAll(data.Features.ToArray(), value => (float)value);
        double[] wide = Array.ConvertAll(features, value => (double)value);
        int d = data.Columns;
        int outputs = model.OutputLength;
        var batch = new float[data.Rows * outputs];
        var reference = new double[data.Rows * outputs];
        model.ScoreBatch(features, batch);
        model.ScoreBatch(wide, reference);
        var single = new float[outputs];
        for (int row = 0; row < data.Rows; row++)
        {
            for (int output = 0; output < outputs; output++)
            {
                int index = (row * outputs) + output;
                Assert.True(Math.Abs(batch[index] - reference[index]) <= HopfColeModel.FlowScoreTolerance * Math.Max(1, Math.Abs(reference[index])), $"row {row}, output {output}: float32 {batch[index]} against double {reference[index]}");
            }

            model.Score(features.AsSpan(row * d, d), single);
            Assert.Equal(batch.AsSpan(row * outputs, outputs).ToArray(), single);
        }
    }

    [Fact]
    public void Float32FlowBatchNamesTheFirstRowAndFeatureThatIsNotFinite()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions
        {
            Kind = ModelKind.MulticlassClassification,
            NumberOfSupportPoints = 3,
            Depth = 2,
            FlowSupportPoints = 8,
            FeatureEmbedding = FeatureEmbedding.None,
            MaximumEpochs = 3,
            Optimizer = Optimizer.Adam,
            Seed = 7,
            MaximumDegreeOfParallelism = 2,
        }).Fit(data);
        float[] features = Array.ConvertAll(data.Features.ToArray(), value => (float)value);
        int d = data.Columns;
        int row = data.Rows - 20;
        features[(row * d) + 1] = float.PositiveInfinity;
        features[((row + 7) * d) + 0] = float.NaN;
        var problem = Assert.Throws<ArgumentException>(() => model.ScoreBatch(features, new float[data.Rows * model.OutputLength]));
        Assert.Contains($"Row {row + 1}, feature '{model.FeatureNames[1]}'", problem.Message, StringComparison.Ordinal);
    }
}
