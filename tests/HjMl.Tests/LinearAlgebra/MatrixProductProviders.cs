using HjMl.LinearAlgebra;

namespace HjMl.Tests.LinearAlgebra;

/// <summary>
/// The matrix-product providers that load on this machine, by name, for theories: the managed one always; each native
/// BLAS that loads twice, as shipped (small products handed to the managed loops) and forced to make the native call
/// at every size. A library that does not load is simply absent (HJML_REQUIRE_BLAS=1 makes its absence a failure).
/// </summary>
public static class MatrixProductProviders
{
    private const string AlwaysNativeSuffix = " (always native)";

    public static IEnumerable<string> Names()
    {
        foreach (IMatrixProduct provider in MatrixProducts.Loadable())
        {
            yield return provider.Name;
            if (provider is NativeBlasMatrixProduct)
            {
                yield return provider.Name + AlwaysNativeSuffix;
            }
        }
    }

    public static IReadOnlyList<NativeBlasMatrixProduct> Native() =>
        [.. MatrixProducts.Loadable().OfType<NativeBlasMatrixProduct>().SelectMany(provider => new[] { provider, provider.AlwaysNative() })];

    public static IMatrixProduct Named(string name)
    {
        bool alwaysNative = name.EndsWith(AlwaysNativeSuffix, StringComparison.Ordinal);
        string baseName = alwaysNative ? name[..^AlwaysNativeSuffix.Length] : name;
        IMatrixProduct provider = MatrixProducts.Loadable().Single(candidate => candidate.Name == baseName);
        return alwaysNative ? ((NativeBlasMatrixProduct)provider).AlwaysNative() : provider;
    }
}
