using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class TrainerBehaviourTests
{
    private static readonly Dataset BreastCancer = TestData.Load("breast_cancer.csv");
    private static readonly Dataset Iris = TestData.Load("iris.csv");

    private static HopfColeTrainerOptions Binary => new() { Kind = ModelKind.BinaryClassification, NumberOfSupportPoints = 6, MaximumEpochs = 15, Seed = 7, MaximumDegreeOfParallelism = 2 };

    [Theory]
    [InlineData(Optimizer.Adam)]
    [InlineData(Optimizer.Lbfgs)]
    public void SameSeedAndThreadCountGiveBitIdenticalModels(Optimizer optimizer)
    {
        HopfColeTrainerOptions options = Binary with { Optimizer = optimizer, BatchSize = 64 };
        HopfColeModel first = new HopfColeTrainer(options).Fit(BreastCancer);
        HopfColeModel second = new HopfColeTrainer(options).Fit(BreastCancer);
        Assert.True(first.Layer.Weights.SequenceEqual(second.Layer.Weights));
        Assert.True(first.Layer.Biases.SequenceEqual(second.Layer.Biases));
        Assert.Equal(first.Viscosity, second.Viscosity);

        HopfColeModel other = new HopfColeTrainer(options with { Seed = 8 }).Fit(BreastCancer);
        Assert.False(first.Layer.Weights.SequenceEqual(other.Layer.Weights));
    }

    [Fact]
    public void ProgressReportsEveryEpochAndEarlyStoppingKeepsTheBestValidationEpoch()
    {
        var reports = new List<TrainingProgress>();
        TrainingResult result = new HopfColeTrainer(Binary with { MaximumEpochs = 40, Patience = 3 }).Train(BreastCancer, progress: new Collect(reports));
        Assert.Equal(Enumerable.Range(1, reports.Count), reports.Select(r => r.Epoch));
        Assert.True(reports.Zip(reports.Skip(1)).All(pair => pair.Second.Elapsed >= pair.First.Elapsed));
        double best = reports.Where(r => !double.IsNaN(r.ValidationLoss)).Min(r => r.ValidationLoss);
        Assert.Equal(best, result.ValidationLoss);
        Assert.Equal(reports.First(r => r.ValidationLoss == best).Epoch, result.BestEpoch);
        Assert.Equal((int)(0.1 * BreastCancer.Rows), result.ValidationRows.Count);
    }

    [Theory]
    [InlineData(Optimizer.Adam, FeatureEmbedding.Periodic, 0, HopfColeTrainerOptions.AutomaticEmbeddedPatience)]
    [InlineData(Optimizer.Lbfgs, FeatureEmbedding.Periodic, 0, HopfColeTrainerOptions.AutomaticPatience)]
    [InlineData(Optimizer.Adam, FeatureEmbedding.None, 0, HopfColeTrainerOptions.AutomaticPatience)]
    [InlineData(Optimizer.Adam, FeatureEmbedding.Periodic, 7, 7)]
    public void AutomaticPatienceIsShortOnlyForAnEmbeddingTrainedByAdamAndStopsTheRunThere(Optimizer optimizer, FeatureEmbedding embedding, int asked, int expected)
    {
        HopfColeTrainerOptions options = Binary with { Optimizer = optimizer, FeatureEmbedding = embedding, EmbeddingFrequencies = 4, EmbeddingWidth = 4, EnsembleMembers = 1, MaximumEpochs = 60, Patience = asked };
        TrainingResult result = new HopfColeTrainer(options).Train(BreastCancer);
        Assert.Equal(expected, result.Patience);
        int last = result.History[^1].Epoch;
        Assert.True(last == options.MaximumEpochs || last - result.BestEpoch <= expected, $"stopped at epoch {last}, best {result.BestEpoch}, patience {expected}");
    }

    [Fact]
    public void NegativePatienceIsRefusedByName()
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new HopfColeTrainer(Binary with { Patience = -1 }));
        Assert.Contains("Patience", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        using var cancellation = new CancellationTokenSource();
        var progress = new Collect([], report =>
        {
            if (report.Epoch == 2)
            {
                cancellation.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => new HopfColeTrainer(Binary with { MaximumEpochs = 50, Patience = 50 }).Fit(BreastCancer, progress: progress, cancellation: cancellation.Token));
    }

    [Fact]
    public void CancellationOfPooledMembersTrainingAtOnceThrowsOperationCanceledNotAnAggregate()
    {
        // Adam's three members train concurrently: a cancellation during the first one's run ends all of them, and the
        // caller sees the cancellation itself, as from a single run.
        using var cancellation = new CancellationTokenSource();
        var progress = new Collect([], report =>
        {
            if (report.Epoch == 2)
            {
                cancellation.Cancel();
            }
        });
        HopfColeTrainerOptions options = Binary with { Optimizer = Optimizer.Adam, BatchSize = 32, EnsembleMembers = 3, MaximumEpochs = 200, Patience = 200 };
        Exception thrown = Assert.ThrowsAny<OperationCanceledException>(() => new HopfColeTrainer(options).Fit(BreastCancer, progress: progress, cancellation: cancellation.Token));
        Assert.IsNotType<AggregateException>(thrown.InnerException);
    }

    [Fact]
    public void LearnedViscosityMovesAndAnnealedViscosityEndsAtItsTarget()
    {
        HopfColeModel learned = new HopfColeTrainer(Binary with { ViscosityMode = ViscosityMode.Learned, Viscosity = 3, ValidationFraction = 0 }).Fit(BreastCancer);
        Assert.NotEqual(3, learned.Viscosity);
        Assert.True(learned.Viscosity > 0);

        var reports = new List<TrainingProgress>();
        new HopfColeTrainer(Binary with { ViscosityMode = ViscosityMode.Annealed, Viscosity = 2, FinalViscosity = 0.02, ValidationFraction = 0, Optimizer = Optimizer.Adam }).Train(BreastCancer, progress: new Collect(reports));
        Assert.Equal(2, reports[0].Viscosity, 12);
        Assert.Equal(0.02, reports[^1].Viscosity, 12);
        Assert.True(reports.Zip(reports.Skip(1)).All(pair => pair.Second.Viscosity < pair.First.Viscosity));
    }

    [Fact]
    public void WidthScalingViscosityIsNToTheMinusOneOverD()
    {
        HopfColeModel model = new HopfColeTrainer(Binary with { ViscosityMode = ViscosityMode.WidthScaling, MaximumEpochs = 1 }).Fit(BreastCancer);
        Assert.Equal(Math.Pow(6, -1.0 / 30), model.Viscosity, 15);
    }

    [Fact]
    public void ClassifierSupportPointsStartOnTrainingRowsOfTheirClass()
    {
        // Epoch 0 keeps the Hopf–Cole construction: w_j = y_j / (2t), b_j = -|y_j|^2 / (4t) with y_j a standardised row.
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 4, MaximumEpochs = 0, Seed = 3 }).Fit(Iris);
        int d = model.InputDimension;
        var standardised = new double[d];
        for (int piece = 0; piece < model.SupportRows.Count; piece++)
        {
            int row = model.SupportRows[piece];
            int head = piece / 4;
            Assert.Equal(model.ClassLabels[head], Iris.Labels[row]);
            model.Scaling.Apply(Iris.Row(row), standardised);
            for (int k = 0; k < d; k++)
            {
                Assert.Equal(standardised[k] / (2 * model.Time), model.Layer.Weights[(piece * d) + k], 14);
            }
        }
    }

    [Fact]
    public void UniformExampleWeightsDoNotChangeTheModel()
    {
        double[] twos = Enumerable.Repeat(2.0, BreastCancer.Rows).ToArray();
        HopfColeModel plain = new HopfColeTrainer(Binary with { MaximumEpochs = 5 }).Fit(BreastCancer);
        HopfColeModel weighted = new HopfColeTrainer(Binary with { MaximumEpochs = 5 }).Fit(BreastCancer, twos);
        for (int i = 0; i < plain.Layer.Weights.Length; i++)
        {
            Assert.Equal(plain.Layer.Weights[i], weighted.Layer.Weights[i], 1e-9);
        }
    }

    [Fact]
    public void SingleClassIsRejectedNamingTheLabelColumn()
    {
        var data = new Dataset([1, 2, 3, 4, 5, 6], [1, 1, 1], ["a", "b"], "Outcome");
        var problem = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary).Fit(data));
        Assert.Contains("label column 'Outcome' holds a single class", problem.Message);
    }

    [Fact]
    public void BinaryTrainerRejectsThreeClasses()
    {
        var problem = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary).Fit(Iris));
        Assert.Contains("holds 3 classes", problem.Message);
        Assert.Contains("multiclass", problem.Message);
    }

    [Fact]
    public void BadOptionsAndWeightsAreRejectedByName()
    {
        Assert.Equal("Viscosity", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary with { Viscosity = 0 })).ParamName);
        Assert.Equal("NumberOfSupportPoints", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary with { NumberOfSupportPoints = 0 })).ParamName);
        var problem = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary).Fit(BreastCancer, new double[3]));
        Assert.Contains("3 entries but the data has 569 rows", problem.Message);
        double[] negative = Enumerable.Repeat(1.0, BreastCancer.Rows).ToArray();
        negative[10] = -1;
        Assert.Contains("row 11", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Binary).Fit(BreastCancer, negative)).Message);
    }

    [Fact]
    public void FewerRowsThanFoldsIsRejected()
    {
        var data = new Dataset([1, 2, 3], [0, 1, 0], ["a"]);
        var problem = Assert.Throws<ArgumentException>(() => CrossValidation.Run(data, Binary, folds: 5));
        Assert.Contains("3 rows, fewer than the 5 folds", problem.Message);
    }

    [Fact]
    public void WidthScalingExponentIsWithin25PercentOfOneOverD()
    {
        foreach (int d in new[] { 1, 2 })
        {
            (_, HjMl.PaperChecks.ScalingFit fit) = HjMl.PaperChecks.WidthScaling.Run(d, HjMl.PaperChecks.WidthScaling.DefaultWidths);
            Assert.InRange(fit.Exponent, 0.75 / d, 1.25 / d);
        }
    }

    private sealed class Collect(List<TrainingProgress> reports, Action<TrainingProgress>? also = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            reports.Add(value);
            also?.Invoke(value);
        }
    }
}
