namespace HjMl.Service;

/// <summary>How <c>/explain</c> computes explanations.</summary>
public enum ExplainWith
{
    /// <summary>
    /// A GibbsAttribution transformer re-created from the loaded HopfColePredictionTransformer: HjMl's fused kernels in
    /// double, the same numbers as in memory (the default; LoadWithHopfCole re-binds the model, not the attribution).
    /// </summary>
    Native,

    /// <summary>The saved pipeline's own attribution stage as loaded: OnnxTransformer running its graph, one row per run.</summary>
    Saved,
}

/// <summary>The service's settings: section <c>HjMl</c> of the configuration (appsettings.json, environment <c>HjMl__*</c>, command line).</summary>
public sealed class ServiceOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "HjMl";

    /// <summary>The saved ML.NET pipeline (zip) to serve; also <c>--model path</c>. Required.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The largest request body accepted, in bytes (413 beyond). Default 1 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>The most rows one request may send (413 beyond). Default 1,000.</summary>
    public int MaxBatchRows { get; set; } = 1000;

    /// <summary>Scoring engines each pool keeps between requests; 0 for 4 per core, at least 16.</summary>
    public int PooledEngines { get; set; }

    /// <summary>How <c>/explain</c> computes explanations (see <see cref="ExplainWith"/>). Default <see cref="ExplainWith.Native"/>.</summary>
    public ExplainWith ExplainWith { get; set; } = ExplainWith.Native;

    /// <summary>
    /// k, the support rows each explanation lists; null for what the saved attribution stage lists (its
    /// TopSupportWeights size), or min(5, support points per head) when the pipeline was saved without one.
    /// </summary>
    public int? TopSupportPoints { get; set; }

    /// <summary>How often the model file is checked for a change besides the file system's own notices, in milliseconds. Default 2,000.</summary>
    public int ReloadPollMilliseconds { get; set; } = 2000;

    /// <summary>How long the model file must stay unchanged before it is reloaded, in milliseconds. Default 250.</summary>
    public int ReloadSettleMilliseconds { get; set; } = 250;

    /// <summary>The pool size <see cref="PooledEngines"/> stands for.</summary>
    internal int EnginesPerPool => PooledEngines > 0 ? PooledEngines : Math.Max(16, 4 * Environment.ProcessorCount);
}
