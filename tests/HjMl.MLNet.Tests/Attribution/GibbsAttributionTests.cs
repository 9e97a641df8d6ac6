using HjMl.Attribution;
using HjMl.Layers;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Attribution;

public class GibbsAttributionTests
{
    [Fact]
    public void FeatureContributionsWithBiasAndEntropyTermsSumToTheMargin()
    {
        (IDataView data, HopfColePredictionTransformer model) = Binary();
        IDataView explained = new MLContext().Transforms.GibbsAttribution(model).Fit(data).Transform(model.Transform(data));

        float[][] contributions = explained.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        float[] margins = explained.GetColumn<float>("Score").ToArray();
        float[][] rows = data.GetColumn<float[]>("Features").ToArray();
        LseLayer<double> layer = model.Model.Model.Layer;
        for (int row = 0; row < rows.Length; row += 11)
        {
            double[] z = Standardised(model.Model.Model, rows[row]);
            LseDecomposition<double> positive = layer.Decompose(z, 0, new double[z.Length]);
            LseDecomposition<double> negative = layer.Decompose(z, 1, new double[z.Length]);
            double sum = contributions[row].Sum(value => (double)value) + positive.BiasTerm - negative.BiasTerm + positive.EntropyTerm - negative.EntropyTerm;
            Assert.True(Math.Abs(sum - margins[row]) <= 1e-4 * Math.Max(1, Math.Abs(margins[row])), $"row {row}: {sum} vs margin {margins[row]}");
        }
    }

