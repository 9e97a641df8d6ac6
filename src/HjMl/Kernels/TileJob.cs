using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace HjMl.Kernels;

/// <summary>The work of one batch: tiles [0, count), each scored by <see cref="RunTile"/> on any worker.</summary>
internal abstract class TileJob
{
    /// <summary>
    /// Scores one tile; called exactly once per tile. <paramref name="worker"/> is -1 on the calling thread and the
    /// worker's index (0 to the number of workers - 1) on a scheduler thread, so that the job can pick that worker's
    /// buffers.
    /// </summary>
    public abstract void RunTile(int tile, int worker);

    /// <summary>Called under the scheduler's lock before workers 0..<paramref name="workers"/> - 1 join: size their buffers.</summary>
    public abstract void PrepareWorkers(int workers);

    /// <summary>
    /// Runs every tile and returns when all are done: on the calling thread and on the scoring workers (one per
    /// processor beyond the first), which claim tiles from a shared counter. Allocates nothing once the workers exist.
    /// One batch uses the workers at a time; a batch that finds them busy (another thread scoring) runs on its own
    /// thread alone. Rethrows the first exception a tile raised.
    /// </summary>
    public void Run(int tiles) => TileScheduler.Run(this, tiles);
}

/// <summary>
/// Dedicated background threads that score tiles alongside the calling thread. Parallel.For allocates on every call
/// and thread-pool threads come and go with their per-thread buffers; these threads live as long as the process, sleep
/// on a semaphore between batches, and keep their buffers.
/// </summary>
/// <remarks>
/// Claims go through one 64-bit word, generation (high half) and next tile (low half), by compare-and-swap. A worker
/// that wakes late reads the word, then the batch's fields, then claims: the claim succeeds only if the word is
/// unchanged, so the fields it read belong to the batch it claims from (a new batch first closes its generation, then
/// writes its fields, then opens it). The caller waits only for tiles in progress, never for a worker that has not woken yet.
/// </remarks>
internal static class TileScheduler
{
    // A next-tile value no batch reaches: a generation being set up.
    private const long Closed = int.MaxValue;

    private static readonly object Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly ManualResetEventSlim Finished = new(false);
    private static readonly int Workers = Environment.ProcessorCount - 1;

    // How long a worker spins for the next batch before it sleeps: 200 microseconds.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;
    private static bool started;
    private static long claims;
    private static int tiles;
    private static int completed;
    private static TileJob? current;
    private static Exception? failure;

    /// <summary>Runs <paramref name="job"/>'s tiles [0, <paramref name="count"/>) and returns when all are done.</summary>
    public static void Run(TileJob job, int count)
    {
        // Alone: one tile, one processor, a nested call, or the workers busy with another thread's batch.
        if (count == 1 || Workers == 0 || Monitor.IsEntered(Gate) || !Monitor.TryEnter(Gate))
        {
            for (int tile = 0; tile < count; tile++)
            {
                job.RunTile(tile, -1);
            }

            return;
        }

        try
        {
            Start();
            job.PrepareWorkers(Workers);

            // Close the new generation before touching the batch's fields, so that a late worker holding the previous
            // generation's word can no longer claim, and none can claim in this one until the fields are written.
            long generation = ((Volatile.Read(ref claims) >> 32) + 1) << 32;
            Volatile.Write(ref claims, generation | Closed);
            current = job;
            tiles = count;
            completed = 0;
            failure = null;
            Volatile.Write(ref claims, generation);
            Wake.Release(Math.Min(Workers, count - 1));
            Work(-1);
            while (Volatile.Read(ref completed) < count)
            {
                // A late Set from an earlier batch only wakes this loop early; it checks again.
                Finished.Wait();
                Finished.Reset();
            }

            Exception? problem = failure;
            current = null;
            if (problem is not null)
            {
                ExceptionDispatchInfo.Throw(problem);
            }
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void Start()
    {
        if (started)
        {
            return;
        }

        for (int worker = 0; worker < Workers; worker++)
        {
            int index = worker;
            new Thread(() => Loop(index)) { IsBackground = true, Name = $"HjMl scoring {worker + 1}" }.Start();
        }

        started = true;
    }

    private static void Loop(int worker)
    {
        while (true)
        {
            // Spin before sleeping: a training iteration's next batch follows within microseconds, and a worker woken
            // from sleep often arrives after the caller has done the whole batch alone.
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            while (Wake.CurrentCount == 0 && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(20);
            }

            Wake.Wait();
            Work(worker);
        }
    }

    // Claims and scores tiles until none is left in the current batch; worker -1 is the calling thread.
    private static void Work(int worker)
    {
        while (true)
        {
            long state = Volatile.Read(ref claims);
            TileJob? job = Volatile.Read(ref current);
            int total = Volatile.Read(ref tiles);
            int tile = (int)(state & uint.MaxValue);
            if (job is null || tile >= total)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref claims, state + 1, state) != state)
            {
                continue;
            }

            try
            {
                job.RunTile(tile, worker);
            }
            catch (Exception problem)
            {
                Interlocked.CompareExchange(ref failure, problem, null);
            }

            if (Interlocked.Increment(ref completed) == total)
            {
                Finished.Set();
            }
        }
    }
}
