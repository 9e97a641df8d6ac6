using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Training;
using Microsoft.ML;
using Xunit.Abstractions;

namespace HjMl.MLNet.Tests.Ensembles;

public class RobustMemberTests(ITestOutputHelper output)
{
    [Fact]
    public void BestMemberKeepsTheLargestWeightThoughOneOfItsInnerRunsStoppedAtEpochOne()
    {
        var context = new MLContext(seed: 1);
        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(MLNetData.Diabetes(context), 0.25, seed: 1);
        var flaky = new FirstRunStopsAtEpochOne(context, new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, Viscosity = 0.5, MaximumEpochs = 30, Optimizer = Optimizer.Adam, LearningRate = 0.01 });
        IEstimator<ITransformer>[] members = [flaky, context.Regression.Trainers.Sdca(maximumNumberOfIterations: 12)];

        var log = new List<string>();
        context.Log += (_, message) => log.Add(message.Message);

        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = members }).Fit(split.TrainSet);

        // The premise: the member's inner run was bad, and the member the ensemble uses is the better one on new rows.
        Assert.Equal(1, flaky.Epochs[0]);
        double[] testR2 = [.. ensemble.Members.Select(member => context.Regression.Evaluate(member.Transform(split.TestSet)).RSquared)];
        Assert.True(testR2[0] > testR2[1] + 0.02, $"test R^2 of the members: {string.Join(", ", testR2)}");

        // The claim: its measured loss still makes it the best, so it is not discarded.
        string measured = $"losses {string.Join(", ", ensemble.Losses)}, weights {string.Join(", ", ensemble.Weights)}, test R^2 {string.Join(", ", testR2)}";
        output.WriteLine(measured);
        Assert.True(ensemble.Losses[0] == ensemble.Losses.Min(), measured);
        Assert.True(ensemble.Weights[0] == ensemble.Weights.Max() && ensemble.Weights[0] >= 0.5, measured);
        Assert.Contains(log, message => message.Contains("Member 0 (FirstRunStopsAtEpochOne) fitted without fold 1 of 5 did worse on it than the fold's prior", StringComparison.Ordinal));
    }

    [Fact]
    public void MemberWhoseRunsMostlyFailIsMeasuredAsItIs()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Diabetes(context);
        var hopfCole = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, Viscosity = 0.5, MaximumEpochs = 30, Optimizer = Optimizer.Adam, LearningRate = 0.01 };
        IEstimator<ITransformer>[] members = [context.Regression.Trainers.Sdca(maximumNumberOfIterations: 1), context.Regression.Trainers.HopfCole(hopfCole)];

        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = members, Combination = HjMl.Ensembles.EnsembleCombination.GibbsWeights }).Fit(data);

        // One pass of SDCA is worse than predicting the mean on most folds: that is the member, and its loss (1 - R^2) says so.
        Assert.True(ensemble.Losses[0] > 1, $"losses {string.Join(", ", ensemble.Losses)}");
        Assert.Equal(1, ensemble.Rule.BestMember);
        Assert.True(ensemble.Weights[0] < ensemble.Weights[1], $"weights {string.Join(", ", ensemble.Weights)}");
    }

    /// <summary>A Hopf–Cole regression member whose first fit stops after one epoch, as if early stopping kept epoch 1.</summary>
    private sealed class FirstRunStopsAtEpochOne(MLContext context, HopfColeRegressionTrainer.Options options) : IEstimator<ITransformer>
    {
        public List<int> Epochs { get; } = [];

        public ITransformer Fit(IDataView input)
        {
            int epochs = Epochs.Count == 0 ? 1 : options.MaximumEpochs;
            Epochs.Add(epochs);
            var run = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = options.NumberOfSupportPoints, Viscosity = options.Viscosity, Optimizer = options.Optimizer, LearningRate = options.LearningRate, MaximumEpochs = epochs };
            return context.Regression.Trainers.HopfCole(run).Fit(input);
        }

        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => context.Regression.Trainers.HopfCole(options).GetOutputSchema(inputSchema);
    }
}
