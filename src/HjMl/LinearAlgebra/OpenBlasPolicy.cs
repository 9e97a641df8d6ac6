using System.Runtime.InteropServices;

namespace HjMl.LinearAlgebra;

/// <summary>
/// What HjMl asks of OpenBLAS: one thread per product, unless the environment chose a thread count. HjMl already runs
/// its products from several threads at once (training's chunks of rows, scoring's tiles), and OpenBLAS (0.3.21) threads
/// even a 64 x 97 x 64 product from its one shared pool, which concurrent callers then wait for: adult through the
/// plug-in took 11.8 s a fold with OpenBLAS's default threads against 1.47 s with one (docs/performance/blas.md). It has
/// no per-thread setting (MKL's MKL_Set_Num_Threads_Local), so the setting is process-wide.
/// </summary>
internal static unsafe class OpenBlasPolicy
{
    /// <summary>The variables OpenBLAS reads its thread count from, in the order it reads them.</summary>
    public static IReadOnlyList<string> ThreadVariables { get; } = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"];

    /// <summary>
    /// Sets the OpenBLAS behind <paramref name="handle"/> to one thread, unless OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or
    /// OMP_NUM_THREADS is set (the user's choice stands). Returns whether it did.
    /// </summary>
    public static bool RequestSingleThread(nint handle)
    {
        if (ThreadVariables.Any(name => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
            || !NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out nint setter))
        {
            return false;
        }

        ((delegate* unmanaged[Cdecl]<int, void>)setter)(1);
        return true;
    }
}
