using HjMl.Kernels;

namespace HjMl.Numerics;

/// <summary>
/// A per-thread reusable buffer, so that single-row scoring allocates nothing after the first call on a thread
/// while models stay immutable and safe to share across threads.
/// </summary>
internal static class ScratchBuffer<T>
    where T : unmanaged
{
    [ThreadStatic]
    private static T[]? first;

    [ThreadStatic]
    private static T[]? second;

    [ThreadStatic]
    private static T[]? input;

    [ThreadStatic]
    private static T[]? sums;

    [ThreadStatic]
    private static T[]? expectation;

    [ThreadStatic]
    private static T[]? tileInputs;

    [ThreadStatic]
    private static T[]? tileLogits;

    [ThreadStatic]
    private static T[]? tileScores;

    /// <summary>A buffer of at least <paramref name="length"/> elements, owned by the calling thread until its next call.</summary>
    public static Span<T> First(int length) => Rent(ref first, length);

    /// <summary>A second buffer, distinct from <see cref="First"/>.</summary>
    public static Span<T> Second(int length) => Rent(ref second, length);

    /// <summary>A buffer for a transformed input row (e.g. standardised features), distinct from the other two.</summary>
    public static Span<T> Input(int length) => Rent(ref input, length);

    /// <summary>Single-row scoring's per-head sums of exponentials, distinct from the other single-row buffers.</summary>
    public static Span<T> Sums(int length) => Rent(ref sums, length);

    /// <summary>E_pi[w] padded to whole vectors, for a caller whose destination has no room for the padding.</summary>
    public static Span<T> Expectation(int length) => Rent(ref expectation, length);

    /// <summary>
    /// Batch scoring's buffers for one tile of rows (transformed inputs, logits, head scores), distinct from the
    /// single-row buffers so that a batch can run on a thread that holds those.
    /// </summary>
    public static Span<T> TileInputs(int length) => Rent(ref tileInputs, length);

    /// <inheritdoc cref="TileInputs"/>
    public static Span<T> TileLogits(int length) => Rent(ref tileLogits, length);

    /// <inheritdoc cref="TileInputs"/>
    public static Span<T> TileScores(int length) => Rent(ref tileScores, length);

    // Pinned and used from a cache-line boundary (see AlignedBuffer): the kernels load and store whole vectors here.
    private static Span<T> Rent(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length + AlignedBuffer<T>.Padding)
        {
            buffer = AlignedBuffer<T>.Allocate(Math.Max(length, 64));
        }

        return buffer.AsSpan(AlignedBuffer<T>.Offset(buffer), length);
    }
}

/// <summary>
/// Batch scoring's tile buffers for the scheduler's worker threads, one set per worker index. The calling thread sizes
/// them, under the scheduler's lock, before a batch starts (<see cref="Reserve"/>), so a worker never allocates
/// and no allocation depends on which threads happen to take part in a batch.
/// </summary>
internal static class WorkerBuffers<T>
    where T : unmanaged
{
    private static T[]?[] inputs = [];
    private static T[]?[] logits = [];
    private static T[]?[] scores = [];

    /// <summary>Makes the buffers of workers 0..<paramref name="workers"/> - 1 at least these long (only under the scheduler's lock).</summary>
    public static void Reserve(int workers, int inputLength, int logitLength, int scoreLength)
    {
        if (inputs.Length < workers)
        {
            Array.Resize(ref inputs, workers);
            Array.Resize(ref logits, workers);
            Array.Resize(ref scores, workers);
        }

        for (int worker = 0; worker < workers; worker++)
        {
            Grow(ref inputs[worker], inputLength);
            Grow(ref logits[worker], logitLength);
            Grow(ref scores[worker], scoreLength);
        }
    }

    /// <summary>Worker <paramref name="worker"/>'s transformed inputs.</summary>
    public static Span<T> TileInputs(int worker, int length) => inputs[worker].AsSpan(0, length);

    /// <summary>Worker <paramref name="worker"/>'s logits.</summary>
    public static Span<T> TileLogits(int worker, int length) => logits[worker].AsSpan(0, length);

    /// <summary>Worker <paramref name="worker"/>'s head scores.</summary>
    public static Span<T> TileScores(int worker, int length) => scores[worker].AsSpan(0, length);

    private static void Grow(ref T[]? buffer, int length)
    {
        if (length > 0 && (buffer is null || buffer.Length < length))
        {
            buffer = new T[length];
        }
    }
}
