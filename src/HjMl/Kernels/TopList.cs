using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>The largest Gibbs weights of a head, largest first (ties: the lower piece first), for an explanation's top list.</summary>
internal static class TopList
{
    /// <summary>
    /// The <c>magnitudes.Length</c> largest of <paramref name="weights"/>[<paramref name="first"/>..<paramref name="end"/>)
    /// into <paramref name="magnitudes"/> and their indices into <paramref name="indices"/>, largest first, ties by lower
    /// index; returns how many were found (fewer only when the range is shorter). Whole vectors may be read past
    /// <paramref name="end"/>: the buffer must continue for one vector of slack.
    /// </summary>
    public static int Select(ReadOnlySpan<double> weights, int first, int end, double[] magnitudes, int[] indices)
    {
        // Heads of one vector or less, and 65,536 pieces or more (whose keys would lose more than 16 bits), keep the scan.
        if (Vector512.IsHardwareAccelerated && magnitudes.Length <= 8 && end - first > Vector512<double>.Count && end - first < 1 << 16)
        {
            SelectLargest(weights, first, end, magnitudes, indices);
            return magnitudes.Length;
        }

        int filled = 0;
        double floor = double.NegativeInfinity;
        for (int piece = first; piece < end; piece++)
        {
            floor = Insert(weights[piece], piece, floor, magnitudes, indices, ref filled);
        }

        return filled;
    }

    // The k <= 8 largest of weights[first..end) into magnitudes and indices, largest first, ties by lower piece, with no
    // data-dependent branch, so that its cost does not depend on branch prediction (docs/performance/kernels.md). Each
    // weight becomes one 64-bit key: its bits (a non-negative double orders as an unsigned integer) with the lowest b bits
    // replaced by (2^b - 1 - piece), so that keys are distinct and, of equal weights, the lower piece has the larger key.
    // Each of the 8 lanes keeps its 4 (for lists of 5 to 8: 8) largest keys, sorted, through a max/min chain per vector
    // of pieces; then k times the largest lane head is found (halves, quarters, neighbours) and its lane moves up. The
    // price of the key: weights that agree in all but their last b bits count as tied (2^b > N: a relative 2^(b - 52),
    // 2^-46 (64 ulps) at N = 32, 2^-41 at N = 1024; equal weights are the case that matters, near-equal ones of no
    // interest to a reader of the list). Lanes at or past end get key 0, below every piece's (they may read the next head
    // or the buffer's slack); the reported weights are read back exactly.
    private static void SelectLargest(ReadOnlySpan<double> weights, int first, int end, double[] magnitudes, int[] indices)
    {
        ref double start = ref MemoryMarshal.GetReference(weights);
        int count = end - first;
        int bits = 32 - BitOperations.LeadingZeroCount((uint)count);
        ulong low = (1UL << bits) - 1;
        Vector512<ulong> high = Vector512.Create(~low);
        Vector512<ulong> order = Vector512.Create(low) - Vector512<ulong>.Indices;
        // Lists of up to 4 keep 4 keys per lane, longer ones 8 (a loop-invariant branch).
        bool wide = magnitudes.Length > 4;
        Vector512<ulong> key0 = Vector512<ulong>.Zero, key1 = key0, key2 = key0, key3 = key0, key4 = key0, key5 = key0, key6 = key0, key7 = key0;
        for (int at = 0; at < count; at += Vector512<ulong>.Count)
        {
            Vector512<ulong> value = Vector512.LoadUnsafe(ref start, (nuint)(first + at)).AsUInt64();
            Vector512<ulong> key = (value & high) | (order - Vector512.Create((ulong)at));
            if (at > count - Vector512<ulong>.Count)
            {
                key &= Vector512.LessThan(Vector512<ulong>.Indices, Vector512.Create((ulong)(count - at)));
            }

            KeepLarger(ref key0, ref key);
            KeepLarger(ref key1, ref key);
            KeepLarger(ref key2, ref key);
            if (wide)
            {
                KeepLarger(ref key3, ref key);
                KeepLarger(ref key4, ref key);
                KeepLarger(ref key5, ref key);
                KeepLarger(ref key6, ref key);
                key7 = Vector512.Max(key7, key);
            }
            else
            {
                key3 = Vector512.Max(key3, key);
            }
        }

        for (int rank = 0; rank < magnitudes.Length; rank++)
        {
            Vector512<ulong> best = Vector512.Max(key0, Vector512.Shuffle(key0, Vector512.Create(4UL, 5, 6, 7, 0, 1, 2, 3)));
            best = Vector512.Max(best, Vector512.Shuffle(best, Vector512.Create(2UL, 3, 0, 1, 6, 7, 4, 5)));
            best = Vector512.Max(best, Vector512.Shuffle(best, Vector512.Create(1UL, 0, 3, 2, 5, 4, 7, 6)));
            int piece = first + (int)(low - (best.ToScalar() & low));
            indices[rank] = piece;
            magnitudes[rank] = Unsafe.Add(ref start, piece);
            Vector512<ulong> lane = Vector512.Equals(key0, best);
            key0 = Vector512.ConditionalSelect(lane, key1, key0);
            key1 = Vector512.ConditionalSelect(lane, key2, key1);
            key2 = Vector512.ConditionalSelect(lane, key3, key2);
            key3 = Vector512.ConditionalSelect(lane, key4, key3);
            if (wide)
            {
                key4 = Vector512.ConditionalSelect(lane, key5, key4);
                key5 = Vector512.ConditionalSelect(lane, key6, key5);
                key6 = Vector512.ConditionalSelect(lane, key7, key6);
                key7 = Vector512.ConditionalSelect(lane, Vector512<ulong>.Zero, key7);
            }
        }
    }

    // Keeps the larger key in the slot and passes the smaller on.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepLarger(ref Vector512<ulong> slot, ref Vector512<ulong> key)
    {
        Vector512<ulong> larger = Vector512.Max(slot, key);
        key = Vector512.Min(slot, key);
        slot = larger;
    }

    // One piece into a top list kept largest first (ties: the earlier piece first); returns the new floor, the weight
    // a piece must exceed to enter (-infinity until the list is full). Once the list is full, a piece no larger than its
    // smallest entry is rejected with one comparison, so the scan costs little more than reading the weights.
    private static double Insert(double magnitude, int piece, double floor, double[] magnitudes, int[] indices, ref int filled)
    {
        if (magnitude <= floor)
        {
            return floor;
        }

        int capacity = magnitudes.Length;
        int position = filled < capacity ? filled++ : capacity - 1;
        while (position > 0 && magnitudes[position - 1] < magnitude)
        {
            magnitudes[position] = magnitudes[position - 1];
            indices[position] = indices[position - 1];
            position--;
        }

        magnitudes[position] = magnitude;
        indices[position] = piece;
        return filled == capacity ? magnitudes[capacity - 1] : double.NegativeInfinity;
    }
}
