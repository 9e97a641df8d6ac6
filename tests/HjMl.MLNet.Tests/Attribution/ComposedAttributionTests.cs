using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Attribution;

public class ComposedAttributionTests
{
    public static TheoryData<string> Tasks => ["regression", "binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Tasks))]
    public void ExplainedScoreIsTheSumOfFeatureContributionsAndScoreTermsOnEveryRowInProcessAndAfterLoading(string task)
    {
        (MLContext context, IDataView data, IEstimator<ITransformer> trainer) = Task(task);
        var model = trainer.Append(context.Transforms.GibbsAttribution()).Fit(data);
        string path = Path.Combine(Path.GetTempPath(), $"hjml-closure-{Guid.NewGuid():N}.zip");
        ITransformer loaded;
        try
        {
            context.Model.Save(model, data.Schema, path);
            loaded = new MLContext().Model.Load(path, out _);
        }
        finally
        {
            File.Delete(path);
        }

        IDataView live = model.Transform(data);
        AssertClosure(live, task);
        AssertClosure(loaded.Transform(data), task);

        // Multiclass explains the predicted class's head f_p (Score holds softmax(f)): the engine's raw head score.
        if (task == "multiclass")
        {
            HopfColeModel hopfCole = model.OfType<HopfColePredictionTransformer>().Single().Model.Model;
            float[] explained = live.GetColumn<float>(GibbsAttributionTransformer.ExplainedScoreColumnName).ToArray();
            float[][] rows = data.GetColumn<float[]>("Features").ToArray();
            var heads = new double[hopfCole.OutputLength];
            for (int row = 0; row < rows.Length; row++)
            {
                hopfCole.Score(rows[row].Select(value => (double)value).ToArray(), heads);
                Assert.Equal((float)heads.Max(), explained[row]);
            }
        }
    }

    [Fact]
    public void ModelWithAFlowClosesTheSumWithTheValueAtTheTrainingMeansAndTheQuadratureRemainder()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var options = new HjMl.MLNet.Trainers.HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 5, Depth = 2, FlowSupportPoints = 4 };

        IDataView explained = context.BinaryClassification.Trainers.HopfCole(options).Append(context.Transforms.GibbsAttribution()).Fit(data).Transform(data);

