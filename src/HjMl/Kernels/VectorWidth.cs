namespace HjMl.Kernels;

/// <summary>The hardware vector width a <see cref="LseKernel{T}"/> runs on.</summary>
internal enum VectorWidth
{
    /// <summary>128-bit vectors (SSE, NEON, or software).</summary>
    Bits128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Bits256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Bits512,
}
