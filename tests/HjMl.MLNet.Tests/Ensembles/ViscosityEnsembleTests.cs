using HjMl.Ensembles;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Ensembles;

public class ViscosityEnsembleTests
{
    [Fact]
    public void VanishingViscosityKeepsTheBestMemberAlone()
    {
        var context = new MLContext(seed: 1);
        IDataView diabetes = MLNetData.Diabetes(context);
        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = RegressionMembers(context),
            Viscosity = 1e-6,
            Combination = EnsembleCombination.GibbsWeights,
        }).Fit(diabetes);

        int best = Array.IndexOf(ensemble.Losses.ToArray(), ensemble.Losses.Min());
        Assert.Equal(1.0, ensemble.Weights[best], 12);
        float[] combined = MLNetData.Floats(ensemble.Transform(diabetes), "Score");
        float[] member = MLNetData.Floats(ensemble.Members[best].Transform(diabetes), "Score");
        Assert.Equal(member, combined);
    }

    [Fact]
    public void LargeViscosityWeighsTheMembersAlike()
    {
        var context = new MLContext(seed: 1);
        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(RegressionMembers(context), viscosity: 1e6).Fit(MLNetData.Diabetes(context));

        Assert.All(ensemble.Weights, weight => Assert.Equal(1.0 / ensemble.Weights.Count, weight, 5));
    }

    [Fact]
    public void BinaryEnsembleOfHopfColeAndLogisticRegressionEvaluates()
    {
        var context = new MLContext(seed: 1);
        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(MLNetData.BreastCancer(context), 0.25, seed: 1);
        IEstimator<ITransformer>[] members =
        [
            context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 30),
            context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression()),
        ];

        ViscosityEnsembleTransformer ensemble = context.BinaryClassification.Trainers.ViscosityEnsemble(members, viscosity: 0.05).Fit(split.TrainSet);
        CalibratedBinaryClassificationMetrics metrics = context.BinaryClassification.Evaluate(ensemble.Transform(split.TestSet));

        Assert.True(metrics.Accuracy > 0.93, $"accuracy {metrics.Accuracy}");
        Assert.Equal(1.0, ensemble.Weights.Sum(), 12);
    }

    [Fact]
    public void ViscosityChosenOnHeldOutRowsIsTheCandidateOfLeastHeldOutLoss()
    {
        var context = new MLContext(seed: 1);
        double[] candidates = [1e-3, 1e-2, 0.1, 1, 10];
        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = RegressionMembers(context),
            ViscosityCandidates = candidates,
        }).Fit(MLNetData.Diabetes(context));

        Assert.Equal(candidates, ensemble.Search.Select(candidate => candidate.Viscosity));
        Assert.Equal(ensemble.Search.MinBy(candidate => candidate.ValidationLoss)!.Viscosity, ensemble.Viscosity);
        Assert.All(ensemble.Search, candidate => Assert.Equal(1 - candidate.ValidationLoss, candidate.ValidationMetric, 12));

        // The chosen combination is no worse on the held-out rows than the best member alone (the smallest eps is nearly that).
        Assert.True(ensemble.Search.Min(candidate => candidate.ValidationLoss) <= ensemble.Search[0].ValidationLoss);
        Assert.Equal(1.0, ensemble.Weights.Sum(), 12);
    }

    [Fact]
    public void OptionsWithAFixedViscosityMatchTheSimpleOverload()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Iris(context);
        IEstimator<ITransformer>[] Members() =>
        [
            context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 20),
            context.Transforms.NormalizeMinMax("Features").Append(context.MulticlassClassification.Trainers.LbfgsMaximumEntropy()),
        ];
        ViscosityEnsembleTransformer simple = context.MulticlassClassification.Trainers.ViscosityEnsemble(Members(), viscosity: 0.2, seed: 3).Fit(data);
        ViscosityEnsembleTransformer options = context.MulticlassClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = Members(),
            Viscosity = 0.2,
            Seed = 3,
        }).Fit(data);

        Assert.Equal(simple.Losses, options.Losses);
        Assert.Equal(simple.Weights, options.Weights);
        Assert.Equal(0.2, options.Viscosity);

        // A given eps is the search's one candidate, reported with its out-of-fold loss.
        Assert.Equal(0.2, Assert.Single(options.Search).Viscosity);
    }

    [Fact]
    public void BadEnsembleOptionsAreRejectedWithTheirName()
    {
        var context = new MLContext(seed: 1);
        IEstimator<ITransformer>[] members = RegressionMembers(context);
        ArgumentException empty = Assert.ThrowsAny<ArgumentException>(() => context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = members, ViscosityCandidates = [] }));
        Assert.Contains("ViscosityCandidates", empty.Message);
        ArgumentException negative = Assert.ThrowsAny<ArgumentException>(() => context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = members, Viscosity = -1 }));
        Assert.Contains("Viscosity is -1", negative.Message);
        Assert.ThrowsAny<ArgumentException>(() => context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options()));
    }

    [Theory]
    [InlineData("regression", EnsembleCombination.GibbsWeights, 0.05)]
    [InlineData("regression", EnsembleCombination.LogSumExpPooling, 0.5)]
    [InlineData("regression", EnsembleCombination.LogSumExpPooling, 0.0)]
    [InlineData("binary", EnsembleCombination.GibbsWeights, 0.05)]
    [InlineData("binary", EnsembleCombination.LogSumExpPooling, 0.3)]
    [InlineData("multiclass", EnsembleCombination.GibbsWeights, 0.2)]
    [InlineData("multiclass", EnsembleCombination.LogSumExpPooling, 0.2)]
    [InlineData("multiclass", EnsembleCombination.LogSumExpPooling, 0.0)]
    public void SavedEnsemblePoolsAsTheLiveOneInOnnxRuntimeWithTheSameSchema(string task, EnsembleCombination combination, double viscosity)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, ViscosityEnsembleEstimator estimator) = Ensemble(context, task, combination, viscosity);
        ViscosityEnsembleTransformer ensemble = estimator.Fit(data);
        string path = Path.Combine(Path.GetTempPath(), $"hjml-ensemble-{Guid.NewGuid():N}.zip");
        ITransformer loaded;
        try
        {
            context.Model.Save(ensemble, data.Schema, path);
            loaded = new MLContext().Model.Load(path, out _);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(combination, ensemble.Combination);
        IDataView before = ensemble.Transform(data);
        IDataView after = loaded.Transform(data);
        Assert.Equal(Visible(before.Schema), Visible(after.Schema));
        if (task == "multiclass")
        {
            Close(before.GetColumn<float[]>("Score"), after.GetColumn<float[]>("Score"));
            Assert.Equal(before.GetColumn<uint>("PredictedLabel"), after.GetColumn<uint>("PredictedLabel"));
        }
        else if (task == "regression")
        {
            Close(before.GetColumn<float>("Score").Select(value => new[] { value }), after.GetColumn<float>("Score").Select(value => new[] { value }));
        }
        else
        {
            // The margin log P - log(1 - P) is read from float probabilities: its condition number is 1 / (P (1 - P)), and
            // a HopfCole member's saved float32 graph differs from its live double score in the last bits of P.
            float[] probabilities = [.. before.GetColumn<float>("Probability")];
            float[] margins = [.. after.GetColumn<float>("Score")];
            Close(before.GetColumn<float>("Score").Select(value => new[] { value }), margins.Select(value => new[] { value }), row => 1 / (4 * probabilities[row] * (1 - probabilities[row])));
            Close(probabilities.Select(value => new[] { value }), after.GetColumn<float>("Probability").Select(value => new[] { value }));
            Assert.Equal(before.GetColumn<bool>("PredictedLabel"), after.GetColumn<bool>("PredictedLabel"));
        }

        // The input columns come out as they went in, though a member normalised Features on its way.
        Assert.Equal(data.GetColumn<float[]>("Features").SelectMany(row => row), after.GetColumn<float[]>("Features").SelectMany(row => row));
    }

    private static (IDataView Data, ViscosityEnsembleEstimator Estimator) Ensemble(MLContext context, string task, EnsembleCombination combination, double viscosity)
    {
        switch (task)
        {
            case "regression":
                return (MLNetData.Diabetes(context), context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = RegressionMembers(context), Combination = combination, Viscosity = viscosity }));
            case "binary":
                IEstimator<ITransformer>[] binary =
                [
                    context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20),
                    context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression()),
                ];
                return (MLNetData.BreastCancer(context), context.BinaryClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = binary, Combination = combination, Viscosity = viscosity }));
            default:
                IEstimator<ITransformer>[] multiclass =
                [
                    context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 20),
                    context.Transforms.NormalizeMinMax("Features").Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
                ];
                return (MLNetData.Iris(context), context.MulticlassClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options { Estimators = multiclass, Combination = combination, Viscosity = viscosity }));
        }
    }

    private static IEstimator<ITransformer>[] RegressionMembers(MLContext context) =>
    [
        context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 30),
        context.Transforms.NormalizeMeanVariance("Features").Append(context.Regression.Trainers.Sdca()),
        context.Regression.Trainers.HopfCole(numberOfSupportPoints: 2, viscosity: 2, maximumEpochs: 10),
    ];

    // Equal within 1e-5 relative to max(1, |value|), times the row's condition number if given.
    private static void Close(IEnumerable<float[]> expected, IEnumerable<float[]> actual, Func<int, double>? condition = null)
    {
        float[][] left = expected.ToArray();
        float[][] right = actual.ToArray();
        Assert.Equal(left.Length, right.Length);
        for (int row = 0; row < left.Length; row++)
        {
            for (int k = 0; k < left[row].Length; k++)
            {
                double tolerance = 1e-5 * Math.Max(1, Math.Abs(left[row][k])) * (condition?.Invoke(row) ?? 1);
                Assert.True(Math.Abs(left[row][k] - right[row][k]) <= tolerance, $"row {row}, slot {k}: {left[row][k]} vs {right[row][k]}");
            }
        }
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();
}
