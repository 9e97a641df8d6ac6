using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Attribution;
using HjMl.Tests.Support;

namespace HjMl.Tests.Models;

public class SinglePrecisionScoringTests(ExplainerFixture models) : IClassFixture<ExplainerFixture>
{
    public static TheoryData<string> Sets => ["breast_cancer", "digits", "diabetes"];

    [Theory]
    [MemberData(nameof(Sets))]
    public void FloatScoresAgreeWithDoubleWithin1e5RelativeOnTheSameInputs(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        float[] features = Array.ConvertAll(data.Features.ToArray(), v => (float)v);
        var exact = new double[data.Rows * model.OutputLength];
        model.ScoreBatch(Array.ConvertAll(features, v => (double)v), exact);
        var single = new float[exact.Length];
        model.ScoreBatch(features, single);
        double worst = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(single[i] - exact[i]) / Math.Max(1, Math.Abs(exact[i])));
        }

        Assert.True(worst <= 1e-5, $"largest difference {worst:E2} relative to max(1, |score|)");
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void BatchScoresEqualSingleRowScoresBitForBitInFloatAndDouble(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        int d = model.InputDimension;
        int outputs = model.OutputLength;
        float[] features = Array.ConvertAll(data.Features.ToArray(), v => (float)v);
        var batch = new float[data.Rows * outputs];
        model.ScoreBatch(features, batch);
        var exactBatch = new double[data.Rows * outputs];
        model.ScoreBatch(data.Features, exactBatch);
        var row = new float[outputs];
        var exactRow = new double[outputs];
        for (int r = 0; r < data.Rows; r++)
        {
            model.Score(features.AsSpan(r * d, d), row);
            model.Score(data.Row(r), exactRow);
            Assert.Equal(batch.AsSpan(r * outputs, outputs).ToArray(), row);
            Assert.Equal(exactBatch.AsSpan(r * outputs, outputs).ToArray(), exactRow);
        }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void SingleRowScoringAllocatesNothingInFloatOrDouble(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        float[] features = Array.ConvertAll(data.Row(0).ToArray(), v => (float)v);
        var single = new float[model.OutputLength];
        var exact = new double[model.OutputLength];
        Assert.Equal(0, Allocations.Fewest(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                model.Score(features, single);
                model.Score(data.Row(0), exact);
            }
        }));
    }

    [Fact]
    public void OneTileBatchAllocatesNothing()
    {
        (HopfColeModel model, Dataset data) = Pick("breast_cancer");
        int rows = Math.Min(data.Rows, model.Layer.Kernel.TileRows);
        float[] features = Array.ConvertAll(data.Features[..(rows * model.InputDimension)].ToArray(), v => (float)v);
        var scores = new float[rows];
        Assert.Equal(0, Allocations.Fewest(() => model.ScoreBatch(features, scores)));
    }

    [Fact]
    public void FloatBatchNamesTheRowAndFeatureOfANaN()
    {
        (HopfColeModel model, Dataset data) = Pick("breast_cancer");
        float[] features = Array.ConvertAll(data.Features.ToArray(), v => (float)v);
        int row = data.Rows - 3;
        features[(row * model.InputDimension) + 2] = float.NaN;
        var problem = Assert.Throws<ArgumentException>(() => model.ScoreBatch(features, new float[data.Rows]));
        Assert.Contains($"Row {row + 1}, feature '{model.FeatureNames[2]}' is NaN", problem.Message);
    }

    [Fact]
    public void FloatScoringRefusesAWeightBeyondFloatRange()
    {
        var layer = new LseLayer<double>([1e300, 0, 0, 1], [0, 0], 2, 1.0, 2);
        var model = new HopfColeModel(ModelKind.BinaryClassification, layer, new FeatureScaling([0, 0], [1, 1]), ["a", "b"], [0, 1], 0, 1, [-1, -1], 1.0);
        var problem = Assert.Throws<NotSupportedException>(() => model.Score([1f, 2f], new float[1]));
        Assert.Contains("weight at index 0 is 1E+300", problem.Message);
    }

    private (HopfColeModel Model, Dataset Data) Pick(string set) => set switch
    {
        "breast_cancer" => (models.BreastCancer.Model, models.BreastCancer.Test),
        "digits" => (models.Digits.Model, models.Digits.Test),
        _ => (models.Diabetes.Model, models.Diabetes.Test),
    };
}
