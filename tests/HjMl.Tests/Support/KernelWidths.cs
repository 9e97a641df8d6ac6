using HjMl.Kernels;

namespace HjMl.Tests.Support;

/// <summary>
/// The vector widths the kernels are tested at, in bits; a width the machine does not accelerate runs in software, still
/// exactly as specified.
/// </summary>
public static class KernelWidths
{
    /// <summary>512, 256 and 128.</summary>
    public static TheoryData<int> All => [512, 256, 128];

    /// <summary>The kernels' width for a number of bits.</summary>
    internal static VectorWidth Of(int bits) => bits switch
    {
        512 => VectorWidth.Bits512,
        256 => VectorWidth.Bits256,
        _ => VectorWidth.Bits128,
    };
}
