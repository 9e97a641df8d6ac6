using HjMl.MLNet.Attribution;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Featurization;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Persistence;

public class LoadWithHopfColeTests
{
    public static TheoryData<string> Tasks => ["regression", "binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Tasks))]
    public void LoadWithHopfColeGivesBackTheTrainedTransformerScoringBitForBitAsBeforeSaving(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, task);
        ITransformer model = pipeline.Fit(data);

        ITransformer loaded = SaveAndLoadWithHopfCole(context, model, data.Schema);

        HopfColePredictionTransformer trained = Stages(model).OfType<HopfColePredictionTransformer>().Single();
        HopfColePredictionTransformer rebound = Stages(loaded).OfType<HopfColePredictionTransformer>().Single();
        Assert.DoesNotContain(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        Assert.Equal(trained.Model.Model.Layer.Weights.ToArray(), rebound.Model.Model.Layer.Weights.ToArray());
        Assert.Equal(trained.FeatureColumnName, rebound.FeatureColumnName);
        Assert.Equal(trained.Model.NumberOfTrainingRows, rebound.Model.NumberOfTrainingRows);
        AssertSameColumns(model.Transform(data), loaded.Transform(data), SaveAndLoadTests.PredictionColumns(task));
        Assert.Equal(Visible(model.GetOutputSchema(data.Schema)), Visible(loaded.GetOutputSchema(data.Schema)));
    }

    [Fact]
    public void LoadWithHopfColeGivesBackAModelWithAFlow()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.DeepPipeline(context, "regression");
        ITransformer model = pipeline.Fit(data);

        ITransformer loaded = SaveAndLoadWithHopfCole(context, model, data.Schema);

        HopfColePredictionTransformer rebound = Stages(loaded).OfType<HopfColePredictionTransformer>().Single();
        Assert.Equal(2, rebound.Model.Model.Depth);
        AssertSameColumns(model.Transform(data), loaded.Transform(data), ["Score"]);
    }

