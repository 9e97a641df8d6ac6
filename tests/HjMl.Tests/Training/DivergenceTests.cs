using System.Diagnostics;
using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class DivergenceTests
{
    private static readonly Dataset Iris = TestData.Load("iris.csv");

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.2, 0)]
    [InlineData(0.0, 2)]
    public void ARunThatDivergesInItsFirstEpochFailsNamingTheEpochAndTheLearningRate(double validationFraction, int depth)
    {
        // A learning rate no data set survives: a finite model with the reason, or (as here, in epoch 1) a clear error.
        var options = new HopfColeTrainerOptions
        {
            Kind = ModelKind.MulticlassClassification,
            NumberOfSupportPoints = 4,
            Optimizer = Optimizer.Adam,
            BatchSize = 16,
            LearningRate = 1e300,
            MaximumEpochs = 20,
            ValidationFraction = validationFraction,
            Depth = depth,
            Seed = 1,
            MaximumDegreeOfParallelism = 1,
        };
        try
        {
            TrainingResult result = new HopfColeTrainer(options).Train(Iris);
            Assert.NotNull(result.StopReason);
            Assert.Contains("diverged", result.StopReason);
            Assert.Contains($"keeps epoch {result.BestEpoch}", result.StopReason);
            var scores = new double[Iris.Rows * 3];
            result.Model.ScoreBatch(Iris.Features, scores);
            Assert.All(scores, score => Assert.True(double.IsFinite(score)));
        }
        catch (InvalidOperationException error)
        {
            Assert.Contains("LearningRate", error.Message);
            Assert.Contains("epoch 1", error.Message);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ANonFiniteLossAfterTheFirstEpochStopsAndKeepsTheLastFiniteOrBestValidatedParameters(bool validated)
    {
        var options = new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 2, MaximumEpochs = 10 };
        LabelEncoding labels = LabelEncoding.Fit(Iris, options.Kind);
        FeatureScaling scaling = FeatureScaling.Fit(Iris);
        int[] rows = Enumerable.Range(0, Iris.Rows).ToArray();
        TrainingBlock block = TrainingBlock.Create(Iris, labels, scaling, null, rows);
        var objective = new TrainingObjective(new Objective(options.Kind, 4, 3, 2, 1, 0, RegressionLoss.Squared, 1, false), block, options.Kind, 3, false);
        var parameters = new double[objective.ParameterCount];
        Array.Fill(parameters, 0.25);
        var run = new TrainingRun(options, objective, validated ? block : null, parameters, 4, Stopwatch.StartNew(), null);

        Assert.False(run.EndEpoch(1, 1.0));
        double[] kept = (double[])parameters.Clone();
        parameters[0] = double.NaN;
        Assert.True(run.EndEpoch(2, 0.9));
        Assert.Equal(1, run.BestEpoch);
        Assert.Equal(kept, run.BestParameters);
        Assert.Contains("stopped in epoch 2", run.StopReason);
        Assert.Contains("keeps epoch 1", run.StopReason);
    }
}
