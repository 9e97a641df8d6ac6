using HjMl.MLNet.Featurization;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Featurization;

public class HopfColeFeaturizerTests
{
    [Fact]
    public void GibbsWeightsSumToOneAndNameTheirSupportRows()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        HopfColeFeaturizerTransformer featurizer = context.Transforms.HopfColeFeaturizer("Soft", numberOfSupportPoints: 6).Fit(iris);
        IDataView featurized = featurizer.Transform(iris);

        foreach (float[] weights in featurized.GetColumn<float[]>("Soft"))
        {
            Assert.Equal(6, weights.Length);
            Assert.Equal(1.0, weights.Sum(), 5);
            Assert.All(weights, weight => Assert.InRange(weight, 0f, 1f));
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        featurized.Schema["Soft"].GetSlotNames(ref names);
        Assert.All(names.DenseValues(), name => Assert.Matches(@"^support row \d+$", name.ToString()));
    }

    [Fact]
    public void LogSumExpFeaturesAreLogWeightsTimesViscosityThenTheValue()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        const double viscosity = 0.7;
        IDataView weights = context.Transforms.HopfColeFeaturizer("Weights", numberOfSupportPoints: 5, viscosity: viscosity).Fit(iris).Transform(iris);
        IDataView lse = context.Transforms.HopfColeFeaturizer("Lse", numberOfSupportPoints: 5, viscosity: viscosity, output: HopfColeFeatures.LogSumExp).Fit(iris).Transform(iris);

        foreach ((float[] pi, float[] features) in weights.GetColumn<float[]>("Weights").Zip(lse.GetColumn<float[]>("Lse")))
        {
            Assert.Equal(6, features.Length);
            for (int j = 0; j < 5; j++)
            {
                Assert.InRange(features[j], float.NegativeInfinity, 0f);
                Assert.Equal(pi[j], Math.Exp(features[j] / viscosity), 1e-5);
            }
        }
    }

    [Fact]
    public void MLNetTrainerOnGibbsWeightsClassifiesIris()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        var pipeline = context.Transforms.HopfColeFeaturizer("Soft", numberOfSupportPoints: 12, viscosity: 0.5)
            .Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy(featureColumnName: "Soft"));

        var folds = context.MulticlassClassification.CrossValidate(iris, pipeline, numberOfFolds: 5, seed: 1);

        double accuracy = folds.Average(fold => fold.Metrics.MicroAccuracy);
        Assert.True(accuracy > 0.85, $"micro accuracy on Gibbs weights = {accuracy}");
    }

    [Theory]
    [InlineData(HopfColeFeatures.GibbsWeights)]
    [InlineData(HopfColeFeatures.LogSumExp)]
    public void SavedFeaturizerWritesTheSameFeatures(HopfColeFeatures output)
    {
        var context = new MLContext(seed: 1);
        IDataView diabetes = MLNetData.Diabetes(context);
        ITransformer featurizer = context.Transforms.HopfColeFeaturizer("Soft", numberOfSupportPoints: 8, viscosity: 2.0, output: output).Fit(diabetes);
        string path = Path.Combine(Path.GetTempPath(), $"hjml-featurizer-{Guid.NewGuid():N}.zip");
        ITransformer loaded;
        try
        {
            context.Model.Save(featurizer, diabetes.Schema, path);
            loaded = new MLContext().Model.Load(path, out _);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(featurizer.GetOutputSchema(diabetes.Schema)["Soft"].Type, loaded.GetOutputSchema(diabetes.Schema)["Soft"].Type);
        float[][] before = featurizer.Transform(diabetes).GetColumn<float[]>("Soft").ToArray();
        float[][] after = loaded.Transform(diabetes).GetColumn<float[]>("Soft").ToArray();
        for (int row = 0; row < before.Length; row++)
        {
            for (int j = 0; j < before[row].Length; j++)
            {
                Assert.True(Math.Abs(before[row][j] - after[row][j]) <= 1e-5 * Math.Max(1, Math.Abs(before[row][j])), $"row {row}, slot {j}: {before[row][j]} vs {after[row][j]}");
            }
        }
    }
}
