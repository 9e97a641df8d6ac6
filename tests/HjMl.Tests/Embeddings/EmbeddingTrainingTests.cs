using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Embeddings;

public class EmbeddingTrainingTests
{
    private static readonly Dataset Diabetes = TestData.Load("diabetes.csv");
    private static readonly Dataset BreastCancer = TestData.Load("breast_cancer.csv");

    private static HopfColeTrainerOptions Small => new()
    {
        Kind = ModelKind.Regression,
        NumberOfSupportPoints = 8,
        FeatureEmbedding = FeatureEmbedding.Periodic,
        EmbeddingFrequencies = 4,
        EmbeddingWidth = 4,
        EmbeddingScale = 1,
        MaximumEpochs = 20,
        Seed = 2,
        MaximumDegreeOfParallelism = 2,
    };

    [Fact]
    public void PeriodicEmbedsEveryNumericFeatureAndPassesTheBinaryOneThrough()
    {
        HopfColeModel model = new HopfColeTrainer(Small).Fit(Diabetes);
        var embedding = model.Flow!.Shape.Embedding!;

        // diabetes' second column (sex) takes two values; the other nine are numeric.
        int[] numeric = [.. Enumerable.Range(0, Diabetes.Columns).Where(c => c != 1)];
        Assert.Equal(numeric, embedding.Features);
        Assert.Equal([1], embedding.PassedThrough);
        Assert.Equal(0, model.Depth);
        Assert.Equal(1 + (9 * 4), model.Layer.InputDimension);
    }

    [Fact]
    public void EmbeddedModelLearnsDiabetesAndScoresTheSameRowByRowAndInBatch()
    {
        // On 400 rows the embedding fits rather than generalises (docs/accuracy-experiments.md), so the claim here is that
        // training through it learns: R^2 on the rows, 90% of which it trained on, well above the mean's 0.
        HopfColeModel model = new HopfColeTrainer(Small with { MaximumEpochs = 50 }).Fit(Diabetes);
        var batch = new double[Diabetes.Rows];
        model.ScoreBatch(Diabetes.Features, batch);
        double mean = Diabetes.Labels.ToArray().Average(), residual = 0, total = 0;
        for (int row = 0; row < Diabetes.Rows; row++)
        {
            Assert.Equal(model.Score(Diabetes.Row(row)), batch[row], 1e-9);
            residual += Math.Pow(batch[row] - Diabetes.Labels[row], 2);
            total += Math.Pow(Diabetes.Labels[row] - mean, 2);
        }

        Assert.True(1 - (residual / total) >= 0.25, $"R^2 on the rows {1 - (residual / total)}");
    }

    [Fact]
    public void AutomaticEmbedsWhenTheTrainingRowsOutnumberTheEmbeddingsParameters()
    {
        // 9 numeric features x (K + 2 K e + e) = 9 x 4 = 36 parameters with K = e = 1: far fewer than diabetes' rows.
        HopfColeModel model = new HopfColeTrainer(Small with { FeatureEmbedding = FeatureEmbedding.Automatic, EmbeddingFrequencies = 1, EmbeddingWidth = 1 }).Fit(Diabetes);
        Assert.NotNull(model.Flow?.Shape.Embedding);
    }

    [Fact]
    public void AutomaticLeavesDataWithFewerRowsThanEmbeddingParametersToTheSingleLayerBitForBit()
    {
        // breast_cancer: 30 numeric features x 544 parameters at the default K = e = 16, against about 500 training rows.
        var options = new HopfColeTrainerOptions { Kind = ModelKind.BinaryClassification, MaximumEpochs = 5, Seed = 1, MaximumDegreeOfParallelism = 2 };
        HopfColeModel automatic = new HopfColeTrainer(options with { FeatureEmbedding = FeatureEmbedding.Automatic }).Fit(BreastCancer);
        HopfColeModel none = new HopfColeTrainer(options with { FeatureEmbedding = FeatureEmbedding.None }).Fit(BreastCancer);
        Assert.Null(automatic.Flow);
        Assert.True(automatic.Layer.Weights.SequenceEqual(none.Layer.Weights));
    }

    [Fact]
    public void EmbeddedTrainingIsBitIdenticalForASeedAndThreadCount()
    {
        HopfColeTrainerOptions options = Small with { MaximumEpochs = 5 };
        HopfColeModel first = new HopfColeTrainer(options).Fit(Diabetes);
        HopfColeModel second = new HopfColeTrainer(options).Fit(Diabetes);
        Assert.True(first.Flow!.Parameters.SequenceEqual(second.Flow!.Parameters));
        Assert.True(first.Layer.Weights.SequenceEqual(second.Layer.Weights));
    }

    [Fact]
    public void AutomaticLeavesRunsWithoutAValidationSplitAlone()
    {
        HopfColeModel model = new HopfColeTrainer(Small with { FeatureEmbedding = FeatureEmbedding.Automatic, EmbeddingFrequencies = 1, EmbeddingWidth = 1, ValidationFraction = 0 }).Fit(Diabetes);
        Assert.Null(model.Flow);
    }

    [Theory]
    [InlineData(nameof(HopfColeTrainerOptions.EmbeddingFrequencies))]
    [InlineData(nameof(HopfColeTrainerOptions.EmbeddingWidth))]
    [InlineData(nameof(HopfColeTrainerOptions.EmbeddingScale))]
    [InlineData(nameof(HopfColeTrainerOptions.EnsembleMembers))]
    [InlineData(nameof(HopfColeTrainerOptions.FlowWidth))]
    public void BadEmbeddingOptionsAreRefusedNamingTheOption(string option)
    {
        HopfColeTrainerOptions options = option switch
        {
            nameof(HopfColeTrainerOptions.EmbeddingFrequencies) => Small with { EmbeddingFrequencies = 0 },
            nameof(HopfColeTrainerOptions.EmbeddingWidth) => Small with { EmbeddingWidth = -1 },
            nameof(HopfColeTrainerOptions.EmbeddingScale) => Small with { EmbeddingScale = double.NaN },
            nameof(HopfColeTrainerOptions.EnsembleMembers) => Small with { EnsembleMembers = 3 },
            _ => Small with { FlowWidth = 64, Depth = 1 },
        };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }
}
