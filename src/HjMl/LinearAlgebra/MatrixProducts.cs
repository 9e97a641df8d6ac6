namespace HjMl.LinearAlgebra;

/// <summary>
/// The process-wide <see cref="IMatrixProduct"/> the engine uses. Unless <see cref="Use"/> installs one first, it is
/// the provider <see cref="Detect()"/> picks on first use: Intel MKL, then OpenBLAS, then the managed SIMD
/// implementation, or the one named by the environment variable HJML_BLAS.
/// </summary>
public static class MatrixProducts
{
    /// <summary>The environment variable that overrides detection: <c>mkl</c>, <c>openblas</c> or <c>managed</c>.</summary>
    public const string EnvironmentVariable = "HJML_BLAS";

    /// <summary>The value of <see cref="EnvironmentVariable"/> that selects <see cref="ManagedMatrixProduct"/>.</summary>
    public const string ManagedName = "managed";

    private static readonly BlasLibrary[] Preference = [BlasLibrary.Mkl, BlasLibrary.OpenBlas];

    private static IMatrixProduct? current;

    /// <summary>The provider in use; detected on first read unless <see cref="Use"/> installed one.</summary>
    /// <exception cref="InvalidOperationException">HJML_BLAS asks for a provider that cannot be loaded, or has an unknown value.</exception>
    public static IMatrixProduct Current => Volatile.Read(ref current) ?? DetectOnce();

    /// <summary>Installs <paramref name="provider"/> for every later product in the process.</summary>
    public static void Use(IMatrixProduct provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Volatile.Write(ref current, provider);
    }

    /// <summary>
    /// The provider this process should use: the one HJML_BLAS names (<c>mkl</c>, <c>openblas</c> or <c>managed</c>,
    /// any case), or, when it is unset or empty, the first that loads of Intel MKL, OpenBLAS and the managed SIMD
    /// implementation.
    /// </summary>
    /// <exception cref="InvalidOperationException">HJML_BLAS names a library that cannot be loaded (the message lists
    /// the files tried), or is not one of the three names.</exception>
    public static IMatrixProduct Detect() => Detect(Environment.GetEnvironmentVariable(EnvironmentVariable), NativeBlasMatrixProduct.Cached);

    /// <summary>Every provider that works on this machine, in the order <see cref="Detect()"/> prefers them; the managed one is always last.</summary>
    public static IReadOnlyList<IMatrixProduct> Loadable()
    {
        var providers = new List<IMatrixProduct>(Preference.Length + 1);
        foreach (BlasLibrary library in Preference)
        {
            if (NativeBlasMatrixProduct.TryLoad(library, out NativeBlasMatrixProduct? provider))
            {
                providers.Add(provider);
            }
        }

        providers.Add(ManagedMatrixProduct.Instance);
        return providers;
    }

    /// <summary><see cref="Detect()"/> for a given value of HJML_BLAS (null or blank: detect) and a way of loading each library.</summary>
    internal static IMatrixProduct Detect(string? request, Func<BlasLibrary, NativeBlasMatrixProduct.LoadResult> load)
    {
        string name = request?.Trim() ?? string.Empty;
        if (name.Length == 0)
        {
            foreach (BlasLibrary library in Preference)
            {
                if (load(library).Provider is NativeBlasMatrixProduct provider)
                {
                    return provider;
                }
            }

            return ManagedMatrixProduct.Instance;
        }

        if (string.Equals(name, ManagedName, StringComparison.OrdinalIgnoreCase))
        {
            return ManagedMatrixProduct.Instance;
        }

        foreach (BlasLibrary library in Preference)
        {
            if (string.Equals(name, NativeBlasMatrixProduct.NameOf(library), StringComparison.OrdinalIgnoreCase))
            {
                NativeBlasMatrixProduct.LoadResult result = load(library);
                if (result.Provider is NativeBlasMatrixProduct provider)
                {
                    return provider;
                }

                string others = string.Join(" or ", Preference.Where(other => other != library).Select(NativeBlasMatrixProduct.NameOf).Append(ManagedName));
                throw new InvalidOperationException($"{EnvironmentVariable}={request}: {result.Problem} Or set {EnvironmentVariable} to {others}, or unset it to detect what is installed.");
            }
        }

        throw new InvalidOperationException(
            $"{EnvironmentVariable}={request} is not a matrix-product provider; use {string.Join(", ", Preference.Select(NativeBlasMatrixProduct.NameOf))} or {ManagedName}, or unset it to detect what is installed.");
    }

    // Detection may run on two threads at once; both find the same answer and the first one published wins,
    // unless Use got there first.
    private static IMatrixProduct DetectOnce()
    {
        IMatrixProduct detected = Detect();
        return Interlocked.CompareExchange(ref current, detected, null) ?? detected;
    }
}