    [Fact]
    public void LoadWithHopfColeReadsAStreamAsItReadsAFile()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, "binary");
        ITransformer model = pipeline.Fit(data);
        using var stream = new MemoryStream();
        context.Model.Save(model, data.Schema, stream);
        stream.Position = 0;

        ITransformer loaded = new MLContext(seed: 2).Model.LoadWithHopfCole(stream, out DataViewSchema schema);

        Assert.Equal(Visible(data.Schema), Visible(schema));
        Assert.Single(Stages(loaded).OfType<HopfColePredictionTransformer>());
        AssertSameColumns(model.Transform(data), loaded.Transform(data), ["Score", "Probability", "PredictedLabel"]);
    }

    [Fact]
    public void ReboundModelCanBeExplainedAgainAsTheLiveOneIs()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20).Fit(data);

        var rebound = Assert.IsType<HopfColePredictionTransformer>(Assert.Single(Stages(SaveAndLoadWithHopfCole(context, model, data.Schema))));

        IDataView live = context.Transforms.GibbsAttribution(model, topSupportPoints: 3).Fit(data).Transform(data);
        IDataView again = context.Transforms.GibbsAttribution(rebound, topSupportPoints: 3).Fit(data).Transform(data);
        AssertSameColumns(live, again, [GibbsAttributionTransformer.TopSupportWeightsColumnName, GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName]);
        Assert.Equal(live.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).SelectMany(rows => rows), again.GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).SelectMany(rows => rows));
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void ReboundModelSavesAgainAndLoadsWithPlainMLNet(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, task);
        ITransformer model = pipeline.Fit(data);

        ITransformer rebound = SaveAndLoadWithHopfCole(context, model, data.Schema);
        ITransformer plain = SaveAndLoadTests.SaveAndLoad(context, rebound, data.Schema);

        Assert.Contains(Stages(plain), stage => stage.GetType().Name == "OnnxTransformer");
        Assert.Equal(Visible(model.GetOutputSchema(data.Schema)), Visible(plain.GetOutputSchema(data.Schema)));
        AssertSameColumns(model.Transform(data), plain.Transform(data), SaveAndLoadTests.PredictionColumns(task), tolerance: 1e-5);
    }

    [Theory]
    [InlineData(HopfColeFeatures.GibbsWeights)]
    [InlineData(HopfColeFeatures.LogSumExp)]
    public void LoadWithHopfColeGivesBackTheFeaturizerWithItsSlotNames(HopfColeFeatures output)
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Diabetes(context);
        ITransformer featurizer = context.Transforms.HopfColeFeaturizer("Soft", numberOfSupportPoints: 8, viscosity: 2.0, output: output).Fit(data);

        ITransformer loaded = SaveAndLoadWithHopfCole(context, featurizer, data.Schema);
        ITransformer plain = SaveAndLoadTests.SaveAndLoad(context, featurizer, data.Schema);

        Assert.IsType<HopfColeFeaturizerTransformer>(Assert.Single(Stages(loaded)));
        AssertSameColumns(featurizer.Transform(data), loaded.Transform(data), ["Soft"]);
        string[] names = SaveAndLoadTests.SlotNames(featurizer.GetOutputSchema(data.Schema)["Soft"]);
        Assert.StartsWith("support row ", names[0]);
        Assert.Equal(names, SaveAndLoadTests.SlotNames(plain.GetOutputSchema(data.Schema)["Soft"]));
        Assert.Single(Stages(plain));
    }

    [Fact]
    public void LoadWithHopfColeGivesBackTheEnsembleWithItsHopfColeMemberReboundAndTheOthersAsLoaded()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        ViscosityEnsembleTransformer ensemble = context.BinaryClassification.Trainers.ViscosityEnsemble(
            [context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20), context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression())],
            viscosity: 0.05).Fit(data);

        var loaded = Assert.IsType<ViscosityEnsembleTransformer>(Assert.Single(Stages(SaveAndLoadWithHopfCole(context, ensemble, data.Schema), flatten: false)));

        Assert.Equal(ensemble.Weights, loaded.Weights);
        Assert.Equal(ensemble.Losses, loaded.Losses);
        Assert.Equal(ensemble.Viscosity, loaded.Viscosity);
        Assert.IsType<HopfColePredictionTransformer>(Assert.Single(Stages(loaded.Members[0])));
        Assert.Contains(Stages(loaded.Members[1]), stage => stage.GetType().Name.StartsWith("BinaryPredictionTransformer", StringComparison.Ordinal));
        AssertSameColumns(ensemble.Transform(data), loaded.Transform(data), ["Score", "Probability", "PredictedLabel"], tolerance: 1e-6);
    }

    [Fact]
    public void LoadWithHopfColeGivesBackTheAttributionTransformExplainingBitForBitAsBeforeSaving()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3)).Fit(data);

        ITransformer loaded = SaveAndLoadWithHopfCole(context, model, data.Schema);

        Assert.Single(Stages(loaded).OfType<HopfColePredictionTransformer>());
        Assert.Single(Stages(loaded).OfType<GibbsAttributionTransformer>());
        Assert.DoesNotContain(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        Assert.Equal(Visible(model.GetOutputSchema(data.Schema)), Visible(loaded.GetOutputSchema(data.Schema)));
        AssertSameColumns(model.Transform(data), loaded.Transform(data), ["Score", GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName, GibbsAttributionTransformer.ScoreTermsColumnName]);
        Assert.Equal(model.Transform(data).GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).SelectMany(rows => rows), loaded.Transform(data).GetColumn<long[]>(GibbsAttributionTransformer.TopSupportRowsColumnName).SelectMany(rows => rows));
    }

    [Fact]
    public void LoadWithHopfColeKeepsAnAttributionTransformReportingIdsAsItWasSaved()
    {
        var context = new MLContext(seed: 1);
        IDataView data = HjMl.MLNet.Tests.Attribution.ComposedAttributionTests.WithIds(context, MLNetData.BreastCancer(context), row => $"patient-{row:D3}".AsMemory());
        var model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 6, maximumEpochs: 20)
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3, idColumnName: "Id")).Fit(data);

        ITransformer loaded = SaveAndLoadWithHopfCole(context, model, data.Schema);

        Assert.Single(Stages(loaded).OfType<HopfColePredictionTransformer>());
        Assert.Contains(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        Assert.Equal(Visible(model.GetOutputSchema(data.Schema)), Visible(loaded.GetOutputSchema(data.Schema)));
        AssertSameColumns(model.Transform(data), loaded.Transform(data), ["Score", GibbsAttributionTransformer.AttributionEntropyColumnName], tolerance: 1e-5);
    }

    [Fact]
    public void LoadWithHopfColeKeepsTheScopesOfTheStagesItDoesNotReplace()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, "regression");
        ITransformer[] stages = [.. (IEnumerable<ITransformer>)pipeline.Fit(data)];
        var model = new TransformerChain<ITransformer>(stages, [TransformerScope.Everything, TransformerScope.Scoring]);

        var loaded = Assert.IsType<TransformerChain<ITransformer>>(SaveAndLoadWithHopfCole(context, model, data.Schema));

        Assert.Equal(2, loaded.GetModelFor(TransformerScope.Scoring).Count());
        Assert.IsType<HopfColePredictionTransformer>(Assert.Single(loaded.GetModelFor(TransformerScope.Scoring).Skip(1)));
        Assert.Single(loaded.GetModelFor(TransformerScope.Training));
    }

    private static ITransformer SaveAndLoadWithHopfCole(MLContext context, ITransformer model, DataViewSchema schema)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hjml-rebind-{Guid.NewGuid():N}.zip");
        try
        {
            context.Model.Save(model, schema, path);
            return new MLContext(seed: 2).Model.LoadWithHopfCole(path, out _);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static IEnumerable<ITransformer> Stages(ITransformer transformer, bool flatten = true)
        => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(stage => flatten ? Stages(stage) : [stage]) : [transformer];

    // Equal within tolerance relative to max(1, |value|); 0 asks for the same floats.
    private static void AssertSameColumns(IDataView expected, IDataView actual, string[] columns, double tolerance = 0)
    {
        foreach (string name in columns)
        {
            DataViewType type = expected.Schema[name].Type;
            if (type is VectorDataViewType)
            {
                Close(expected.GetColumn<float[]>(name).SelectMany(row => row), actual.GetColumn<float[]>(name).SelectMany(row => row), name, tolerance);
            }
            else if (type == NumberDataViewType.Single)
            {
                Close(expected.GetColumn<float>(name), actual.GetColumn<float>(name), name, tolerance);
            }
            else if (type == BooleanDataViewType.Instance)
            {
                Assert.Equal(expected.GetColumn<bool>(name), actual.GetColumn<bool>(name));
            }
            else if (type is KeyDataViewType)
            {
                Assert.Equal(expected.GetColumn<uint>(name), actual.GetColumn<uint>(name));
            }
            else
            {
                Assert.Equal(expected.GetColumn<string>(name), actual.GetColumn<string>(name));
            }
        }
    }

    private static void Close(IEnumerable<float> expected, IEnumerable<float> actual, string name, double tolerance)
    {
        float[] left = expected.ToArray();
        float[] right = actual.ToArray();
        Assert.Equal(left.Length, right.Length);
        for (int i = 0; i < left.Length; i++)
        {
            Assert.True(Math.Abs(left[i] - right[i]) <= tolerance * Math.Max(1, Math.Abs(left[i])), $"{name}[{i}]: {left[i]} vs {right[i]}");
        }
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();
}
