namespace HjMl.Service;

/// <summary>The service's structured log events (JSON on the console by default; see appsettings.json).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Serving {ModelPath}, version {ModelVersion} (generation {Generation}): {Task}, eps {Viscosity}, depth {Depth}; explaining with {ExplainedWith}; loaded in {LoadMilliseconds:F0} ms")]
    public static partial void ModelLoaded(ILogger logger, string modelPath, string modelVersion, int generation, HjMl.Models.ModelKind task, double viscosity, int depth, string explainedWith, double loadMilliseconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Reloaded {ModelPath}: version {PreviousVersion} -> {ModelVersion} (generation {Generation}), loaded in {LoadMilliseconds:F0} ms; requests in flight finish on the previous model")]
    public static partial void ModelReloaded(ILogger logger, string modelPath, string previousVersion, string modelVersion, int generation, double loadMilliseconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Could not reload {ModelPath}; version {ModelVersion} keeps serving: {Reason}")]
    public static partial void ReloadFailed(ILogger logger, string modelPath, string modelVersion, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Watching {ModelPath} for changes (and polling every {PollMilliseconds} ms)")]
    public static partial void Watching(ILogger logger, string modelPath, int pollMilliseconds);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Refused {Method} {Path} with {Status}: {Detail} (field {Field}, row {Row})")]
    public static partial void RequestRefused(ILogger logger, string method, PathString path, int status, string detail, string? field, int? row);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "{Path}: {Rows} rows scored by model {ModelVersion} in {Microseconds:F0} µs")]
    public static partial void RequestScored(ILogger logger, PathString path, int rows, string modelVersion, double microseconds);
}
