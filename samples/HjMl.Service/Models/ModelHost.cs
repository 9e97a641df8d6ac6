using Microsoft.Extensions.Options;

namespace HjMl.Service.Models;

/// <summary>
/// Holds the model being served and swaps in a new one atomically: a request takes a lease on whichever model is
/// current when it starts and keeps it to the end, a reload loads and warms the new model beside the old one, swaps the
/// reference, and the old model is disposed when its last lease ends. A reload that fails leaves the old model serving.
/// </summary>
internal sealed class ModelHost : IDisposable
{
    private readonly ServiceOptions options;
    private readonly ILogger<ModelHost> logger;
    private readonly Lock reloading = new();
    private ServedModel current;

    /// <summary>Loads the model of <see cref="ServiceOptions.ModelPath"/>; the service does not start without it.</summary>
    /// <exception cref="InvalidOperationException">No model path is configured.</exception>
    /// <exception cref="InvalidDataException">The file cannot be served (the message says why).</exception>
    public ModelHost(IOptions<ServiceOptions> options, ILogger<ModelHost> logger)
    {
        this.options = options.Value;
        this.logger = logger;
        Path = this.options.ModelPath is { Length: > 0 } path
            ? System.IO.Path.GetFullPath(path)
            : throw new InvalidOperationException("No model to serve: set HjMl:ModelPath (appsettings.json, the environment variable HjMl__ModelPath) or pass --model path/to/model.zip.");
        current = ModelLoader.Load(Path, this.options, generation: 1);
        Log.ModelLoaded(logger, current.Identity.Path, current.Identity.Version, current.Identity.Generation, current.Prediction.Kind, current.Prediction.Model.Viscosity, current.Prediction.Model.Model.Depth, current.ExplainedWith, current.Identity.LoadMilliseconds);
    }

    /// <summary>The model file watched.</summary>
    public string Path { get; }

    /// <summary>The model new requests get.</summary>
    public ServedModel Current => Volatile.Read(ref current);

    /// <summary>When the last reload failed and why, or null if none has failed since the last success.</summary>
    public (DateTimeOffset At, string Error)? LastReloadError { get; private set; }

    /// <summary>A lease on the current model, held for one request.</summary>
    public ModelLease Acquire()
    {
        while (true)
        {
            ServedModel model = Volatile.Read(ref current);
            if (model.TryAcquire())
            {
                return new ModelLease(model);
            }
        }
    }

    /// <summary>
    /// Loads the model file again if its content changed and swaps it in; returns whether a new model is serving. A file
    /// that cannot be loaded is logged and left: the old model keeps serving.
    /// </summary>
    public bool Reload()
    {
        lock (reloading)
        {
            ServedModel old = Current;
            if (ModelLoader.SameContent(Path, old.Identity))
            {
                return false;
            }

            ServedModel next;
            try
            {
                next = ModelLoader.Load(Path, options, old.Identity.Generation + 1);
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                LastReloadError = (DateTimeOffset.UtcNow, exception.Message);
                Log.ReloadFailed(logger, Path, old.Identity.Version, exception.Message);
                return false;
            }

            if (next.Identity.Version == old.Identity.Version)
            {
                next.Release();
                return false;
            }

            Volatile.Write(ref current, next);
            old.Release();
            LastReloadError = null;
            Log.ModelReloaded(logger, next.Identity.Path, old.Identity.Version, next.Identity.Version, next.Identity.Generation, next.Identity.LoadMilliseconds);
            return true;
        }
    }

    /// <summary>Retires the current model (disposed once its last request ends).</summary>
    public void Dispose() => Current.Release();
}

/// <summary>A request's hold on one served model; disposing it ends the hold.</summary>
internal readonly struct ModelLease(ServedModel model) : IDisposable
{
    /// <summary>The model the request is served by.</summary>
    public ServedModel Model { get; } = model;

    public void Dispose() => Model.Release();
}
