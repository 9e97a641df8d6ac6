using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Persistence;

public class SaveAndLoadTests
{
    public static TheoryData<string> Tasks => ["regression", "binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SavedPipelinePredictsTheSameWithinOneInAHundredThousand(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task);
        ITransformer model = pipeline.Fit(data);

        ITransformer loaded = SaveAndLoad(context, model, data.Schema);

        IDataView before = model.Transform(data);
        IDataView after = loaded.Transform(data);
        foreach (string column in PredictionColumns(task))
        {
            AssertSameColumn(before, after, column);
        }
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SavedPipelineHasTheSameOutputSchema(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task);
        ITransformer model = pipeline.Fit(data);

        ITransformer loaded = SaveAndLoad(context, model, data.Schema);

        DataViewSchema before = model.GetOutputSchema(data.Schema);
        DataViewSchema after = loaded.GetOutputSchema(data.Schema);
        Assert.Equal(Visible(before), Visible(after));
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SavedPipelineHoldsOnlyMLNetTransformers(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task);

        ITransformer loaded = SaveAndLoad(context, pipeline.Fit(data), data.Schema);

        // Loading needs no HjMl type: every transformer comes from an ML.NET assembly (OnnxTransformer among them).
        var types = Flatten(loaded).Select(transformer => transformer.GetType()).ToArray();
        Assert.All(types, type => Assert.StartsWith("Microsoft.ML", type.Assembly.GetName().Name));
        Assert.Contains(types, type => type.Name == "OnnxTransformer");
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SavedPipelineWithAFlowOfDepthTwoPredictsTheSameWithinOneInAHundredThousand(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = DeepPipeline(context, task);
        ITransformer model = pipeline.Fit(data);
        HopfColePredictionTransformer trained = Flatten(model).OfType<HopfColePredictionTransformer>().Single();
        Assert.Equal(2, trained.Model.Model.Depth);

        ITransformer loaded = SaveAndLoad(context, model, data.Schema);

        IDataView before = model.Transform(data);
        IDataView after = loaded.Transform(data);
        foreach (string column in PredictionColumns(task))
        {
            AssertSameColumn(before, after, column);
        }

        Assert.Equal(Visible(model.GetOutputSchema(data.Schema)), Visible(loaded.GetOutputSchema(data.Schema)));
    }

    [Fact]
    public void SavedPredictionEngineScoresLikeTheLiveOne()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, "multiclass");
        ITransformer model = pipeline.Fit(data);
        ITransformer loaded = SaveAndLoad(context, model, data.Schema);
        var live = context.Model.CreatePredictionEngine<IrisRow, IrisPrediction>(model);
        var saved = context.Model.CreatePredictionEngine<IrisRow, IrisPrediction>(loaded);

