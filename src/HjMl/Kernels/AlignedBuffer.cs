using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HjMl.Kernels;

/// <summary>
/// Where a pinned array's first 64-byte cache line starts, so that buffers the kernels load and store whole vectors
/// through can start on one: with 512-bit vectors an unaligned buffer splits every access across two lines, and
/// single-row scoring then varied by 10-20% from one process to the next with where its buffers happened to fall.
/// </summary>
internal static class AlignedBuffer<T>
    where T : unmanaged
{
    private const int CacheLine = 64;

    /// <summary>Elements to allocate beyond a length so that an aligned start always fits.</summary>
    public static unsafe int Padding => CacheLine / sizeof(T);

    /// <summary>A zeroed pinned array with room for <paramref name="length"/> elements from its aligned start.</summary>
    public static T[] Allocate(int length) => GC.AllocateArray<T>(length + Padding, pinned: true);

    /// <summary>The index in a pinned array at which a cache line starts.</summary>
    public static unsafe int Offset(T[] pinned)
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (int)((CacheLine - (address & (CacheLine - 1))) & (CacheLine - 1)) / sizeof(T);
    }
}
