namespace HjMl.LinearAlgebra;

/// <summary>The native BLAS libraries <see cref="NativeBlasMatrixProduct"/> can load, in the order detection prefers them.</summary>
public enum BlasLibrary
{
    /// <summary>Intel MKL: libmkl_rt (Debian's libmkl-rt, Intel's oneMKL) or MklImports (Microsoft.ML.Mkl.Redist).</summary>
    Mkl,

    /// <summary>OpenBLAS: libopenblas (Debian's libopenblas0 and its pthread libblas.so.3).</summary>
    OpenBlas,
}
