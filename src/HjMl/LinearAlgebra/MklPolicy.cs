using System.Runtime.InteropServices;

namespace HjMl.LinearAlgebra;

/// <summary>
/// What HjMl asks of Intel MKL, beside the CBLAS entry points <see cref="NativeBlasMatrixProduct"/> calls: the LP64
/// interface its 32-bit integer arguments need, conditional numerical reproducibility AUTO unless MKL_CBWR chose a
/// branch, and one thread for a product too small for MKL's own threads. MKL's other settings are left to its
/// environment variables (MKL_NUM_THREADS, MKL_THREADING_LAYER, ...).
/// </summary>
internal static unsafe class MklPolicy
{
    /// <summary>
    /// Products of at least this many multiply-adds (m·n·k; about 4 million, a millisecond of work) may use MKL's own
    /// threads; smaller ones run on the calling thread, because the engine already spreads rows over the cores.
    /// </summary>
    public const long ThreadedProductWork = 1L << 22;

    // MKL_Set_Interface_Layer's codes: bit 0 set means ILP64 (64-bit MKL_INT), which HjMl's int arguments would corrupt.
    private const int Lp64Interface = 0;
    private const int Ilp64InterfaceBit = 1;

    // MKL_CBWR_Get/Set (mkl_cbwr.h): the code-branch setting, its "none chosen" value, and AUTO reproducibility.
    private const int ReproducibilityBranch = 1;
    private const int NoReproducibilityBranch = 1;
    private const int AutomaticReproducibility = 2;

    /// <summary>
    /// Asks the MKL behind <paramref name="handle"/> for the LP64 interface; false if the layer in force stays ILP64
    /// (the environment or an earlier caller chose it), and then MKL must not be used.
    /// </summary>
    public static bool RequestLp64(nint handle)
    {
        // Libraries without the function (MklImports, a fixed LP64 build) are LP64.
        if (!NativeLibrary.TryGetExport(handle, "MKL_Set_Interface_Layer", out nint address))
        {
            return true;
        }

        int layer = ((delegate* unmanaged[Cdecl]<int, int>)address)(Lp64Interface);
        return layer >= 0 && (layer & Ilp64InterfaceBit) == 0;
    }

    /// <summary>
    /// Puts the MKL behind <paramref name="handle"/> in its reproducibility mode AUTO unless MKL_CBWR or an earlier
    /// caller chose a branch. By default MKL picks its kernels by the alignment of each operand, so the same product of
    /// the same numbers can round differently from one call to the next; training promises bit-identical models for a
    /// seed and thread count, and AUTO keeps the fastest code path for the processor while making results independent
    /// of alignment. A failure (MKL already computing) leaves MKL as it is.
    /// </summary>
    public static void RequestReproducibility(nint handle)
    {
        if (NativeLibrary.TryGetExport(handle, "MKL_CBWR_Get", out nint get)
            && NativeLibrary.TryGetExport(handle, "MKL_CBWR_Set", out nint set)
            && ((delegate* unmanaged[Cdecl]<int, int>)get)(ReproducibilityBranch) == NoReproducibilityBranch)
        {
            _ = ((delegate* unmanaged[Cdecl]<int, int>)set)(AutomaticReproducibility);
        }
    }

    /// <summary>MKL_Set_Num_Threads_Local (the calling thread's thread count for MKL, returning the previous one), or 0 if this MKL lacks it.</summary>
    public static nint LocalThreadSetter(nint handle)
        => NativeLibrary.TryGetExport(handle, "MKL_Set_Num_Threads_Local", out nint setter) ? setter : 0;
}
