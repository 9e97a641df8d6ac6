using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using HjMl.MLNet;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.Service.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Models;

/// <summary>
/// Loads a saved pipeline for serving: <c>mlContext.Model.LoadWithHopfCole</c> (HjMl's transformers re-bound, scoring with
/// HjMl's kernels), the prediction chain up to the Hopf–Cole prediction transformer, and the explanation chain, which
/// by default appends a GibbsAttribution transformer re-created from that prediction transformer (the saved attribution
/// stage loads as OnnxTransformer, one ONNX Runtime run per row); with <see cref="ExplainWith.Saved"/> it is the loaded
/// pipeline as saved. Then both are warmed up on a row of default values, so a model that cannot score is never swapped in.
/// </summary>
internal static class ModelLoader
{
    /// <summary>The training record a model may have beside it: <c>&lt;model file&gt;.json</c>, written before the model.</summary>
    public static string TrainingRecordPath(string modelPath) => modelPath + ".json";

    /// <summary>Reads the file at <paramref name="path"/> and loads it as generation <paramref name="generation"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a saved ML.NET pipeline ending in a Hopf–Cole prediction, or cannot be served (the message says why).</exception>
    public static ServedModel Load(string path, ServiceOptions options, int generation)
    {
        long start = Stopwatch.GetTimestamp();
        var file = new FileInfo(path);
        byte[] bytes = File.ReadAllBytes(path);
        string version = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        var context = new MLContext(seed: 1);
        ITransformer loaded;
        DataViewSchema inputSchema;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            loaded = context.Model.LoadWithHopfCole(stream, out inputSchema);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is not a saved ML.NET pipeline HjMl can load: {exception.Message}", exception);
        }

