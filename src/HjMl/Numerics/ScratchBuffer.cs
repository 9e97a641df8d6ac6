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

    /// <summary>
    /// Batch scoring's buffers for one tile of rows (transformed inputs, logits, head scores), distinct from the
    /// single-row buffers so that a batch can run on a thread that holds those.
    /// </summary>
    public static Span<T> TileInputs(int length) => Rent(ref tileInputs, length);

    /// <inheritdoc cref="TileInputs"/>
    public static Span<T> TileLogits(int length) => Rent(ref tileLogits, length);

    /// <inheritdoc cref="TileInputs"/>
    public static Span<T> TileScores(int length) => Rent(ref tileScores, length);

    private static Span<T> Rent(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new T[Math.Max(length, 64)];
        }

        return buffer.AsSpan(0, length);
    }
}
