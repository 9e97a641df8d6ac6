using System.Reflection;
using HjMl.Service.Models;
using HjMl.Service.Scoring;
using Microsoft.ML;

namespace HjMl.Service.Endpoints;

/// <summary>
/// <c>GET /health</c>, <c>GET /model</c> and <c>GET /model/onnx</c>: whether the service serves (the model version, the
/// last reload failure, the process's memory and collections per GC generation), what it serves, and the served model's
/// ONNX graph for scaling out.
/// </summary>
internal static class ModelEndpoints
{
    /// <summary>Maps the two routes.</summary>
    public static void Map(WebApplication app)
    {
        ModelHost host = app.Services.GetRequiredService<ModelHost>();
        app.MapGet("/health", () => Health(host));
        app.MapGet("/model", () => Describe(host));
        app.MapGet("/model/onnx", () => Onnx(host));
    }

    private static IResult Health(ModelHost host)
    {
        ModelIdentity identity = host.Current.Identity;
        return Results.Ok(new
        {
            status = host.LastReloadError is null ? "serving" : "serving; the last reload failed",
            model = identity.Version,
            generation = identity.Generation,
            loadedAt = identity.LoadedAt,
            lastReloadError = host.LastReloadError is { } error ? new { at = error.At, error = error.Error } : null,
            process = new
            {
                workingSetMegabytes = Math.Round(Environment.WorkingSet / 1048576.0, 1),
                managedHeapMegabytes = Math.Round(GC.GetTotalMemory(forceFullCollection: false) / 1048576.0, 1),
                collections = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
            },
        });
    }

    private static IResult Describe(ModelHost host)
    {
        ServedModel model = host.Current;
        var parameters = model.Prediction.Model;
        ModelIdentity identity = model.Identity;
        return Results.Ok(new
        {
            version = identity.Version,
            generation = identity.Generation,
            path = identity.Path,
            bytes = identity.Bytes,
            loadedAt = identity.LoadedAt,
            loadMilliseconds = Math.Round(identity.LoadMilliseconds, 1),
            task = model.Prediction.Kind.ToString(),
            viscosity = parameters.Viscosity,
            depth = parameters.Model.Depth,
            supportPointsPerHead = parameters.NumberOfSupportPoints,
            heads = parameters.NumberOfHeads,
            features = parameters.Model.InputDimension,
            trainingRows = parameters.NumberOfTrainingRows,
            explainedWith = model.ExplainedWith,
            topSupportPoints = model.ExplainLayout.TopSupportPoints,
            input = model.Columns.All.Select(column => new
            {
                name = column.Name,
                type = model.Columns.InputSchema[column.SchemaIndex].Type.ToString(),
                json = column.Expected,
                required = column.Read,
            }),
            predictOutput = Names(model.PredictLayout),
            explainOutput = Names(model.ExplainLayout),
            training = model.Training,
            software = new
            {
                hjml = Version(typeof(HjMl.MLNet.HopfColeCatalog).Assembly),
                mlnet = Version(typeof(MLContext).Assembly),
                runtime = Environment.Version.ToString(),
            },
        });
    }

    // The graph to scale out with (docs/service.md): ONNX Runtime, Triton or SynapseML score it in batches of any size.
    private static IResult Onnx(ModelHost host)
    {
        ServedModel model = host.Current;
        return Results.File(model.Onnx.Value, "application/octet-stream", $"hjml-{model.Identity.Version}.onnx");
    }

    private static string[] Names(OutputLayout layout) => [.. layout.Active.Select(column => column.Name)];

    private static string Version(Assembly assembly)
        => assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";
}
