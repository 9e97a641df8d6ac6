using Microsoft.Extensions.Options;

namespace HjMl.Service.Models;

/// <summary>
/// Reloads the model when its file changes: a FileSystemWatcher on the file's folder wakes it at once (a save that
/// replaces the file, as <c>SaveAtomically</c> does, or rewrites it), a poll every
/// <see cref="ServiceOptions.ReloadPollMilliseconds"/> catches what the watcher misses (network and container file
/// systems), and a change is loaded once the file has stayed unchanged for <see cref="ServiceOptions.ReloadSettleMilliseconds"/>.
/// </summary>
internal sealed class ModelWatcher(ModelHost host, IOptions<ServiceOptions> options, ILogger<ModelWatcher> logger) : BackgroundService
{
    private readonly SemaphoreSlim changed = new(0);

    /// <summary>Watches until the service stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string folder = Path.GetDirectoryName(host.Path)!;
        using var watcher = new FileSystemWatcher(folder, Path.GetFileName(host.Path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => changed.Release();
        watcher.Created += (_, _) => changed.Release();
        watcher.Renamed += (_, _) => changed.Release();
        watcher.EnableRaisingEvents = true;
        Log.Watching(logger, host.Path, options.Value.ReloadPollMilliseconds);
        TimeSpan poll = TimeSpan.FromMilliseconds(Math.Max(10, options.Value.ReloadPollMilliseconds));
        TimeSpan settle = TimeSpan.FromMilliseconds(Math.Max(0, options.Value.ReloadSettleMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await changed.WaitAsync(poll, stoppingToken);
                await Settled(settle, stoppingToken);

                // Loading is CPU work: off the watcher's callbacks, on a pool thread, while requests go on.
                await Task.Run(host.Reload, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>Releases the wake-up signal.</summary>
    public override void Dispose()
    {
        changed.Dispose();
        base.Dispose();
    }

    // Waits until no change was signalled for a whole settle period (a file written in pieces fires many events).
    private async Task Settled(TimeSpan settle, CancellationToken stoppingToken)
    {
        while (await changed.WaitAsync(settle, stoppingToken))
        {
            while (changed.CurrentCount > 0 && changed.Wait(0, CancellationToken.None))
            {
            }
        }
    }
}
