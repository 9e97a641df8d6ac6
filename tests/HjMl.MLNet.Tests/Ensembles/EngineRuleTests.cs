using HjMl.Ensembles;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Ensembles;

public class EngineRuleTests
{
    public static TheoryData<string, EnsembleCombination> Cases => new()
    {
        { "regression", EnsembleCombination.GibbsWeights },
        { "regression", EnsembleCombination.LogSumExpPooling },
        { "binary", EnsembleCombination.GibbsWeights },
        { "binary", EnsembleCombination.LogSumExpPooling },
        { "multiclass", EnsembleCombination.GibbsWeights },
        { "multiclass", EnsembleCombination.LogSumExpPooling },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EnsembleOutputIsTheEngineRuleCombiningTheMembersOutputsInItsConvention(string task, EnsembleCombination combination)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer>[] members) = Members(context, task);
        ViscosityEnsembleTransformer ensemble = Estimator(context, task, new ViscosityEnsembleEstimator.Options { Estimators = members, Combination = combination }).Fit(data);

        // The members' own columns, converted by hand: Score; log P - log(1 - P); log P(c).
        int outputs = ensemble.Rule.OutputLength, count = ensemble.Members.Count;
        double[][] memberScores = [.. ensemble.Members.Select(member => MemberScores(member.Transform(data), task))];
        IDataView combined = ensemble.Transform(data);
        float[][] actual = task == "multiclass" ? [.. combined.GetColumn<float[]>("Score")] : [.. combined.GetColumn<float>("Score").Select(value => new[] { value })];
        var row = new double[count * outputs];
        var scores = new double[outputs];
        for (int r = 0; r < actual.Length; r++)
        {
            for (int k = 0; k < count; k++)
            {
                Array.Copy(memberScores[k], r * outputs, row, k * outputs, outputs);
            }

            ensemble.Rule.Combine(row, scores);
            float[] expected = task == "multiclass" ? Softmax(scores) : [(float)scores[0]];
            Assert.Equal(expected, actual[r]);
        }

