using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HjMl.Kernels;

/// <summary>
/// Pinned arrays used from their first 64-byte cache line, for buffers the kernels load and store whole vectors
/// through: with 512-bit vectors an unaligned buffer splits every access across two lines
/// (docs/performance/kernels.md).
/// </summary>
internal static class AlignedBuffer<T>
    where T : unmanaged
{
    private const int CacheLine = 64;

    /// <summary>Elements to allocate beyond a length so that an aligned start always fits; also the elements of one cache line.</summary>
    public static unsafe int Padding => CacheLine / sizeof(T);

    /// <summary>A zeroed pinned array with room for <paramref name="length"/> elements from its aligned start.</summary>
    public static T[] Allocate(int length) => GC.AllocateArray<T>(length + Padding, pinned: true);

    /// <summary>
    /// A zeroed pinned array with room for <paramref name="length"/> elements from <paramref name="aligned"/>, its first
    /// cache line; the array is returned only to be kept alive (it never moves).
    /// </summary>
    public static unsafe T[] Allocate(int length, out T* aligned)
    {
        T[] storage = Allocate(length);
        aligned = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(storage)) + Offset(storage);
        return storage;
    }

    /// <summary>The index in a pinned array at which a cache line starts.</summary>
    public static unsafe int Offset(T[] pinned)
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (int)((CacheLine - (address & (CacheLine - 1))) & (CacheLine - 1)) / sizeof(T);
    }

    /// <summary><paramref name="length"/> rounded up to whole cache lines, which hold whole vectors of every width.</summary>
    public static int WholeLines(int length) => (length + Padding - 1) / Padding * Padding;

    /// <summary>
    /// <paramref name="length"/> elements from a cache line of <paramref name="buffer"/>, which is (re)allocated when
    /// too short: per-thread scratch, where <paramref name="buffer"/> is a [ThreadStatic] field of the type that uses it,
    /// so that single-row work allocates nothing after a thread's first call while the type stays immutable and shareable.
    /// </summary>
    public static Span<T> Rent(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length + Padding)
        {
            buffer = Allocate(Math.Max(length, 64));
        }

        return buffer.AsSpan(Offset(buffer), length);
    }
}
