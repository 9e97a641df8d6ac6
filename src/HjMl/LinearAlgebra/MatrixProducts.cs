namespace HjMl.LinearAlgebra;

/// <summary>
/// The process-wide <see cref="IMatrixProduct"/> the engine uses. The managed SIMD implementation is the default;
/// a native BLAS provider can be installed at start-up.
/// </summary>
public static class MatrixProducts
{
    private static IMatrixProduct current = ManagedMatrixProduct.Instance;

    /// <summary>The provider in use.</summary>
    public static IMatrixProduct Current => Volatile.Read(ref current);

    /// <summary>Installs <paramref name="provider"/> for every later product in the process.</summary>
    public static void Use(IMatrixProduct provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Volatile.Write(ref current, provider);
    }
}