        if (task == "binary")
        {
            float[] margins = [.. combined.GetColumn<float>("Score")];
            Assert.Equal(margins.Select(margin => (float)(1 / (1 + Math.Exp(-(double)margin)))), combined.GetColumn<float>("Probability"), new Within(1e-6f));
            Assert.Equal(margins.Select(margin => margin > 0), combined.GetColumn<bool>("PredictedLabel"));
        }
    }

    [Fact]
    public void WithoutViscosityOrCombinationTheRuleIsTheBetterOfBothOnTheEnginesAutomaticGrid()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer>[] members) = Members(context, "binary");
        ViscosityEnsembleTransformer ensemble = context.BinaryClassification.Trainers.ViscosityEnsemble(members).Fit(data);
        ViscosityEnsembleTransformer gibbs = Estimator(context, "binary", new ViscosityEnsembleEstimator.Options { Estimators = members, Combination = EnsembleCombination.GibbsWeights }).Fit(data);
        ViscosityEnsembleTransformer pooled = Estimator(context, "binary", new ViscosityEnsembleEstimator.Options { Estimators = members, Combination = EnsembleCombination.LogSumExpPooling }).Fit(data);

        // The engine's grid: 0, then 31 values; with Gibbs weights eps = 0 is the best member, so the ensemble is never worse.
        Assert.Equal(32, ensemble.Search.Count);
        Assert.Equal(0, ensemble.Search[0].Viscosity);
        Assert.Equal(Math.Min(gibbs.Rule.ValidationLoss, pooled.Rule.ValidationLoss), ensemble.Rule.ValidationLoss);
        Assert.True(gibbs.Rule.ValidationLoss <= ensemble.Losses.Min());
    }

    [Fact]
    public void EnsembleUsesTheCallersMLContextForItsSeedAndLog()
    {
        float[] Scores(int seed, List<string>? log = null)
        {
            var context = new MLContext(seed);
            if (log is not null)
            {
                context.Log += (_, message) => log.Add(message.Message);
            }

            (IDataView data, IEstimator<ITransformer>[] members) = Members(context, "regression");
            return MLNetData.Floats(context.Regression.Trainers.ViscosityEnsemble(members, viscosity: 0.05).Fit(data).Transform(data), "Score");
        }

        var messages = new List<string>();
        Assert.Equal(Scores(5, messages), Scores(5));
        Assert.NotEqual(Scores(5), Scores(6));
        Assert.Contains(messages, message => message.Contains("5 folds of 442 rows, seed 5 (the MLContext's seed)", StringComparison.Ordinal));
        Assert.Contains(messages, message => message.Contains("Member 1 (EstimatorChain): held-out loss per fold", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(442, 5)]
    public void FoldsHoldEveryRowOutOnceInFoldsOfNearlyEqualSize(int rows, int count)
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(row => new Row { Value = row }));
        var folds = new Folds(data, count, seed: 7);

        int[][] heldOut = [.. Enumerable.Range(0, count).Select(folds.HeldOutRows)];
        Assert.Equal(Enumerable.Range(0, rows), heldOut.SelectMany(fold => fold).Order());
        Assert.True(heldOut.Max(fold => fold.Length) - heldOut.Min(fold => fold.Length) <= 1);
        for (int fold = 0; fold < count; fold++)
        {
            Assert.Equal(heldOut[fold].Select(row => (float)row), folds.HeldOut(fold).GetColumn<float>(nameof(Row.Value)));
            Assert.Equal(Enumerable.Range(0, rows).Except(heldOut[fold]).Select(row => (float)row), folds.Training(fold).GetColumn<float>(nameof(Row.Value)));
        }

        Assert.Equal(heldOut, Enumerable.Range(0, count).Select(new Folds(data, count, seed: 7).HeldOutRows));
    }

    [Fact]
    public void FewerRowsThanFoldsAreRejectedWithBothCounts()
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(Enumerable.Range(0, 3).Select(row => new Row { Value = row }));

        ArgumentException refused = Assert.Throws<ArgumentException>(() => new Folds(data, 5, seed: 1));

        Assert.Contains("3 rows, fewer than NumberOfFolds (5)", refused.Message);
    }

    [Theory]
    [InlineData("regression")]
    [InlineData("multiclass")]
    public void LoadWithHopfColeGivesBackTheSameRuleScoringBitForBit(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer>[] members) = Members(context, task);
        ViscosityEnsembleTransformer ensemble = Estimator(context, task, new ViscosityEnsembleEstimator.Options { Estimators = members, Combination = EnsembleCombination.LogSumExpPooling }).Fit(data);
        string path = Path.Combine(Path.GetTempPath(), $"hjml-ensemble-rule-{Guid.NewGuid():N}.zip");
        ITransformer loaded;
        try
        {
            context.Model.Save(ensemble, data.Schema, path);
            loaded = new MLContext(seed: 2).Model.LoadWithHopfCole(path, out _);
        }
        finally
        {
            File.Delete(path);
        }

        var rebound = Assert.IsType<ViscosityEnsembleTransformer>(loaded);
        Assert.Equal(ensemble.Combination, rebound.Combination);
        Assert.Equal(ensemble.Viscosity, rebound.Viscosity);
        Assert.Equal(ensemble.Rule.LabelScale, rebound.Rule.LabelScale);
        Assert.Equal(ensemble.Rule.ClassLabels, rebound.Rule.ClassLabels);
        Assert.Equal(ensemble.Losses, rebound.Losses);
        Assert.Equal(ensemble.Search, rebound.Search);
        if (task == "multiclass")
        {
            Assert.Equal(ensemble.Transform(data).GetColumn<float[]>("Score"), loaded.Transform(data).GetColumn<float[]>("Score"));
        }
        else
        {
            Assert.Equal(ensemble.Transform(data).GetColumn<float>("Score"), loaded.Transform(data).GetColumn<float>("Score"));
        }
    }

    internal static (IDataView Data, IEstimator<ITransformer>[] Members) Members(MLContext context, string task) => task switch
    {
        "regression" => (MLNetData.Diabetes(context),
        [
            context.Regression.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20),
            context.Transforms.NormalizeMeanVariance("Features").Append(context.Regression.Trainers.Sdca()),
        ]),
        "binary" => (MLNetData.BreastCancer(context),
        [
            context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20),
            context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression()),
        ]),
        _ => (MLNetData.Iris(context),
        [
            context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 20),
            context.Transforms.NormalizeMinMax("Features").Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
        ]),
    };

    internal static ViscosityEnsembleEstimator Estimator(MLContext context, string task, ViscosityEnsembleEstimator.Options options) => task switch
    {
        "regression" => context.Regression.Trainers.ViscosityEnsemble(options),
        "binary" => context.BinaryClassification.Trainers.ViscosityEnsemble(options),
        _ => context.MulticlassClassification.Trainers.ViscosityEnsemble(options),
    };

    // A member's outputs as the rule reads them, row-major.
    private static double[] MemberScores(IDataView scored, string task) => task switch
    {
        "regression" => [.. scored.GetColumn<float>("Score").Select(score => (double)score)],
        "binary" => [.. scored.GetColumn<float>("Probability").Select(p => Math.Log(Math.Max(p, 1e-15f)) - Math.Log(Math.Max(1.0 - p, 1e-15f)))],
        _ => [.. scored.GetColumn<float[]>("Score").SelectMany(row => row).Select(p => Math.Log(Math.Max(p, 1e-15f)))],
    };

    private static float[] Softmax(double[] scores)
    {
        double max = scores.Max();
        double sum = scores.Sum(score => Math.Exp(score - max));
        return [.. scores.Select(score => (float)(Math.Exp(score - max) / sum))];
    }

    private sealed class Within(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }

    private sealed class Row
    {
        public float Value { get; set; }
    }
}
