using System.Text.Json;
using HjMl.MLNet.Prediction;
using HjMl.Onnx;
using HjMl.Service.Scoring;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace HjMl.Service.Models;

/// <summary>
/// One loaded model as the service serves it: the pipeline (prediction and explanation chains), the request columns,
/// what a response reports, a pool of scoring engines for each endpoint, and what <c>GET /model</c> tells. Requests hold a
/// lease on it (<see cref="TryAcquire"/>, <see cref="Release"/>); after a hot reload swaps it out, it is disposed when its
/// last lease ends, so no request ever finds its engines gone.
/// </summary>
internal sealed class ServedModel
{
    private readonly ITransformer loaded;
    private readonly IDisposable[] pools;
    private int references = 1;

    public ServedModel(ModelIdentity identity, ITransformer loaded, HopfColePredictionTransformer prediction, ITransformer predictChain, ITransformer explainChain, string explainedWith, RequestColumns columns, JsonElement? training, int enginesPerPool)
    {
        Identity = identity;
        this.loaded = loaded;
        Prediction = prediction;
        ExplainedWith = explainedWith;
        Columns = columns;
        Training = training;
        PredictLayout = new OutputLayout(predictChain.GetOutputSchema(columns.InputSchema), explain: false);
        ExplainLayout = new OutputLayout(explainChain.GetOutputSchema(columns.InputSchema), explain: true);
        var provider = new DefaultObjectPoolProvider { MaximumRetained = enginesPerPool };
        Predictors = provider.Create(new EnginePolicy(predictChain, columns, PredictLayout));
        Explainers = provider.Create(new EnginePolicy(explainChain, columns, ExplainLayout));
        pools = [.. new object[] { Predictors, Explainers }.OfType<IDisposable>()];
        Onnx = new Lazy<byte[]>(() => OnnxExport.ToBytes(prediction.Model.Model, OnnxOptions));
    }

    /// <summary>
    /// The model's ONNX graph (HjMl's <c>OnnxExport</c>: features [N, d] after the pipeline's featurisers, N dynamic), with
    /// the explanation outputs for a single layer and k = <see cref="OutputLayout.TopSupportPoints"/>; built on first use.
    /// </summary>
    public Lazy<byte[]> Onnx { get; }

    /// <summary>The export options of <see cref="Onnx"/>.</summary>
    public OnnxExportOptions OnnxOptions => new() { IncludeExplanations = Prediction.Model.Model.Depth == 0, TopSupportPoints = ExplainLayout.TopSupportPoints };

    /// <summary>Which file, which content, loaded when.</summary>
    public ModelIdentity Identity { get; }

    /// <summary>The re-bound Hopf–Cole prediction transformer: the model, its eps, depth and width.</summary>
    public HopfColePredictionTransformer Prediction { get; }

    /// <summary>How <c>/explain</c> computes explanations, in words.</summary>
    public string ExplainedWith { get; }

    /// <summary>The columns a request gives.</summary>
    public RequestColumns Columns { get; }

    /// <summary>What the training run recorded beside the model (its metrics), if it did.</summary>
    public JsonElement? Training { get; }

    /// <summary>What a <c>/predict</c> row reports.</summary>
    public OutputLayout PredictLayout { get; }

    /// <summary>What an <c>/explain</c> row reports.</summary>
    public OutputLayout ExplainLayout { get; }

    /// <summary>Engines scoring the prediction chain.</summary>
    public ObjectPool<ScoringEngine> Predictors { get; }

    /// <summary>Engines scoring the prediction chain and the attribution.</summary>
    public ObjectPool<ScoringEngine> Explainers { get; }

    /// <summary>Takes a lease; false once the model has been retired and its last lease ended (take the current one again).</summary>
    public bool TryAcquire()
    {
        int count = Volatile.Read(ref references);
        while (count > 0)
        {
            int seen = Interlocked.CompareExchange(ref references, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    /// <summary>Ends a lease (or, once, the host's own reference when the model is retired); the last one disposes the model.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref references) == 0)
        {
            foreach (IDisposable pool in pools)
            {
                pool.Dispose();
            }

            (loaded as IDisposable)?.Dispose();
        }
    }

    private sealed class EnginePolicy(ITransformer pipeline, RequestColumns columns, OutputLayout layout) : PooledObjectPolicy<ScoringEngine>
    {
        public override ScoringEngine Create() => new(pipeline, columns, layout);

        public override bool Return(ScoringEngine obj) => true;
    }
}

/// <summary>Which model file was loaded, with which content (the SHA-256 of its bytes), when, and as which generation.</summary>
/// <param name="Path">The model file.</param>
/// <param name="Version">The first 16 hex digits of the file's SHA-256.</param>
/// <param name="Bytes">The file's length.</param>
/// <param name="LastWriteUtc">The file's last write time when it was read.</param>
/// <param name="LoadedAt">When loading finished.</param>
/// <param name="LoadMilliseconds">How long loading took, warm-up included.</param>
/// <param name="Generation">1 for the model loaded at start, one more per reload.</param>
internal sealed record ModelIdentity(string Path, string Version, long Bytes, DateTime LastWriteUtc, DateTimeOffset LoadedAt, double LoadMilliseconds, int Generation);