        try
        {
            ServedModel model = Build(context, loaded, inputSchema, options, path, version, bytes.Length, file.LastWriteTimeUtc, start, generation);
            WarmUp(model);
            return model;
        }
        catch
        {
            (loaded as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> still holds what <paramref name="identity"/> was loaded from (its content, not its time stamp).</summary>
    public static bool SameContent(string path, ModelIdentity identity)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return true;
        }

        if (file.Length == identity.Bytes && file.LastWriteTimeUtc == identity.LastWriteUtc)
        {
            return true;
        }

        return file.Length == identity.Bytes && Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..16] == identity.Version;
    }

    private static ServedModel Build(MLContext context, ITransformer loaded, DataViewSchema inputSchema, ServiceOptions options, string path, string version, long length, DateTime lastWrite, long start, int generation)
    {
        ITransformer[] stages = [.. Stages(loaded)];
        int last = Array.FindLastIndex(stages, stage => stage is HopfColePredictionTransformer);
        if (last < 0)
        {
            throw new InvalidDataException($"'{path}' holds no Hopf–Cole prediction (its scoring stages are {string.Join(", ", stages.Select(stage => stage.GetType().Name))}); the service serves pipelines with a HopfCole trainer.");
        }

        var prediction = (HopfColePredictionTransformer)stages[last];
        var predictChain = new TransformerChain<ITransformer>(stages[..(last + 1)]);
        DataViewSchema savedOutput = loaded.GetOutputSchema(inputSchema);
        int? savedTop = savedOutput.GetColumnOrNull(GibbsAttributionTransformer.TopSupportWeightsColumnName) is { Type: VectorDataViewType { IsKnownSize: true } weights } ? weights.Size : null;
        int top = options.TopSupportPoints ?? savedTop ?? Math.Min(GibbsAttributionEstimator.DefaultTopSupportPoints, prediction.Model.NumberOfSupportPoints);

        ITransformer explainChain;
        string explainedWith;
        if (options.ExplainWith == ExplainWith.Saved && savedTop is not null)
        {
            explainChain = loaded;
            explainedWith = "the saved attribution stage as loaded (OnnxTransformer, ONNX Runtime)";
        }
        else
        {
            // LoadWithHopfCole re-binds the model but keeps the attribution stage as its ONNX stages: explain in memory
            // with a GibbsAttribution transformer re-created from the re-bound prediction transformer.
            GibbsAttributionTransformer attribution = context.Transforms.GibbsAttribution(prediction, top)
                .Fit(new SchemaOnlyDataView(predictChain.GetOutputSchema(inputSchema)));
            explainChain = new TransformerChain<ITransformer>([.. stages[..(last + 1)], attribution]);
            explainedWith = options.ExplainWith == ExplainWith.Saved
                ? "GibbsAttribution re-created from the loaded HopfColePredictionTransformer (native; the pipeline was saved without an attribution stage)"
                : "GibbsAttribution re-created from the loaded HopfColePredictionTransformer (native)";
        }

        IEnumerable<DataViewSchema.Column> read = Dependencies(predictChain, inputSchema).Concat(Dependencies(explainChain, inputSchema));
        var columns = new RequestColumns(inputSchema, read);
        JsonElement? training = TrainingRecord(path);
        var identity = new ModelIdentity(Path.GetFullPath(path), version, length, lastWrite, DateTimeOffset.UtcNow, Stopwatch.GetElapsedTime(start).TotalMilliseconds, generation);
        return new ServedModel(identity, loaded, prediction, predictChain, explainChain, explainedWith, columns, training, options.EnginesPerPool);
    }

    // The stages that score, nested chains flattened (a stage scoped to training only is left out, as ML.NET's own scoring does).
    private static IEnumerable<ITransformer> Stages(ITransformer transformer)
        => transformer is TransformerChain<ITransformer> chain
            ? chain.GetModelFor(TransformerScope.Scoring).SelectMany(Stages)
            : [transformer];

    private static IEnumerable<DataViewSchema.Column> Dependencies(ITransformer chain, DataViewSchema inputSchema)
    {
        IRowToRowMapper mapper = chain.GetRowToRowMapper(inputSchema);
        string[] names = ["PredictedLabel", "Score", "Probability", .. AttributionColumns];
        DataViewSchema.Column[] outputs = [.. names.Select(mapper.OutputSchema.GetColumnOrNull).OfType<DataViewSchema.Column>()];
        return [.. mapper.GetDependencies(outputs)];
    }

    private static string[] AttributionColumns =>
    [
        GibbsAttributionTransformer.TopSupportWeightsColumnName, GibbsAttributionTransformer.TopSupportRowsColumnName,
        GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName,
        GibbsAttributionTransformer.ExplainedScoreColumnName, GibbsAttributionTransformer.ScoreTermsColumnName,
        GibbsAttributionTransformer.CertifiedRadiusColumnName, GibbsAttributionTransformer.OutOfSupportScoreColumnName,
        GibbsAttributionTransformer.OutOfSupportColumnName,
    ];

    private static JsonElement? TrainingRecord(string path)
    {
        string record = TrainingRecordPath(path);
        if (!File.Exists(record))
        {
            return null;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(record));
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // One row of default values (0, "", false) through both pools: the pipeline builds its mappers now, and a model that
    // cannot score fails here rather than on the first request.
    private static void WarmUp(ServedModel model)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            foreach (RequestColumn column in model.Columns.Required)
            {
                writer.WritePropertyName(column.Name);
                switch (column.Kind)
                {
                    case ValueKind.Text:
                        writer.WriteStringValue(string.Empty);
                        break;
                    case ValueKind.Boolean:
                        writer.WriteBooleanValue(false);
                        break;
                    case ValueKind.SingleVector or ValueKind.DoubleVector:
                        writer.WriteStartArray();
                        for (int i = 0; i < column.Size; i++)
                        {
                            writer.WriteNumberValue(0);
                        }

                        writer.WriteEndArray();
                        break;
                    default:
                        writer.WriteNumberValue(0);
                        break;
                }
            }

            writer.WriteEndObject();
        }

        foreach (var pool in new[] { model.Predictors, model.Explainers })
        {
            ScoringEngine engine = pool.Get();
            try
            {
                engine.Run(new ReadOnlySequence<byte>(json.WrittenMemory), maximumRows: 1);
            }
            catch (RequestException exception)
            {
                throw new InvalidDataException($"The model cannot score a row of default values: {exception.Message}", exception);
            }
            finally
            {
                pool.Return(engine);
            }
        }

    }
}