        AssertClosure(explained, "binary");
        float[][] terms = explained.GetColumn<float[]>(GibbsAttributionTransformer.ScoreTermsColumnName).ToArray();
        Assert.All(terms, row => Assert.Equal(0f, row[1] + row[2]));
        Assert.Contains(terms, row => row[0] != 0);
    }

    [Fact]
    public void AttributionFollowingTheTrainerInOneChainExplainsTheModelThatChainTrained()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var pipeline = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3));

        TransformerChain<GibbsAttributionTransformer> fitted = pipeline.Fit(data);
        HopfColePredictionTransformer trained = fitted.OfType<HopfColePredictionTransformer>().Single();
        IDataView scored = trained.Transform(data);
        IDataView chained = fitted.Transform(data);
        IDataView given = context.Transforms.GibbsAttribution(trained, topSupportPoints: 3).Fit(scored).Transform(scored);

        Assert.Same(trained.Model, fitted.LastTransformer.Model);
        Assert.Equal(given.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName), chained.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName));
        Assert.Equal(given.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName), chained.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName));

        // The chain's shape, known before Fit, is what it produces.
        SchemaShape shape = pipeline.GetOutputSchema(SchemaShapeOf(data));
        Assert.Equal(
            chained.Schema.Where(column => !column.IsHidden).Select(column => Describe(column.Name, column.Type)).Order(),
            shape.Select(column => $"{column.Name}: {column.Kind} of {column.ItemType}").Order());
    }

    [Fact]
    public void CrossValidateTrainsAndExplainsEveryFoldWithItsOwnModel()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var pipeline = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)
            .Append(context.Transforms.GibbsAttribution());

        var folds = context.BinaryClassification.CrossValidate(data, pipeline, numberOfFolds: 3, seed: 1);

        var models = new List<HopfColeModelParameters>();
        foreach (var fold in folds)
        {
            var chain = (IEnumerable<ITransformer>)fold.Model;
            HopfColeModelParameters trained = chain.OfType<HopfColePredictionTransformer>().Single().Model;
            Assert.Same(trained, chain.OfType<GibbsAttributionTransformer>().Single().Model);
            Assert.True(fold.Metrics.Accuracy > 0.9, $"fold {fold.Fold}: accuracy {fold.Metrics.Accuracy}");
            AssertClosure(fold.ScoredHoldOutSet, "binary");
            models.Add(trained);
        }

        Assert.Equal(3, models.Distinct().Count());
    }

    [Fact]
    public void AttributionWithNoHopfColeTrainerBeforeItSaysWhereItLookedForTheModel()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);

        var alone = Assert.Throws<ArgumentOutOfRangeException>(() => context.Transforms.GibbsAttribution().Fit(data));
        var shape = Assert.Throws<ArgumentOutOfRangeException>(() => context.Transforms.GibbsAttribution().GetOutputSchema(SchemaShapeOf(data)));
        var afterSdca = Assert.Throws<ArgumentOutOfRangeException>(() => context.BinaryClassification.Trainers.SdcaLogisticRegression()
            .Append(context.Transforms.GibbsAttribution()).Fit(data));

        Assert.Contains("'Score' column", alone.Message);
        Assert.Contains("the input has no such column", shape.Message);
        Assert.True(afterSdca.Message.Contains("not written by a Hopf–Cole trainer", StringComparison.Ordinal), afterSdca.Message);
    }

    [Fact]
    public void TopSupportRowsReportTheIdColumnsValuesOfTheTrainingRowsAlsoInEachCrossValidationFold()
    {
        var context = new MLContext(seed: 1);
        IDataView data = WithIds(context, MLNetData.BreastCancer(context), row => $"patient-{row:D3}".AsMemory());
        var trainer = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20);

        IDataView byId = trainer.Append(context.Transforms.GibbsAttribution(topSupportPoints: 2, idColumnName: "Id")).Fit(data).Transform(data);
        IDataView byPosition = trainer.Append(context.Transforms.GibbsAttribution(topSupportPoints: 2)).Fit(data).Transform(data);

        Assert.Equal(new VectorDataViewType(TextDataViewType.Instance), byId.Schema[GibbsAttributionTransformer.TopSupportRowsColumnName].Type);
        Assert.All(byId.GetColumn<ReadOnlyMemory<char>[]>(GibbsAttributionTransformer.TopSupportRowsColumnName), ids => Assert.Equal(2, ids.Length));
        Assert.Equal(
            byPosition.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).Select(rows => rows.Select(row => $"patient-{row:D3}")),
            byId.GetColumn<ReadOnlyMemory<char>[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).Select(ids => ids.Select(id => id.ToString())));

        // In a fold the trainer reads a subset, so positions are the fold's; ids still name the original rows, and
        // support points start on rows of their own class, so the top one's row has the predicted label.
        bool[] labels = data.GetColumn<bool>("Label").ToArray();
        var folds = context.BinaryClassification.CrossValidate(data, trainer.Append(context.Transforms.GibbsAttribution(topSupportPoints: 1, idColumnName: "Id")), numberOfFolds: 3, seed: 1);
        foreach (var fold in folds)
        {
            ReadOnlyMemory<char>[][] ids = fold.ScoredHoldOutSet.GetColumn<ReadOnlyMemory<char>[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).ToArray();
            bool[] predicted = fold.ScoredHoldOutSet.GetColumn<bool>("PredictedLabel").ToArray();
            for (int row = 0; row < ids.Length; row++)
            {
                Assert.Equal(predicted[row], labels[int.Parse(ids[row][0].Span["patient-".Length..], System.Globalization.CultureInfo.InvariantCulture)]);
            }
        }
    }

    [Fact]
    public void NumericIdsKeepTheirTypeAndAnIdColumnIsReadOnlyFromTheTrainingRows()
    {
        var context = new MLContext(seed: 1);
        IDataView data = WithIds(context, MLNetData.BreastCancer(context), row => 1000.5 + row);
        HopfColePredictionTransformer trained = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(data);
        var options = new GibbsAttributionEstimator.Options { TopSupportPoints = 1, IdColumnName = "Id" };

        IDataView explained = context.Transforms.GibbsAttribution(trained, options).Fit(data).Transform(trained.Transform(data));
        double[][] ids = explained.GetColumn<double[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).ToArray();
        IDataView fewer = context.Data.TakeRows(data, 500);
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => context.Transforms.GibbsAttribution(trained, options).Fit(fewer));

        Assert.All(ids, id => Assert.Contains((int)(id[0] - 1000.5), trained.Model.Model.SupportRows));
        Assert.Contains("got 500 rows, the model was trained on 569", refused.Message);
    }

    /// <summary>
    /// Per row, ExplainedScore = sum(FeatureContributions) + sum(ScoreTerms) within 1e-6 of the terms' magnitude (the
    /// scale of float rounding in the columns), and for regression and binary ExplainedScore is the Score column itself.
    /// </summary>
    internal static void AssertClosure(IDataView explained, string task)
    {
        float[] values = explained.GetColumn<float>(GibbsAttributionTransformer.ExplainedScoreColumnName).ToArray();
        float[][] contributions = explained.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        float[][] terms = explained.GetColumn<float[]>(GibbsAttributionTransformer.ScoreTermsColumnName).ToArray();
        if (task != "multiclass")
        {
            Assert.Equal(explained.GetColumn<float>("Score"), values);
        }

        for (int row = 0; row < values.Length; row++)
        {
            double sum = contributions[row].Sum(value => (double)value) + terms[row].Sum(value => (double)value);
            double magnitude = contributions[row].Sum(value => Math.Abs((double)value)) + terms[row].Sum(value => Math.Abs((double)value));
            Assert.True(Math.Abs(sum - values[row]) <= 1e-6 * magnitude, $"{task}, row {row}: contributions and terms sum to {sum}, the explained score is {values[row]} (terms' magnitude {magnitude})");
        }
    }

    /// <summary><paramref name="data"/> with an Id column after its own, holding <paramref name="id"/>(row).</summary>
    internal static IDataView WithIds<TId>(MLContext context, IDataView data, Func<int, TId> id)
    {
        float[][] features = data.GetColumn<float[]>("Features").ToArray();
        bool[] labels = data.GetColumn<bool>("Label").ToArray();
        SchemaDefinition definition = SchemaDefinition.Create(typeof(IdRow<TId>));
        definition[nameof(IdRow<TId>.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        return context.Data.LoadFromEnumerable(features.Select((row, index) => new IdRow<TId> { Features = row, Label = labels[index], Id = id(index) }), definition);
    }

    private static (MLContext Context, IDataView Data, IEstimator<ITransformer> Trainer) Task(string task)
    {
        var context = new MLContext(seed: 1);
        return task switch
        {
            "regression" => (context, MLNetData.Diabetes(context), context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)),
            "binary" => (context, MLNetData.BreastCancer(context), context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)),
            _ => (context, MLNetData.Iris(context), context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20)),
        };
    }

    // ML.NET keeps SchemaShape.Create(DataViewSchema) internal; tests call it to hand estimators a real input shape.
    private static SchemaShape SchemaShapeOf(IDataView data)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.Invoke(null, [data.Schema])!;

    private static string Describe(string name, DataViewType type)
        => type is VectorDataViewType vector
            ? $"{name}: Vector of {vector.ItemType}"
            : $"{name}: Scalar of {type}";

    public sealed class IdRow<TId>
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public TId? Id { get; set; }
    }
}