        foreach (float[] features in data.GetColumn<float[]>("Features").Take(40))
        {
            IrisPrediction expected = live.Predict(new IrisRow { Features = features });
            IrisPrediction actual = saved.Predict(new IrisRow { Features = features });
            Assert.Equal(expected.PredictedLabel, actual.PredictedLabel);
            for (int k = 0; k < 3; k++)
            {
                Assert.True(Math.Abs(expected.Score[k] - actual.Score[k]) <= 1e-5f * Math.Max(1, Math.Abs(expected.Score[k])), $"class {k}: {expected.Score[k]} vs {actual.Score[k]}");
            }
        }
    }

    [Fact]
    public void SavedMulticlassModelKeepsTextKeyValues()
    {
        var context = new MLContext(seed: 1);
        IDataView numbers = MLNetData.Load(context, "iris.csv", DataKind.Single);
        var names = new[] { new KeyValuePair<float, string>(0, "setosa"), new KeyValuePair<float, string>(1, "versicolor"), new KeyValuePair<float, string>(2, "virginica") };
        var pipeline = context.Transforms.Conversion.MapValue("Species", names, "Label")
            .Append(context.Transforms.Conversion.MapValueToKey("Label", "Species"))
            .Append(context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 20))
            .Append(context.Transforms.Conversion.MapKeyToValue("PredictedSpecies", "PredictedLabel"));
        ITransformer model = pipeline.Fit(numbers);

        ITransformer loaded = SaveAndLoad(context, model, numbers.Schema);

        string[] before = model.Transform(numbers).GetColumn<string>("PredictedSpecies").ToArray();
        string[] after = loaded.Transform(numbers).GetColumn<string>("PredictedSpecies").ToArray();
        Assert.Equal(before, after);
        Assert.Equal(["setosa", "versicolor", "virginica"], before.Distinct().Order());
    }

    [Theory]
    [InlineData("regression", 2)]
    [InlineData("binary", 3)]
    [InlineData("multiclass", 6)]
    public void SavedTrainerIsOneOnnxTransformerAndTheFewestMLNetStagesThatGiveItsColumns(string task, int stages)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task);

        ITransformer loaded = SaveAndLoad(context, pipeline.Fit(data), data.Schema);

        // The trainer's stand-in is the one chain of the loaded pipeline that holds an OnnxTransformer.
        ITransformer[] trainer = Assert.Single(Chains(loaded), chain => chain.Any(stage => stage.GetType().Name == "OnnxTransformer")).ToArray();
        Assert.Equal(stages, trainer.Length);
        Assert.Single(trainer, stage => stage.GetType().Name == "OnnxTransformer");
    }

    [Fact]
    public void SavedMulticlassScoreKeepsTheLabelsSlotNames()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, "multiclass");
        ITransformer model = pipeline.Fit(data);

        ITransformer loaded = SaveAndLoad(context, model, data.Schema);

        string[] live = SlotNames(model.GetOutputSchema(data.Schema)["Score"]);
        Assert.Equal(3, live.Length);
        Assert.Equal(live, SlotNames(loaded.GetOutputSchema(data.Schema)["Score"]));
    }

    [Theory]
    [InlineData("regression", float.NaN)]
    [InlineData("binary", float.PositiveInfinity)]
    [InlineData("multiclass", float.NegativeInfinity)]
    [InlineData("binary", float.NaN)]
    public void SavedModelRefusesANonFiniteFeatureAsTheLiveModelDoes(string task, float value)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, task);
        ITransformer model = pipeline.Fit(data);
        ITransformer loaded = SaveAndLoad(context, model, data.Schema);
        float[] row = data.GetColumn<float[]>("Features").First();
        row[1] = value;

        Exception live = Assert.ThrowsAny<Exception>(() => Score(context, model, row));
        Exception saved = Assert.ThrowsAny<Exception>(() => Score(context, loaded, row));

        Assert.Contains("must be finite", Messages(live));
        Assert.Contains("NaN or infinite", Messages(saved));
    }

    [Fact]
    public void SavedModelRefusesANonFiniteFeatureInABatchToo()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = Pipeline(context, "binary");
        ITransformer loaded = SaveAndLoad(context, pipeline.Fit(data), data.Schema);
        float[][] rows = data.GetColumn<float[]>("Features").Take(20).ToArray();
        rows[7][0] = float.NaN;
        IDataView batch = Rows(context, rows, rows[0].Length);

        Exception refused = Assert.ThrowsAny<Exception>(() => loaded.Transform(batch).GetColumn<float>("Probability").ToArray());

        Assert.Contains("NaN or infinite", Messages(refused));
    }

    internal static (IDataView Data, IEstimator<ITransformer> Pipeline) Pipeline(MLContext context, string task) => task switch
    {
        "regression" => (MLNetData.Diabetes(context), context.Transforms.NormalizeMinMax("Features").Append(context.Regression.Trainers.HopfCole(numberOfSupportPoints: 8, maximumEpochs: 30))),
        "binary" => (MLNetData.BreastCancer(context), context.Transforms.NormalizeMeanVariance("Features").Append(context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 8, maximumEpochs: 30))),
        _ => (MLNetData.Iris(context), context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 30).Append(context.Transforms.Conversion.MapKeyToValue("PredictedSpecies", "PredictedLabel"))),
    };

    // Depth 2 on every task: regression and multiclass lift to a wider state, binary keeps its 30 features and shares controls.
    internal static (IDataView Data, IEstimator<ITransformer> Pipeline) DeepPipeline(MLContext context, string task) => task switch
    {
        "regression" => (MLNetData.Diabetes(context), context.Transforms.NormalizeMinMax("Features").Append(context.Regression.Trainers.HopfCole(
            new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 20, Depth = 2, FlowWidth = 16, FlowSupportPoints = 8 }))),
        "binary" => (MLNetData.BreastCancer(context), context.Transforms.NormalizeMeanVariance("Features").Append(context.BinaryClassification.Trainers.HopfCole(
            new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 20, Depth = 2, FlowSupportPoints = 8, SharedFlowControls = true }))),
        _ => (MLNetData.Iris(context), context.MulticlassClassification.Trainers.HopfCole(
            new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 20, Depth = 2, FlowWidth = 8, FlowSupportPoints = 6 })
            .Append(context.Transforms.Conversion.MapKeyToValue("PredictedSpecies", "PredictedLabel"))),
    };

    internal static string[] PredictionColumns(string task) => task switch
    {
        "regression" => ["Score"],
        "binary" => ["Score", "Probability", "PredictedLabel"],
        _ => ["Score", "PredictedLabel", "PredictedSpecies"],
    };

    /// <summary>Every chain in <paramref name="transformer"/>, itself included if it is one, nested ones too.</summary>
    internal static IEnumerable<IEnumerable<ITransformer>> Chains(ITransformer transformer)
        => transformer is IEnumerable<ITransformer> chain ? [chain, .. chain.SelectMany(Chains)] : [];

    internal static string[] SlotNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(name => name.ToString()).ToArray();
    }

    /// <summary>The messages of <paramref name="exception"/> and its inner exceptions, one per line.</summary>
    internal static string Messages(Exception exception)
        => exception.InnerException is null ? exception.Message : exception.Message + "\n" + Messages(exception.InnerException);

    /// <summary><paramref name="rows"/> as a view with a Features column of <paramref name="size"/> slots.</summary>
    internal static IDataView Rows(MLContext context, IEnumerable<float[]> rows, int size)
    {
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        return context.Data.LoadFromEnumerable(rows.Select(row => new FeatureRow { Features = row }), definition);
    }

    // Reads the Score of a one-row view holding row.
    private static void Score(MLContext context, ITransformer model, float[] row)
    {
        IDataView scored = model.Transform(Rows(context, [row], row.Length));
        DataViewSchema.Column score = scored.Schema["Score"];
        Assert.Single(score.Type is VectorDataViewType ? scored.GetColumn<float[]>(score).Cast<object>() : scored.GetColumn<float>(score).Cast<object>());
    }

    internal static ITransformer SaveAndLoad(MLContext context, ITransformer model, DataViewSchema schema)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hjml-mlnet-{Guid.NewGuid():N}.zip");
        try
        {
            context.Model.Save(model, schema, path);
            return new MLContext(seed: 2).Model.Load(path, out _);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSameColumn(IDataView before, IDataView after, string name)
    {
        DataViewType type = before.Schema[name].Type;
        if (type == NumberDataViewType.Single)
        {
            AssertClose(before.GetColumn<float>(name).Select(value => new[] { value }), after.GetColumn<float>(name).Select(value => new[] { value }), name);
        }
        else if (type is VectorDataViewType)
        {
            AssertClose(before.GetColumn<float[]>(name), after.GetColumn<float[]>(name), name);
        }
        else if (type == BooleanDataViewType.Instance)
        {
            Assert.Equal(before.GetColumn<bool>(name), after.GetColumn<bool>(name));
        }
        else if (type is KeyDataViewType)
        {
            Assert.Equal(before.GetColumn<uint>(name), after.GetColumn<uint>(name));
        }
        else
        {
            Assert.Equal(before.GetColumn<float>(name), after.GetColumn<float>(name));
        }
    }

    private static void AssertClose(IEnumerable<float[]> expected, IEnumerable<float[]> actual, string name)
    {
        float[][] left = expected.ToArray();
        float[][] right = actual.ToArray();
        Assert.Equal(left.Length, right.Length);
        double worst = 0;
        for (int row = 0; row < left.Length; row++)
        {
            Assert.Equal(left[row].Length, right[row].Length);
            for (int k = 0; k < left[row].Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(left[row][k] - right[row][k]) / Math.Max(1, Math.Abs(left[row][k])));
            }
        }

        Assert.True(worst <= 1e-5, $"{name}: largest difference {worst:E2} relative to max(1, |value|)");
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer)
        => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    public sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    public sealed class IrisRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];
    }

    public sealed class IrisPrediction
    {
        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }
}
