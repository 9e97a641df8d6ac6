using System.Globalization;
using System.IO.Compression;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using HjMl.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit.Abstractions;

namespace HjMl.MLNet.Tests.Persistence;

/// <summary>
/// Pipelines whose model has a flow or a periodic feature embedding save with their explanation transforms: the plain
/// Model.Load (ONNX Runtime, float32) gives the same explanation columns as the engine on every row, the feature
/// contributions with the baseline and the graph's own quadrature remainder sum to the explained score, and
/// LoadWithHopfCole gives the GibbsAttribution transform back.
/// </summary>
public class FlowAttributionSaveTests(ITestOutputHelper log)
{
    // Float32 rounding of the graph's path integral (32 nodes of flow states, co-states and Gibbs weights), relative to
    // max(1, the row's largest term) for contributions and score terms, to max(1, |value|) for the rest.
    private const double Tolerance = 1e-5;

    private static readonly string[] AdultText = ["workclass", "education", "marital_status", "occupation", "relationship", "ethnicity", "sex", "native_country"];

    public static TheoryData<string> Tasks => ["regression", "binary", "multiclass"];

    [Fact]
    [Trait("Speed", "Slow")]
    public void DefaultAdultPipelineWithAttributionSavesAndLoadsWithTheEnginesExplanationsOnEveryRow()
    {
        var context = new MLContext(seed: 1);
        IDataView data = Adult(context);
        var model = context.Transforms.Categorical.OneHotEncoding([.. AdultText.Select(name => new InputOutputColumnPair(name))])
            .Append(context.Transforms.Concatenate("Features", ["Numeric", .. AdultText]))
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .Append(context.BinaryClassification.Trainers.HopfCole())
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3))
            .Fit(data);
        HopfColeModel hopfCole = model.OfType<HopfColePredictionTransformer>().Single().Model.Model;
        Assert.NotNull(hopfCole.Flow?.Shape.Embedding);
        byte[] graph = OnnxExport.ToBytes(hopfCole, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 3 });
        OnnxModelSummary summary = OnnxModelSummary.Read(new MemoryStream(graph));
        log.WriteLine($"adult: depth {hopfCole.Depth}, z_0 width {hopfCole.Flow.Width}, {hopfCole.Layer.NumberOfPieces} pieces per head; explanation graph {summary.OperatorCounts.Sum(pair => pair.Value)} nodes, {graph.Length} bytes (predictions only: {OnnxExport.ToBytes(hopfCole).Length} bytes)");

        (ITransformer loaded, ITransformer rebound, long bytes) = SaveAndLoad(context, model, data.Schema);
        log.WriteLine($"saved zip {bytes} bytes");
        IDataView live = Computed(context, model.Transform(data));
        IDataView after = Computed(context, loaded.Transform(data));
        AssertSameExplanations(live, after);
        AssertSumsToTheExplainedScore(after);
        Assert.Single(((IEnumerable<ITransformer>)rebound).OfType<GibbsAttributionTransformer>());
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void DepthTwoFlowWithAttributionSavesAndLoadsWithTheEnginesExplanationsOnEveryRow(string task)
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> trainer) = task switch
        {
            "regression" => (MLNetData.Diabetes(context), (IEstimator<ITransformer>)context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 20, Depth = 2, FlowWidth = 16, FlowSupportPoints = 8 })),
            "binary" => (MLNetData.BreastCancer(context), context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 20, Depth = 2, FlowSupportPoints = 8, SharedFlowControls = true })),
            _ => (MLNetData.Iris(context), context.MulticlassClassification.Trainers.HopfCole(new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 20, Depth = 2, FlowWidth = 8, FlowSupportPoints = 6 })),
        };
        var model = trainer.Append(context.Transforms.GibbsAttribution(topSupportPoints: 3)).Fit(data);
        Assert.Equal(2, model.OfType<HopfColePredictionTransformer>().Single().Model.Model.Depth);

        (ITransformer loaded, ITransformer rebound, _) = SaveAndLoad(context, model, data.Schema);
        IDataView live = Computed(context, model.Transform(data));
        IDataView after = Computed(context, loaded.Transform(data));
        AssertSameExplanations(live, after);
        AssertSumsToTheExplainedScore(after);

        // LoadWithHopfCole gives the transform back on HjMl's kernels: the live columns, bit for bit.
        Assert.Single(((IEnumerable<ITransformer>)rebound).OfType<GibbsAttributionTransformer>());
        IDataView again = rebound.Transform(data);
        Assert.Equal(live.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName), again.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName));
    }

    [Fact]
    public void FeatureContributionOfAnEmbeddedFlowSavesAndKeepsTheSameLargestContributions()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer trained = context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 10, Depth = 2, FlowSupportPoints = 8, FeatureEmbedding = HjMl.Training.FeatureEmbedding.Periodic, EmbeddingFrequencies = 8, EmbeddingWidth = 8 }).Fit(data);
        HopfColeFeatureContributionTransformer contribution = context.Transforms.CalculateFeatureContribution(trained, numberOfPositiveContributions: 30, numberOfNegativeContributions: 30, normalize: false).Fit(trained.Transform(data));
        var model = new TransformerChain<ITransformer>(trained, contribution);
        (ITransformer loaded, _, _) = SaveAndLoad(context, model, data.Schema);

        float[][] before = model.Transform(data).GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        float[][] after = loaded.Transform(data).GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        double worst = 0;
        for (int row = 0; row < before.Length; row++)
        {
            double scale = Math.Max(1, before[row].Max(Math.Abs));
            worst = Math.Max(worst, before[row].Zip(after[row], (left, right) => Math.Abs(left - right) / scale).Max());
        }

        log.WriteLine($"breast_cancer, embedded depth 2: feature contributions differ by at most {worst:E2} relative to the row's largest");
        Assert.True(worst <= Tolerance, $"feature contributions differ by {worst} relative to the row's largest");
    }

    [Fact]
    public void SavedAttributionOfAnEmbeddedFlowRefusesANonFiniteFeatureAsTheLiveOneDoes()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var model = context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 8, MaximumEpochs = 5, Depth = 2, FlowSupportPoints = 8, FeatureEmbedding = HjMl.Training.FeatureEmbedding.Periodic, EmbeddingFrequencies = 8, EmbeddingWidth = 8 })
            .Append(context.Transforms.GibbsAttribution()).Fit(data);
        (ITransformer loaded, _, _) = SaveAndLoad(context, model, data.Schema);
        float[][] rows = data.GetColumn<float[]>("Features").Take(20).ToArray();
        rows[7][0] = float.NaN;
        IDataView batch = SaveAndLoadTests.Rows(context, rows, rows[0].Length);

        Exception live = Assert.ThrowsAny<Exception>(() => model.Transform(batch).GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray());
        Exception saved = Assert.ThrowsAny<Exception>(() => loaded.Transform(batch).GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray());

        Assert.Contains("NaN", SaveAndLoadTests.Messages(live));
        Assert.Contains("NaN or infinite", SaveAndLoadTests.Messages(saved));
    }

    private static (ITransformer Loaded, ITransformer Rebound, long Bytes) SaveAndLoad(MLContext context, ITransformer model, DataViewSchema schema)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hjml-flow-attribution-{Guid.NewGuid():N}.zip");
        try
        {
            context.Model.Save(model, schema, path);
            return (new MLContext().Model.Load(path, out _), new MLContext().Model.LoadWithHopfCole(path, out _), new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly string[] Explained = ["Score", "Probability", GibbsAttributionTransformer.TopSupportWeightsColumnName, GibbsAttributionTransformer.TopSupportRowsColumnName, GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName, GibbsAttributionTransformer.ExplainedScoreColumnName, GibbsAttributionTransformer.ScoreTermsColumnName, GibbsAttributionTransformer.CertifiedRadiusColumnName, GibbsAttributionTransformer.OutOfSupportScoreColumnName, GibbsAttributionTransformer.OutOfSupportColumnName];

    // The view with its prediction and explanation columns computed in one pass and cached, not once per column read.
    private static IDataView Computed(MLContext context, IDataView view)
        => context.Data.Cache(view, [.. Explained.Where(name => view.Schema.GetColumnOrNull(name) is { IsHidden: false })]);

    // Every prediction and explanation column of the loaded pipeline against the live one (HjMl's engine, double), row by row.
    private void AssertSameExplanations(IDataView live, IDataView loaded)
    {
        Assert.Equal(Visible(live.Schema), Visible(loaded.Schema));
        string[] explained = Explained;
        float[][] contributions = live.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        foreach (DataViewSchema.Column column in live.Schema.Where(column => !column.IsHidden && explained.Contains(column.Name)))
        {
            if (column.Type == NumberDataViewType.Single)
            {
                Close(live.GetColumn<float>(column.Name).Select(value => new[] { value }), loaded.GetColumn<float>(column.Name).Select(value => new[] { value }), column.Name, null);
            }
            else if (column.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Single)
            {
                // Contributions and score terms relative to the row's largest of either: the graph's remainder is the
                // explained score minus all of them, and rounds with the largest.
                Close(live.GetColumn<float[]>(column.Name), loaded.GetColumn<float[]>(column.Name), column.Name, column.Name is GibbsAttributionTransformer.FeatureContributionsColumnName or GibbsAttributionTransformer.ScoreTermsColumnName ? contributions : null);
            }
            else if (column.Name == GibbsAttributionTransformer.TopSupportRowsColumnName)
            {
                // The first support row is the same wherever the two largest Gibbs weights are not tied within rounding.
                long[][] left = live.GetColumn<long[]>(column.Name).ToArray();
                long[][] right = loaded.GetColumn<long[]>(column.Name).ToArray();
                float[][] weights = live.GetColumn<float[]>(GibbsAttributionTransformer.TopSupportWeightsColumnName).ToArray();
                int[] different = [.. Enumerable.Range(0, left.Length).Where(row => weights[row][0] - weights[row][1] > Tolerance && left[row][0] != right[row][0])];
                Assert.True(different.Length == 0, $"{column.Name}: {different.Length} rows name another first support row, first row {different.FirstOrDefault()}");
            }
            else if (column.Name == GibbsAttributionTransformer.OutOfSupportColumnName)
            {
                bool[] left = live.GetColumn<bool>(column.Name).ToArray();
                bool[] right = loaded.GetColumn<bool>(column.Name).ToArray();
                float[] scores = live.GetColumn<float>(GibbsAttributionTransformer.OutOfSupportScoreColumnName).ToArray();
                Assert.DoesNotContain(Enumerable.Range(0, left.Length), row => Math.Abs(scores[row] - 1) > Tolerance && left[row] != right[row]);
            }
        }
    }

    // ExplainedScore = sum(FeatureContributions) + sum(ScoreTerms) in the loaded graph, and the graph's Remainder term
    // (the quadrature's) is within float32 rounding of the score: the contributions and the baseline alone give it.
    private void AssertSumsToTheExplainedScore(IDataView loaded)
    {
        float[] explained = loaded.GetColumn<float>(GibbsAttributionTransformer.ExplainedScoreColumnName).ToArray();
        float[][] contributions = loaded.GetColumn<float[]>(GibbsAttributionTransformer.FeatureContributionsColumnName).ToArray();
        float[][] terms = loaded.GetColumn<float[]>(GibbsAttributionTransformer.ScoreTermsColumnName).ToArray();
        double worstClosure = 0, worstRemainder = 0;
        for (int row = 0; row < explained.Length; row++)
        {
            double scale = Math.Max(1, Math.Max(contributions[row].Max(Math.Abs), terms[row].Max(Math.Abs)));
            double sum = contributions[row].Sum(value => (double)value) + terms[row].Sum(value => (double)value);
            worstClosure = Math.Max(worstClosure, Math.Abs(sum - explained[row]) / scale);
            worstRemainder = Math.Max(worstRemainder, Math.Abs(terms[row][3]) / scale);
            Assert.Equal(0f, terms[row][1] + terms[row][2]);
        }

        log.WriteLine($"loaded: |ExplainedScore - sum of terms| at most {worstClosure:E2}, |Remainder| at most {worstRemainder:E2}, relative to the row's largest term");
        Assert.True(worstClosure <= Tolerance, $"the terms miss the explained score by {worstClosure} of the row's largest");
        Assert.True(worstRemainder <= Tolerance, $"the graph's quadrature remainder reaches {worstRemainder} of the row's largest term");
    }

    private void Close(IEnumerable<float[]> expected, IEnumerable<float[]> actual, string name, float[][]? contributions)
    {
        float[][] left = expected.ToArray();
        float[][] right = actual.ToArray();
        double worst = 0, worstAbsolute = 0;
        for (int row = 0; row < left.Length; row++)
        {
            double rowScale = contributions is null ? 0 : Math.Max(left[row].Max(Math.Abs), contributions[row].Max(Math.Abs));
            for (int k = 0; k < left[row].Length; k++)
            {
                double scale = Math.Max(1, contributions is null ? Math.Abs(left[row][k]) : rowScale);
                double difference = Math.Abs(left[row][k] - right[row][k]);
                worst = Math.Max(worst, difference / scale);
                worstAbsolute = Math.Max(worstAbsolute, difference);
            }
        }

        log.WriteLine($"{name}: max abs difference {worstAbsolute.ToString("0.0e+0", CultureInfo.InvariantCulture)} ({worst.ToString("0.0e+0", CultureInfo.InvariantCulture)} relative) over {left.Length} rows");
        Assert.True(worst <= Tolerance, $"{name}: largest difference {worst:E2} relative to max(1, |value|) (for contributions and score terms, the row's largest)");
    }

    private static (string Name, string Type)[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => (column.Name, column.Type.ToString() ?? string.Empty)).ToArray();

    // adult.csv (32,561 rows): HJML_ADULT_CSV, else ../shared/data/adult.csv beside the repository, else the copy the
    // repository ships as data/adult.csv.gz, decompressed once (TextLoader reads files by path).
    private static readonly Lazy<string> AdultPath = new(FindAdult);

    private static string FindAdult()
    {
        string? named = Environment.GetEnvironmentVariable("HJML_ADULT_CSV");
        if (!string.IsNullOrEmpty(named))
        {
            return named;
        }

        string shared = Path.Combine(MLNetData.RepositoryRoot, "..", "shared", "data", "adult.csv");
        if (File.Exists(shared))
        {
            return shared;
        }

        string copy = Path.Combine(Path.GetTempPath(), $"hjml-adult-{Environment.ProcessId}.csv");
        using (var compressed = new GZipStream(File.OpenRead(Path.Combine(MLNetData.RepositoryRoot, "data", "adult.csv.gz")), CompressionMode.Decompress))
        using (FileStream plain = File.Create(copy))
        {
            compressed.CopyTo(plain);
        }

        return copy;
    }

    private static IDataView Adult(MLContext context)
    {
        string path = AdultPath.Value;
        string[] header = File.ReadLines(path).First().Split(',');
        int label = header.Length - 1;
        int[] numeric = [.. Enumerable.Range(0, label).Where(i => !AdultText.Contains(header[i]))];
        var columns = new List<TextLoader.Column>
        {
            new("Numeric", DataKind.Single, [.. numeric.Select(i => new TextLoader.Range(i, i))]),
            new("Label", DataKind.Boolean, label),
        };
        columns.AddRange(AdultText.Select(name => new TextLoader.Column(name, DataKind.String, Array.IndexOf(header, name))));
        var source = new MultiFileSource(path);
        return context.Data.CreateTextLoader(new TextLoader.Options { Columns = [.. columns], Separators = [','], HasHeader = true }, source).Load(source);
    }
}
