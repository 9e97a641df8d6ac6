using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Flows;

public class FlowTrainingTests
{
    private static readonly Dataset Iris = TestData.Load("iris.csv");
    private static readonly Dataset BreastCancer = TestData.Load("breast_cancer.csv");

    private static HopfColeTrainerOptions Deep => new()
    {
        Kind = ModelKind.MulticlassClassification,
        NumberOfSupportPoints = 4,
        Depth = 3,
        FlowWidth = 8,
        FlowSupportPoints = 6,
        MaximumEpochs = 30,
        BatchSize = 32,
        Seed = 3,
        MaximumDegreeOfParallelism = 2,
    };

    [Fact]
    public void DeepModelLearnsIrisAndScoresTheSameRowByRowInBatchAndAfterSaving()
    {
        TrainingResult result = new HopfColeTrainer(Deep).Train(Iris);
        HopfColeModel model = result.Model;
        Assert.Equal(3, model.Depth);
        Assert.Equal(4, model.InputDimension);
        Assert.Equal(8, model.Layer.InputDimension);
        Assert.True(result.ValidationMetric >= 0.8, $"validation accuracy {result.ValidationMetric}");
        Assert.True(result.BestEpoch > 1, $"the best epoch is {result.BestEpoch}: training kept its first epoch");

        int rows = Iris.Rows;
        var batch = new double[rows * 3];
        model.ScoreBatch(Iris.Features, batch);
        var single = new double[3];
        var path = Path.Combine(Path.GetTempPath(), $"hjml-flow-{Guid.NewGuid():N}.hjml");
        try
        {
            ModelFile.Save(model, path);
            HopfColeModel loaded = ModelFile.Load(path);
            Assert.Equal(model.Flow!.Parameters.ToArray(), loaded.Flow!.Parameters.ToArray());
            var reloaded = new double[3];
            int correct = 0;
            for (int row = 0; row < rows; row++)
            {
                model.Score(Iris.Row(row), single);
                loaded.Score(Iris.Row(row), reloaded);
                Assert.Equal(single, reloaded);
                for (int k = 0; k < 3; k++)
                {
                    Assert.Equal(single[k], batch[(row * 3) + k], 1e-12);
                }

                correct += model.Interpret(single).PredictedLabel == Iris.Labels[row] ? 1 : 0;
            }

            Assert.True(correct >= 0.9 * rows, $"{correct} of {rows} training rows right");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SameSeedAndThreadCountGiveBitIdenticalFlows()
    {
        HopfColeTrainerOptions options = Deep with { MaximumEpochs = 5 };
        HopfColeModel first = new HopfColeTrainer(options).Fit(Iris);
        HopfColeModel second = new HopfColeTrainer(options).Fit(Iris);
        Assert.True(first.Flow!.Parameters.SequenceEqual(second.Flow!.Parameters));
        Assert.True(first.Layer.Weights.SequenceEqual(second.Layer.Weights));
    }

    [Fact]
    public void FloatScoringOfAFlowRunsInFloat32WithinTheFlowToleranceOfTheDoubleScores()
    {
        HopfColeModel model = new HopfColeTrainer(Deep with { Kind = ModelKind.BinaryClassification, MaximumEpochs = 5, FlowWidth = 0 }).Fit(BreastCancer);
        float[] row = BreastCancer.Row(4).ToArray().Select(v => (float)v).ToArray();
        var scores = new float[1];
        model.Score(row, scores);
        double reference = model.Score(row.Select(v => (double)v).ToArray());
        Assert.True(Math.Abs(scores[0] - reference) <= HopfColeModel.FlowScoreTolerance * Math.Max(1, Math.Abs(reference)), $"float32 {scores[0]}, double {reference}");
        var batch = new float[2];
        model.ScoreBatch([.. row, .. row], batch);
        Assert.Equal(scores[0], batch[0]);
        Assert.Equal(scores[0], batch[1]);
    }

    [Fact]
    public void BadFlowOptionsAndInputsGiveErrorsThatNameThem()
    {
        Assert.Contains("Depth", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Deep with { Depth = -1 })).Message);
        Assert.Contains("FlowWidth", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Deep with { FlowWidth = 2 }).Fit(Iris)).Message);
        Assert.Contains("Depth", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Deep with { Depth = 5000, FlowWidth = 4000, Optimizer = Optimizer.Lbfgs }).Fit(Iris)).Message);

        HopfColeModel model = new HopfColeTrainer(Deep with { MaximumEpochs = 1 }).Fit(Iris);
        var features = Iris.Features.ToArray();
        features[5] = double.NaN;
        var scores = new double[Iris.Rows * 3];
        Assert.Contains("Row 2", Assert.Throws<ArgumentException>(() => model.ScoreBatch(features, scores)).Message);
        Assert.Contains("Depth 0", Assert.Throws<NotSupportedException>(() => HjMl.Landscape.EntropyLandscape.Sweep(model, Iris.Features, [1.0])).Message);
    }

    [Fact]
    public void TrainRefusesAFlowThatCannotFitInMemoryNamingItsSizes()
    {
        // 1.8e9 parameters fit one array, but their optimiser copies need hundreds of GiB.
        HopfColeTrainerOptions huge = Deep with { Depth = 1, FlowWidth = 30_000, FlowSupportPoints = 30_000 };
        string message = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(huge).Train(Iris)).Message;
        Assert.Contains("with a flow of depth 1", message);
        Assert.Contains("on 30000 features", message);
        Assert.Contains("MiB", message);
    }

    [Fact]
    public void UntrainedFlowStartsAsTheIdentity()
    {
        // Zero values: every step adds h times a Gibbs average of zero vectors, so z_L = z_0 exactly and depth cannot start
        // worse than the single layer.
        HopfColeModel model = new HopfColeTrainer(Deep with { FlowWidth = 0, MaximumEpochs = 0 }).Fit(Iris);
        var terminal = new double[Iris.Rows * 4];
        model.Flow!.TransportBatch(Iris.Features, terminal);
        Assert.Equal(Iris.Features.ToArray(), terminal);
    }
}
