using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

// The Automatic optimiser and learning rate (HopfColeTrainerOptions.Optimizer and LearningRate): which each picks, and
// that a run trains with what it picked. What they measured is in docs/accuracy-experiments.md.
public class AutomaticTrainingTests
{
    private static readonly Dataset BreastCancer = TestData.Load("breast_cancer.csv");
    private static readonly Dataset Iris = TestData.Load("iris.csv");

    private static HopfColeTrainerOptions Binary => new() { Kind = ModelKind.BinaryClassification, NumberOfSupportPoints = 4, MaximumEpochs = 3, EnsembleMembers = 1, Seed = 3, MaximumDegreeOfParallelism = 2 };

    [Theory]
    [InlineData(6400, 128, 0.001)]
    [InlineData(23443, 128, 0.001)]
    [InlineData(1294, 128, 0.05 / 11)]
    [InlineData(2560, 128, 0.05 / 20)]
    [InlineData(513, 128, 0.01)]
    [InlineData(100, 0, 0.01)]
    public void AutomaticLearningRateIsAdamsDefaultFromFiftyBatchesAnEpochAndRisesInverselyToTheBatchesBelowUpToTheCeiling(int rows, int batchSize, double expected)
        => Assert.Equal(expected, HopfColeTrainer.AutomaticLearningRate(rows, batchSize), 15);

    [Fact]
    public void AutomaticLearningRateNeverRisesWithTheRowsAndStaysWithinItsBounds()
    {
        double previous = double.PositiveInfinity;
        for (int rows = 1; rows <= 20_000; rows += 7)
        {
            double rate = HopfColeTrainer.AutomaticLearningRate(rows, 128);
            Assert.InRange(rate, HopfColeTrainerOptions.AutomaticLearningRateFloor, HopfColeTrainerOptions.AutomaticLearningRateCeiling);
            Assert.True(rate <= previous, $"{rows} rows: {rate} after {previous}");
            previous = rate;
        }
    }

    [Fact]
    public void AutomaticLearningRateRefusesNoRowsAndANegativeBatchSize()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HopfColeTrainer.AutomaticLearningRate(0, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => HopfColeTrainer.AutomaticLearningRate(10, -1));
    }

    // breast_cancer: 569 rows, 513 after the 10% validation split (5 mini-batches of 128); iris: 135 (2).
    [Theory]
    [InlineData("breast_cancer", 128, 100, Optimizer.Adam)]
    [InlineData("breast_cancer", 128, 80, Optimizer.Adam)]
    [InlineData("breast_cancer", 128, 79, Optimizer.Lbfgs)]
    [InlineData("breast_cancer", 512, 100, Optimizer.Lbfgs)]
    [InlineData("breast_cancer", 0, 100, Optimizer.Lbfgs)]
    [InlineData("iris", 128, 100, Optimizer.Lbfgs)]
    [InlineData("iris", 64, 200, Optimizer.Adam)]
    public void AutomaticOptimizerTrainsByLbfgsBelowFourHundredAdamStepsAndByAdamFromThereAsResolvedOptimizerSays(string data, int batchSize, int epochs, Optimizer expected)
    {
        Dataset rows = data == "iris" ? Iris : BreastCancer;
        HopfColeTrainerOptions options = Binary with { Kind = data == "iris" ? ModelKind.MulticlassClassification : ModelKind.BinaryClassification, BatchSize = batchSize, MaximumEpochs = epochs };
        TrainingResult result = new HopfColeTrainer(options).Train(rows);
        Assert.Equal(expected, result.Optimizer);

        // What a search pins for its short runs of these options: the run's own choice.
        Assert.Equal(expected, HopfColeTrainer.ResolvedOptimizer(options, rows));
        Assert.Equal(Optimizer.Adam, HopfColeTrainer.ResolvedOptimizer(options with { Optimizer = Optimizer.Adam }, rows));
        int trainingRows = rows.Rows - result.ValidationRows.Count;
        Assert.Equal(expected == Optimizer.Adam ? HopfColeTrainer.AutomaticLearningRate(trainingRows, batchSize) : 0, result.LearningRate);
    }

    [Fact]
    public void AutomaticLearningRateTrainsExactlyAsTheRateItResolvesTo()
    {
        TrainingResult automatic = new HopfColeTrainer(Binary with { Optimizer = Optimizer.Adam }).Train(BreastCancer);
        Assert.Equal(0.01, automatic.LearningRate);
        TrainingResult asked = new HopfColeTrainer(Binary with { Optimizer = Optimizer.Adam, LearningRate = automatic.LearningRate }).Train(BreastCancer);
        Assert.True(automatic.Model.Layer.Weights.SequenceEqual(asked.Model.Layer.Weights));
        TrainingResult other = new HopfColeTrainer(Binary with { Optimizer = Optimizer.Adam, LearningRate = 0.002 }).Train(BreastCancer);
        Assert.Equal(0.002, other.LearningRate);
        Assert.False(automatic.Model.Layer.Weights.SequenceEqual(other.Model.Layer.Weights));
    }

    [Theory]
    [InlineData(-0.001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ALearningRateThatIsNegativeOrNotFiniteIsRefusedByName(double rate)
    {
        var error = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary with { LearningRate = rate }));
        Assert.Contains("LearningRate", error.Message, StringComparison.Ordinal);
    }
}
