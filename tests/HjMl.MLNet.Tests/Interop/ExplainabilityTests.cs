using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace HjMl.MLNet.Tests.Interop;

public class ExplainabilityTests
{
    [Fact]
    public void CalculateFeatureContributionKeepsTheExactContributionsOrMLNetsSelectionOfThem()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(data);
        IDataView scored = model.Transform(data);
        float[][] exact = context.Transforms.GibbsAttribution(model).Fit(scored).Transform(scored).GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();

        float[][] all = Contributions(context.Transforms.CalculateFeatureContribution(model, 30, 30, normalize: false), scored);
        float[][] defaults = Contributions(context.Transforms.CalculateFeatureContribution(model), scored);

        Assert.Equal(exact, all);
        for (int row = 0; row < exact.Length; row++)
        {
            // ML.NET's defaults: the 10 largest positive and 10 most negative, divided by the largest magnitude kept.
            float[] positive = exact[row].Where(value => value > 0).OrderDescending().Take(10).ToArray();
            float[] negative = exact[row].Where(value => value < 0).Order().Take(10).ToArray();
            float largest = positive.Concat(negative).Max(Math.Abs);
            float[] expected = exact[row].Select(value => positive.Contains(value) || negative.Contains(value) ? value * (1 / largest) : 0).ToArray();
            Assert.Equal(expected, defaults[row]);
        }
    }

    [Fact]
    public void SelectionAndScalingAreMLNetsOwnOnALinearModelsContributions()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        BinaryPredictionTransformer<LinearBinaryModelParameters> linear = context.BinaryClassification.Trainers.SdcaNonCalibrated(maximumNumberOfIterations: 5).Fit(data);
        float[] weights = [.. linear.Model.Weights];
        float[][] features = data.GetColumn<float[]>("Features").ToArray();

        foreach ((int top, int bottom, bool normalize) in new[] { (10, 10, true), (3, 0, false), (0, 4, true), (30, 30, false) })
        {
            IDataView scored = linear.Transform(data);
            float[][] mlnet = context.Transforms.CalculateFeatureContribution(linear, top, bottom, normalize).Fit(scored).Transform(scored)
                .GetColumn<float[]>("FeatureContributions").ToArray();
            var order = new int[weights.Length];
            var ours = new float[weights.Length];
            for (int row = 0; row < features.Length; row++)
            {
                float[] raw = features[row].Select((value, k) => weights[k] * value).ToArray();
                HopfColeFeatureContributionTransformer.Sparsify(raw, order, top, bottom, normalize, ours);
                Assert.Equal(mlnet[row], ours);
            }
        }
    }

    [Theory]
    [InlineData("regression", 10, 10, true)]
    [InlineData("multiclass", 1, 1, false)]
    public void SavedFeatureContributionsMatchTheLiveOnes(string task, int top, int bottom, bool normalize)
    {
        var context = new MLContext(seed: 1);
        IDataView data = task == "regression" ? MLNetData.Diabetes(context) : MLNetData.Iris(context);
        HopfColePredictionTransformer model = task == "regression"
            ? context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(data)
            : context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20).Fit(data);
        var chain = new TransformerChain<ITransformer>(model, context.Transforms.CalculateFeatureContribution(model, top, bottom, normalize).Fit(model.Transform(data)));

        string path = Path.Combine(Path.GetTempPath(), $"hjml-contributions-{Guid.NewGuid():N}.zip");
        ITransformer loaded;
        try
        {
            context.Model.Save(chain, data.Schema, path);
            loaded = new MLContext().Model.Load(path, out _);
        }
        finally
        {
            File.Delete(path);
        }

        float[][] live = chain.Transform(data).GetColumn<float[]>("FeatureContributions").ToArray();
        float[][] saved = loaded.Transform(data).GetColumn<float[]>("FeatureContributions").ToArray();
        for (int row = 0; row < live.Length; row++)
        {
            double scale = Math.Max(1, live[row].Max(Math.Abs));
            Assert.Equal(live[row].Select(value => value != 0), saved[row].Select(value => value != 0));
            Assert.All(live[row].Zip(saved[row]), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 1e-5 * scale, $"row {row}: {pair.First} vs {pair.Second}"));
        }
    }

    [Fact]
    public void HopfColePermutationFeatureImportanceDoesTheJobMLNetsNonGenericOverloadCannot()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        var pipeline = context.Transforms.NormalizeMinMax("Features")
            .Append(context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20))
            .Append(context.Transforms.GibbsAttribution());
        var model = pipeline.Fit(iris);
        IDataView transformed = model.Transform(iris);

        var refused = Assert.ThrowsAny<ArgumentException>(() => context.MulticlassClassification.PermutationFeatureImportance(model, transformed, permutationCount: 2));
        var importance = context.MulticlassClassification.HopfColePermutationFeatureImportance(model, transformed, permutationCount: 2);

        Assert.Contains("compatible predictor", refused.Message);
        Assert.Equal(MLNetData.Header("iris.csv")[..^1].Order(), importance.Keys.Order());

        // The petal measurements separate the species; permuting them must cost accuracy, more than the sepal ones.
        double Cost(int column) => -importance[MLNetData.Header("iris.csv")[column]].MicroAccuracy.Mean;
        Assert.True(Math.Max(Cost(2), Cost(3)) > 0.05, $"petal costs {Cost(2)}, {Cost(3)}");
        Assert.True(Math.Max(Cost(2), Cost(3)) > Math.Max(Cost(0), Cost(1)));
    }

    [Fact]
    public void HopfColePermutationFeatureImportanceRanksEveryFeatureForRegressionAndBinaryAndNamesAMissingModel()
    {
        var context = new MLContext(seed: 1);
        IDataView diabetes = MLNetData.Diabetes(context);
        IDataView cancer = MLNetData.BreastCancer(context);
        ITransformer regression = context.Regression.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(diabetes);
        ITransformer binary = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(cancer);

        var regressionImportance = context.Regression.HopfColePermutationFeatureImportance(regression, diabetes);
        var binaryImportance = context.BinaryClassification.HopfColePermutationFeatureImportance(binary, cancer);
        var missing = Assert.Throws<ArgumentException>(() => context.Regression.HopfColePermutationFeatureImportance(context.Transforms.NormalizeMinMax("Features").Fit(diabetes), diabetes));

        Assert.Equal(MLNetData.Header("diabetes.csv")[..^1].Order(), regressionImportance.Keys.Order());
        Assert.Equal(MLNetData.Header("breast_cancer.csv")[..^1].Order(), binaryImportance.Keys.Order());
        Assert.Contains(regressionImportance.Values, metric => metric.RSquared.Mean < 0);
        Assert.Contains("no HopfCole prediction transformer", missing.Message);
    }

    private static float[][] Contributions(HopfColeFeatureContributionEstimator estimator, IDataView scored)
        => estimator.Fit(scored).Transform(scored).GetColumn<float[]>("FeatureContributions").ToArray();
}
