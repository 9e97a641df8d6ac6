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
        ViscosityEnsembleTransformer ensemble = context.Regression.Trainers.ViscosityEnsemble(RegressionMembers(context), viscosity: 1e-6).Fit(diabetes);

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
        Assert.Empty(options.Search);
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
    [InlineData("regression")]
    [InlineData("binary")]
    [InlineData("multiclass")]
    public void SavedEnsemblePredictsTheSameWithTheSameSchema(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ViscosityEnsembleTransformer> estimator) = task switch
        {
            "regression" => (MLNetData.Diabetes(context), context.Regression.Trainers.ViscosityEnsemble(RegressionMembers(context), viscosity: 0.05)),
            "binary" => (MLNetData.BreastCancer(context), context.BinaryClassification.Trainers.ViscosityEnsemble(
                [context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20), context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression())], viscosity: 0.05)),
            _ => (MLNetData.Iris(context), context.MulticlassClassification.Trainers.ViscosityEnsemble(
                [context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 20), context.Transforms.NormalizeMinMax("Features").Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy())], viscosity: 0.2)),
        };
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

        IDataView before = ensemble.Transform(data);
        IDataView after = loaded.Transform(data);
        Assert.Equal(Visible(before.Schema), Visible(after.Schema));
        if (task == "multiclass")
        {
            Close(before.GetColumn<float[]>("Score"), after.GetColumn<float[]>("Score"));
            Assert.Equal(before.GetColumn<uint>("PredictedLabel"), after.GetColumn<uint>("PredictedLabel"));
        }
        else
        {
            Close(before.GetColumn<float>("Score").Select(value => new[] { value }), after.GetColumn<float>("Score").Select(value => new[] { value }));
        }

        if (task == "binary")
        {
            Close(before.GetColumn<float>("Probability").Select(value => new[] { value }), after.GetColumn<float>("Probability").Select(value => new[] { value }));
            Assert.Equal(before.GetColumn<bool>("PredictedLabel"), after.GetColumn<bool>("PredictedLabel"));
        }

        // The input columns come out as they went in, though a member normalised Features on its way.
        Assert.Equal(data.GetColumn<float[]>("Features").SelectMany(row => row), after.GetColumn<float[]>("Features").SelectMany(row => row));
    }

    private static IEstimator<ITransformer>[] RegressionMembers(MLContext context) =>
    [
        context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 30),
        context.Transforms.NormalizeMeanVariance("Features").Append(context.Regression.Trainers.Sdca()),
        context.Regression.Trainers.HopfCole(numberOfSupportPoints: 2, viscosity: 2, maximumEpochs: 10),
    ];

    private static void Close(IEnumerable<float[]> expected, IEnumerable<float[]> actual)
    {
        float[][] left = expected.ToArray();
        float[][] right = actual.ToArray();
        for (int row = 0; row < left.Length; row++)
        {
            for (int k = 0; k < left[row].Length; k++)
            {
                Assert.True(Math.Abs(left[row][k] - right[row][k]) <= 1e-5 * Math.Max(1, Math.Abs(left[row][k])), $"row {row}, slot {k}: {left[row][k]} vs {right[row][k]}");
            }
        }
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();
}
