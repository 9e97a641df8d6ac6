using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Persistence;

public class AttributionSaveTests
{
    public static TheoryData<string> Tasks => ["regression", "binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Tasks))]
    public void SavedAttributionMatchesTheLiveOneWithTheSameSchema(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, HopfColePredictionTransformer trainer) = task switch
        {
            "regression" => (MLNetData.Diabetes(context), context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(MLNetData.Diabetes(context))),
            "binary" => GibbsAttributionTestsAccess.Binary(),
            _ => (MLNetData.Iris(context), context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20).Fit(MLNetData.Iris(context))),
        };
        IDataView scored = trainer.Transform(data);
        GibbsAttributionTransformer attribution = context.Transforms.GibbsAttribution(trainer, topSupportPoints: 3).Fit(scored);
        var model = new TransformerChain<ITransformer>(trainer, attribution);

        string path = Path.Combine(Path.GetTempPath(), $"hjml-attribution-{Guid.NewGuid():N}.zip");
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

        IDataView before = model.Transform(data);
        IDataView after = loaded.Transform(data);
        Assert.Equal(Visible(before.Schema), Visible(after.Schema));
        foreach (DataViewSchema.Column column in before.Schema.Where(column => !column.IsHidden && column.Index >= data.Schema.Count))
        {
            Compare(before, after, column);
        }
    }

    [Fact]
    public void PlainModelLoadKeepsTheSlotNamesOfFeatureContributionsAndScoreTerms()
    {
        var context = new MLContext(seed: 1);
        string[] names = MLNetData.Header("diabetes.csv")[..^1];
        var columns = names.Select((name, index) => new TextLoader.Column(name, DataKind.Single, index)).Append(new TextLoader.Column("Label", DataKind.Single, names.Length)).ToArray();
        IDataView data = context.Data.LoadFromTextFile(Path.Combine(MLNetData.RepositoryRoot, "data", "diabetes.csv"), columns, separatorChar: ',', hasHeader: true);
        var model = context.Transforms.Concatenate("Features", names)
            .Append(context.Regression.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 10))
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3)).Fit(data);

        string path = Path.Combine(Path.GetTempPath(), $"hjml-attribution-slots-{Guid.NewGuid():N}.zip");
        DataViewSchema loadedSchema;
        try
        {
            context.Model.Save(model, data.Schema, path);
            loadedSchema = new MLContext().Model.Load(path, out _).GetOutputSchema(data.Schema);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(names, SlotNames(loadedSchema[GibbsAttributionTransformer.FeatureContributionsColumnName]));
        Assert.Equal(GibbsAttributionTransformer.ScoreTermNames, SlotNames(loadedSchema[GibbsAttributionTransformer.ScoreTermsColumnName]));
    }

    private static string[] SlotNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(name => name.ToString()).ToArray();
    }

    [Fact]
    public void SavedAttributionReportsTheTrainingRowsIdsAsTheLiveOneDoes()
    {
        var context = new MLContext(seed: 1);
        IDataView data = HjMl.MLNet.Tests.Attribution.ComposedAttributionTests.WithIds(context, MLNetData.BreastCancer(context), row => $"patient-{row:D3}".AsMemory());
        var model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3, idColumnName: "Id")).Fit(data);

        string path = Path.Combine(Path.GetTempPath(), $"hjml-attribution-ids-{Guid.NewGuid():N}.zip");
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

        IDataView before = model.Transform(data);
        IDataView after = loaded.Transform(data);
        Assert.Equal(Visible(before.Schema), Visible(after.Schema));
        string[][] left = before.GetColumn<ReadOnlyMemory<char>[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).Select(ids => ids.Select(id => id.ToString()).ToArray()).ToArray();
        string[][] right = after.GetColumn<ReadOnlyMemory<char>[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).Select(ids => ids.Select(id => id.ToString()).ToArray()).ToArray();
        float[][] weights = before.GetColumn<float[]>(GibbsAttributionTransformer.TopSupportWeightsColumnName).ToArray();
        for (int row = 0; row < left.Length; row++)
        {
            // Equal wherever the Gibbs weights are not tied within float rounding.
            Assert.All(left[row], id => Assert.StartsWith("patient-", id));
            if (weights[row][0] - weights[row][1] > 1e-5)
            {
                Assert.Equal(left[row][0], right[row][0]);
            }
        }

        HjMl.MLNet.Tests.Attribution.ComposedAttributionTests.AssertClosure(after, "binary");
    }

    private static void Compare(IDataView before, IDataView after, DataViewSchema.Column column)
    {
        if (column.Type == NumberDataViewType.Single)
        {
            Close(before.GetColumn<float>(column.Name).Select(value => new[] { value }), after.GetColumn<float>(column.Name).Select(value => new[] { value }), column.Name);
        }
        else if (column.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Single)
        {
            Close(before.GetColumn<float[]>(column.Name), after.GetColumn<float[]>(column.Name), column.Name);
        }
        else if (column.Type is VectorDataViewType)
        {
            // Support rows: equal wherever the Gibbs weights are not tied within float rounding.
            long[][] left = before.GetColumn<long[]>(column.Name).ToArray();
            long[][] right = after.GetColumn<long[]>(column.Name).ToArray();
            float[][] weights = before.GetColumn<float[]>(GibbsAttributionTransformer.TopSupportWeightsColumnName).ToArray();
            for (int row = 0; row < left.Length; row++)
            {
                if (weights[row][0] - weights[row][1] > 1e-5)
                {
                    Assert.Equal(left[row][0], right[row][0]);
                }
            }
        }
        else if (column.Type == BooleanDataViewType.Instance)
        {
            // OutOfSupport is OutOfSupportScore > 1: equal wherever the live score is not within float rounding of 1.
            bool[] left = before.GetColumn<bool>(column.Name).ToArray();
            bool[] right = after.GetColumn<bool>(column.Name).ToArray();
            float[] scores = before.GetColumn<float>(GibbsAttributionTransformer.OutOfSupportScoreColumnName).ToArray();
            for (int row = 0; row < left.Length; row++)
            {
                if (Math.Abs(scores[row] - 1) > 1e-5)
                {
                    Assert.Equal(left[row], right[row]);
                }
            }
        }
        else
        {
            Assert.Equal(before.GetColumn<uint>(column.Name), after.GetColumn<uint>(column.Name));
        }
    }

    private static void Close(IEnumerable<float[]> expected, IEnumerable<float[]> actual, string name)
    {
        float[][] left = expected.ToArray();
        float[][] right = actual.ToArray();
        double worst = 0;
        for (int row = 0; row < left.Length; row++)
        {
            // Feature contributions and score terms are the float32 graph's differences of the heads' terms (times
            // LabelScale for regression), whose rounding scales with the row's largest term, so they are compared
            // relative to it; everything else per value.
            double rowScale = left[row].Max(value => Math.Abs(value));
            for (int k = 0; k < left[row].Length; k++)
            {
                double scale = Math.Max(1, name is GibbsAttributionTransformer.FeatureContributionsColumnName or GibbsAttributionTransformer.ScoreTermsColumnName ? rowScale : Math.Abs(left[row][k]));
                worst = Math.Max(worst, Math.Abs(left[row][k] - right[row][k]) / scale);
            }
        }

        Assert.True(worst <= 1e-5, $"{name}: largest difference {worst:E2} relative to max(1, |value|) (for contributions and score terms, the row's largest)");
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();

    private static class GibbsAttributionTestsAccess
    {
        public static (IDataView Data, HopfColePredictionTransformer Model) Binary() => HjMl.MLNet.Tests.Attribution.GibbsAttributionTests.Binary();
    }
}
