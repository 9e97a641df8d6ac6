using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Persistence;

/// <summary>
/// A model trained through the catalog with FeatureEmbedding = Periodic survives ML.NET's Save and Load: the plain load
/// runs HjMl's exported graph in OnnxTransformer and scores every row as the live transformer does, within the 1e-5
/// relative to max(1, |value|) the other saved flows meet; LoadWithHopfCole gives back the same doubles.
/// </summary>
public class EmbeddedFlowSaveAndLoadTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("binary", 0)]
    [InlineData("binary", 2)]
    [InlineData("regression", 1)]
    public void EmbeddedModelSavedAndLoadedScoresAsTheLiveOne(string task, int depth)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task, depth);
        ITransformer model = pipeline.Fit(data);
        HopfColePredictionTransformer trained = Stages(model).OfType<HopfColePredictionTransformer>().Single();
        Assert.Equal(depth, trained.Model.Model.Depth);
        Assert.NotNull(trained.Model.Model.Flow!.Shape.Embedding);

        ITransformer loaded = SaveAndLoad(context, model, data.Schema, (load, path) => load.Model.Load(path, out _));
        Assert.Contains(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        float[] scores = Column(model, data, "Score");
        AssertClose(scores, Column(loaded, data, "Score"), "Score");
        if (task == "binary")
        {
            AssertClose(Column(model, data, "Probability"), Column(loaded, data, "Probability"), "Probability");
            bool[] before = [.. model.Transform(data).GetColumn<bool>("PredictedLabel")];
            bool[] after = [.. loaded.Transform(data).GetColumn<bool>("PredictedLabel")];
            int[] different = [.. Enumerable.Range(0, before.Length).Where(row => before[row] != after[row] && Math.Abs(scores[row]) > Tolerance)];
            Assert.True(different.Length == 0, $"{different.Length} predicted labels differ away from the decision boundary, first row {different.FirstOrDefault()}.");
        }

        ITransformer rebound = SaveAndLoad(context, model, data.Schema, (load, path) => load.Model.LoadWithHopfCole(path, out _));
        Assert.Equal(scores, Column(rebound, data, "Score"));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void SavedEmbeddedModelRefusesANonFiniteEmbeddedFeature(float value)
    {
        // The saved graph's guard refuses a row whose head scores are not finite; the embedding must not turn a NaN
        // feature into finite sines (or Relu into 0).
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, "binary", 0);
        ITransformer model = pipeline.Fit(data);
        HopfColePredictionTransformer trained = Stages(model).OfType<HopfColePredictionTransformer>().Single();
        int feature = trained.Model.Model.Flow!.Shape.Embedding!.Features[0];
        ITransformer loaded = SaveAndLoad(context, model, data.Schema, (load, path) => load.Model.Load(path, out _));
        float[][] rows = [.. data.GetColumn<float[]>("Features").Take(20)];
        rows[7][feature] = value;
        IDataView batch = SaveAndLoadTests.Rows(context, rows, rows[0].Length);

        Exception refused = Assert.ThrowsAny<Exception>(() => loaded.Transform(batch).GetColumn<float>("Probability").ToArray());

        Assert.Contains("NaN or infinite", SaveAndLoadTests.Messages(refused));
    }

    [Fact]
    public void FeaturizerStaysASingleLayerWhereTheTrainersEmbedAndSavesAndLoads()
    {
        // Diabetes repeated 25 times: 11050 rows of 9 numeric features, more than the default embedding's 9648 parameters,
        // so a trainer with default options embeds; the featuriser's Gibbs weights are over input-space support points, and
        // its layer must read the features themselves (its construction has no validation split, so Automatic does not
        // embed; with an embedding every row threw, the layer expecting the embedding's width).
        var context = new MLContext(seed: 1);
        IDataView diabetes = MLNetData.Diabetes(context);
        float[][] features = [.. diabetes.GetColumn<float[]>("Features")];
        float[] labels = [.. diabetes.GetColumn<float>("Label")];
        LabelledRow[] rows = [.. Enumerable.Range(0, 25 * features.Length).Select(i => new LabelledRow { Features = features[i % features.Length], Label = labels[i % features.Length] })];
        var definition = SchemaDefinition.Create(typeof(LabelledRow));
        definition[nameof(LabelledRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        IDataView data = context.Data.LoadFromEnumerable(rows, definition);
        ITransformer trainer = context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { MaximumEpochs = 1 }).Fit(data);
        Assert.NotNull(Stages(trainer).OfType<HopfColePredictionTransformer>().Single().Model.Model.Flow?.Shape.Embedding);

        ITransformer featurizer = context.Transforms.HopfColeFeaturizer("Soft", "Features", numberOfSupportPoints: 8).Fit(data);
        ITransformer loaded = SaveAndLoad(context, featurizer, data.Schema, (load, path) => load.Model.Load(path, out _));

        float[] before = [.. featurizer.Transform(data).GetColumn<float[]>("Soft").SelectMany(row => row)];
        float[] after = [.. loaded.Transform(data).GetColumn<float[]>("Soft").SelectMany(row => row)];
        Assert.Equal(rows.Length * 8, before.Length);
        AssertClose(before, after, "Soft");
    }

    private static (IDataView Data, IEstimator<ITransformer> Pipeline) Pipeline(MLContext context, string task, int depth) => task switch
    {
        "binary" => (MLNetData.BreastCancer(context), context.Transforms.NormalizeMeanVariance("Features").Append(context.BinaryClassification.Trainers.HopfCole(
            new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 10, Depth = depth, FlowSupportPoints = 8, FeatureEmbedding = FeatureEmbedding.Periodic, EmbeddingFrequencies = 8, EmbeddingWidth = 8 }))),
        _ => (MLNetData.Diabetes(context), context.Transforms.NormalizeMinMax("Features").Append(context.Regression.Trainers.HopfCole(
            new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 10, Depth = depth, FlowSupportPoints = 8, FeatureEmbedding = FeatureEmbedding.Periodic, EmbeddingFrequencies = 8, EmbeddingWidth = 8 }))),
    };

    private static ITransformer SaveAndLoad(MLContext context, ITransformer model, DataViewSchema schema, Func<MLContext, string, ITransformer> load)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hjml-embedded-{Guid.NewGuid():N}.zip");
        try
        {
            context.Model.Save(model, schema, path);
            return load(new MLContext(seed: 2), path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static IEnumerable<ITransformer> Stages(ITransformer transformer)
        => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Stages) : [transformer];

    private static float[] Column(ITransformer model, IDataView data, string name) => [.. model.Transform(data).GetColumn<float>(name)];

    private static void AssertClose(float[] expected, float[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int row = 0; row < expected.Length; row++)
        {
            worst = Math.Max(worst, Math.Abs(expected[row] - actual[row]) / Math.Max(1, Math.Abs(expected[row])));
        }

        Assert.True(worst <= Tolerance, $"{name}: largest difference {worst:E2} relative to max(1, |value|) over {expected.Length} rows");
    }

    public sealed class LabelledRow
    {
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }
}