    [Fact]
    public void TopSupportWeightsAreTheLargestGibbsWeightsOfThePredictedClassesHead()
    {
        (IDataView data, HopfColePredictionTransformer model) = Binary();
        IDataView explained = new MLContext().Transforms.GibbsAttribution(model, topSupportPoints: 3).Fit(data).Transform(model.Transform(data));

        float[][] top = explained.GetColumn<float[]>(GibbsAttributionTransformer.TopSupportWeightsColumnName).ToArray();
        float[] entropy = explained.GetColumn<float>(GibbsAttributionTransformer.AttributionEntropyColumnName).ToArray();
        bool[] predicted = explained.GetColumn<bool>("PredictedLabel").ToArray();
        float[][] rows = data.GetColumn<float[]>("Features").ToArray();
        LseLayer<double> layer = model.Model.Model.Layer;
        for (int row = 0; row < rows.Length; row += 13)
        {
            double[] z = Standardised(model.Model.Model, rows[row]);
            int head = predicted[row] ? 0 : 1;
            var pi = new double[layer.NumberOfPieces];
            layer.GibbsWeights(z, head, pi);
            double[] expected = pi.OrderDescending().Take(3).ToArray();
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(expected[i], top[row][i], 1e-6);
            }

            Assert.Equal(layer.Entropy(z, head), entropy[row], 1e-5);
        }
    }

    [Fact]
    public void TopSupportRowsAreTrainingRowsOfThePredictedClass()
    {
        (IDataView data, HopfColePredictionTransformer model) = Binary();
        IDataView explained = new MLContext().Transforms.GibbsAttribution(model, topSupportPoints: 1).Fit(data).Transform(model.Transform(data));

        bool[] labels = data.GetColumn<bool>("Label").ToArray();
        long[][] rows = explained.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).ToArray();
        bool[] predicted = explained.GetColumn<bool>("PredictedLabel").ToArray();

        // Support points start on rows of their own class and keep that provenance through training.
        for (int row = 0; row < rows.Length; row++)
        {
            Assert.InRange(rows[row][0], 0, labels.Length - 1);
            Assert.Equal(predicted[row], labels[rows[row][0]]);
        }
    }

    [Fact]
    public void FeatureContributionsKeepTheFeaturesSlotNames()
    {
        (IDataView data, HopfColePredictionTransformer model) = Binary();
        DataViewSchema schema = new MLContext().Transforms.GibbsAttribution(model).Fit(data).GetOutputSchema(data.Schema);

        VBuffer<ReadOnlyMemory<char>> names = default;
        schema[GibbsAttributionTransformer.FeatureContributionsColumnName].GetSlotNames(ref names);

        Assert.Equal(MLNetData.Header("breast_cancer.csv")[..^1], names.DenseValues().Select(name => name.ToString()));
    }

    [Fact]
    public void NoStepShorterThanTheCertifiedRadiusChangesThePrediction()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        HopfColePredictionTransformer model = context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, viscosity: 1.0, maximumEpochs: 30).Fit(iris);
        IDataView explained = context.Transforms.GibbsAttribution(model).Fit(iris).Transform(model.Transform(iris));
        float[] radii = explained.GetColumn<float>(GibbsAttributionTransformer.CertifiedRadiusColumnName).ToArray();
        float[][] rows = iris.GetColumn<float[]>("Features").ToArray();
        HopfColeModel hopfCole = model.Model.Model;
        var random = new Random(3);

        Assert.Contains(radii, radius => radius > 0);
        for (int row = 0; row < rows.Length; row++)
        {
            double[] x = rows[row].Select(value => (double)value).ToArray();
            int predicted = hopfCole.Predict(x).ClassIndex;
            for (int trial = 0; trial < 20; trial++)
            {
                // A random direction in standardised units, of length 0.999 r, mapped back to raw features.
                double[] direction = x.Select(_ => random.NextDouble() - 0.5).ToArray();
                double norm = Math.Sqrt(direction.Sum(value => value * value));
                double[] moved = x.Select((value, k) => value + (0.999 * radii[row] * direction[k] / norm * hopfCole.Scaling.Scales[k])).ToArray();
                Assert.Equal(predicted, hopfCole.Predict(moved).ClassIndex);
            }
        }
    }

    [Fact]
    public void ARowFarFromEveryTrainingRowIsOutOfSupport()
    {
        (IDataView data, HopfColePredictionTransformer model) = Binary();
        var context = new MLContext();
        GibbsAttributionTransformer attribution = context.Transforms.GibbsAttribution(model).Fit(data);
        float[] first = data.GetColumn<float[]>("Features").First();
        float[] far = first.Select((value, k) => value + (float)(50 * model.Model.Model.Scaling.Scales[k])).ToArray();
        var engine = context.Model.CreatePredictionEngine<FeatureRow, SupportPrediction>(attribution, inputSchemaDefinition: FeatureRow.Definition(first.Length));

        SupportPrediction away = engine.Predict(new FeatureRow { Features = far });
        float[] training = attribution.Transform(data).GetColumn<float>(GibbsAttributionTransformer.OutOfSupportScoreColumnName).ToArray();

        Assert.True(away.OutOfSupport, $"a row 50 standard deviations away scored {away.OutOfSupportScore}");
        Assert.True(away.OutOfSupportScore > 5 * training.Max(), $"{away.OutOfSupportScore} against at most {training.Max()} on the training rows");
    }

    [Fact]
    public void TopSupportPointsBeyondTheWidthIsRejected()
    {
        (_, HopfColePredictionTransformer model) = Binary();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Transforms.GibbsAttribution(model, topSupportPoints: 99));

        Assert.Contains("topSupportPoints", error.Message);
    }

    [Fact]
    public void ModelWithAFlowGivesInputFeatureContributionsThatWithTheBaselineSumToTheMargin()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer model = context.BinaryClassification.Trainers.HopfCole(
            new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 5, Depth = 2, FlowSupportPoints = 4 }).Fit(data);
        GibbsAttributionTransformer attribution = context.Transforms.GibbsAttribution(model).Fit(data);
        IDataView explained = attribution.Transform(model.Transform(data));

        float[][] contributions = explained.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        float[] margins = explained.GetColumn<float>("Score").ToArray();
        float[][] rows = data.GetColumn<float[]>("Features").ToArray();
        HopfColeModel hopfCole = model.Model.Model;
        var explainer = new ModelExplainer(hopfCole);
        var explanation = new Explanation(hopfCole, top: 1);
        Assert.Equal(rows[0].Length, contributions[0].Length);
        for (int row = 0; row < rows.Length; row += 11)
        {
            explainer.Explain(rows[row].Select(value => (double)value).ToArray(), explanation);
            InputDecomposition parts = explanation.InputMargin!;
            double sum = contributions[row].Sum(value => (double)value) + parts.Baseline + parts.Remainder;
            Assert.True(Math.Abs(sum - margins[row]) <= 1e-4 * Math.Max(1, Math.Abs(margins[row])), $"row {row}: {sum} vs margin {margins[row]}");
            for (int k = 0; k < rows[row].Length; k++)
            {
                Assert.Equal((float)parts.FeatureContributions[k], contributions[row][k]);
            }
        }
    }

    internal static (IDataView Data, HopfColePredictionTransformer Model) Binary()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        return (data, context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(data));
    }

    private static double[] Standardised(HopfColeModel model, float[] features)
    {
        var z = new double[features.Length];
        model.Scaling.Apply(features.Select(value => (double)value).ToArray(), z);
        return z;
    }

    public sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];

        public static SchemaDefinition Definition(int size)
        {
            SchemaDefinition definition = SchemaDefinition.Create(typeof(FeatureRow));
            definition[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
            return definition;
        }
    }

    public sealed class SupportPrediction
    {
        public float OutOfSupportScore { get; set; }

        public bool OutOfSupport { get; set; }
    }
}
