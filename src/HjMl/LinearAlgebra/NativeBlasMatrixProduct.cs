using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace HjMl.LinearAlgebra;

/// <summary>
/// <see cref="IMatrixProduct"/> on a native BLAS found at run time, Intel MKL or OpenBLAS, through its CBLAS
/// <c>cblas_sgemm</c> (float) and <c>cblas_dgemm</c> (double). Nothing is linked at build time: the library is
/// opened with <see cref="NativeLibrary.TryLoad(string, System.Reflection.Assembly, DllImportSearchPath?, out IntPtr)"/>
/// and the two entry points are called through unmanaged function pointers, so a machine without either library
/// simply does not offer this provider (see <see cref="MatrixProducts.Detect()"/>).
/// </summary>
/// <remarks>
/// <para>
/// Products where the managed SIMD loops were measured to be faster go to <see cref="ManagedMatrixProduct"/>: fewer
/// than 256 multiply-adds (m·n·k), and with OpenBLAS every single-row product (m = 1). So do element types other
/// than float and double, and k = 0. Everything else pins the spans and makes one native call, without allocating.
/// </para>
/// <para>
/// Threads: MKL uses as many threads as MKL_NUM_THREADS / OMP_NUM_THREADS allow (by default one per physical core) for
/// products of at least <see cref="MklPolicy.ThreadedProductWork"/> multiply-adds and one below, and its threading layer
/// follows MKL_THREADING_LAYER. OpenBLAS runs one thread per product unless OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or
/// OMP_NUM_THREADS says otherwise (<see cref="OpenBlasPolicy"/>): HjMl calls it from several threads at once, which its
/// own shared thread pool serialises. Training already runs chunks of rows on several threads, so on a busy machine
/// MKL_NUM_THREADS=1 avoids two thread pools competing for the same cores.
/// </para>
/// <para>
/// MKL's single dynamic library can be switched to 64-bit integers (MKL_INTERFACE_LAYER=ILP64); HjMl passes 32-bit
/// integers, so on loading MKL it asks for the LP64 interface and declines MKL if that is refused.
/// </para>
/// <para>
/// Reproducibility: unless MKL_CBWR is set, HjMl puts MKL in its conditional numerical reproducibility mode AUTO, so
/// that, like OpenBLAS and the managed provider, a product does not change in the last bit with the alignment of its
/// operands, and training stays bit-identical for a seed and thread count.
/// </para>
/// </remarks>
public sealed unsafe class NativeBlasMatrixProduct : IMatrixProduct
{
    // CBLAS enumeration values (cblas.h): row-major storage, no transpose, transpose.
    private const int RowMajor = 101;
    private const int NoTranspose = 111;
    private const int Transposed = 112;

    private static readonly Lazy<LoadResult>[] Cache =
    [
        new(() => Load(BlasLibrary.Mkl, FileNames(BlasLibrary.Mkl))),
        new(() => Load(BlasLibrary.OpenBlas, FileNames(BlasLibrary.OpenBlas))),
    ];

    private readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> singleProduct;
    private readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> doubleProduct;
    private readonly delegate* unmanaged[Cdecl]<int> maximumThreads;

    // MKL_Set_Num_Threads_Local (MKL only): the calling thread's thread count for MKL, returning the previous setting.
    private readonly delegate* unmanaged[Cdecl]<int, int> localThreads;

    private NativeBlasMatrixProduct(BlasLibrary library, string libraryPath, string? version, nint singleProduct, nint doubleProduct, nint maximumThreads, nint localThreads = 0)
    {
        this.localThreads = (delegate* unmanaged[Cdecl]<int, int>)localThreads;
        Library = library;
        LibraryPath = libraryPath;
        Version = version;
        this.singleProduct = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)singleProduct;
        this.doubleProduct = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)doubleProduct;
        this.maximumThreads = (delegate* unmanaged[Cdecl]<int>)maximumThreads;
        SmallProductWork = SmallProductLimit;

        // OpenBLAS 0.3.21 packs a single row as it would a large product, slower than the managed loops (docs/performance/blas.md).
        SingleRowToManaged = library == BlasLibrary.OpenBlas;
    }

    private NativeBlasMatrixProduct(NativeBlasMatrixProduct provider)
    {
        Library = provider.Library;
        LibraryPath = provider.LibraryPath;
        Version = provider.Version;
        singleProduct = provider.singleProduct;
        doubleProduct = provider.doubleProduct;
        maximumThreads = provider.maximumThreads;
        localThreads = provider.localThreads;
    }

    /// <summary>Which library this is.</summary>
    public BlasLibrary Library { get; }

    /// <inheritdoc />
    public string Name => NameOf(Library);

    /// <summary>The file the operating system loaded (the resolved path where it can be found, else the name that was opened).</summary>
    public string LibraryPath { get; }

    /// <summary>The library's own description of its version and build (MKL_Get_Version_String, openblas_get_config), or null if it has none.</summary>
    public string? Version { get; }

    /// <summary>The most threads the library will use for one product (MKL_Get_Max_Threads, openblas_get_num_threads), or null if it does not say.</summary>
    public int? MaximumThreads => maximumThreads == null ? null : maximumThreads();

    // Products of fewer multiply-adds than this (m·n·k) go to the managed provider, and with SingleRowToManaged every
    // m = 1 product does: both were faster there when measured (see SmallProductLimit and the constructor).
    internal long SmallProductWork { get; private init; }

    internal bool SingleRowToManaged { get; private init; }

    /// <summary>The short name of <paramref name="library"/>: "mkl" or "openblas", as <see cref="MatrixProducts.EnvironmentVariable"/> spells it.</summary>
    public static string NameOf(BlasLibrary library) => library switch
    {
        BlasLibrary.Mkl => "mkl",
        BlasLibrary.OpenBlas => "openblas",
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "not a BLAS library HjMl knows"),
    };

    /// <summary>The library names and paths tried for <paramref name="library"/>, in order.</summary>
    public static IReadOnlyList<string> FileNames(BlasLibrary library) => library switch
    {
        // MklImports is the single-file MKL that Microsoft.ML.Mkl.Redist ships (libMklImports.so beside the app);
        // the loader finds it through the application's dependency manifest.
        BlasLibrary.Mkl => ["libmkl_rt.so", "libmkl_rt.so.1", "libmkl_rt.so.2", "MklImports"],

        // Debian installs OpenBLAS behind the alternatives system; its pthread libblas.so.3 also exports CBLAS.
        BlasLibrary.OpenBlas => ["libopenblas.so.0", "libopenblas.so", $"/usr/lib/{MultiarchTriplet()}/openblas-pthread/libblas.so.3"],
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "not a BLAS library HjMl knows"),
    };

    /// <summary>
    /// The provider for <paramref name="library"/> if it loads on this machine. The outcome is found once per process
    /// and shared: a library that failed to load is not retried.
    /// </summary>
    public static bool TryLoad(BlasLibrary library, [NotNullWhen(true)] out NativeBlasMatrixProduct? provider)
    {
        provider = Cached(library).Provider;
        return provider is not null;
    }

    /// <summary>The provider for <paramref name="library"/>.</summary>
    /// <exception cref="InvalidOperationException">The library cannot be loaded; the message names every file tried and why each failed.</exception>
    public static NativeBlasMatrixProduct Load(BlasLibrary library)
    {
        LoadResult result = Cached(library);
        return result.Provider ?? throw new InvalidOperationException(result.Problem);
    }

    /// <inheritdoc />
    public void Multiply<T>(
        Transpose transposeLeft,
        Transpose transposeRight,
        int m,
        int n,
        int k,
        T alpha,
        ReadOnlySpan<T> left,
        int leftStride,
        ReadOnlySpan<T> right,
        int rightStride,
        T beta,
        Span<T> destination,
        int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Native code does not bounds-check: a short span or a stride under the row length would read or write
        // outside the caller's memory, so the shapes are checked here, where the managed provider would rely on Slice.
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckMatrix(left.Length, transposeLeft == Transpose.Yes ? k : m, transposeLeft == Transpose.Yes ? m : k, leftStride, nameof(left), nameof(leftStride));
        CheckMatrix(right.Length, transposeRight == Transpose.Yes ? n : k, transposeRight == Transpose.Yes ? k : n, rightStride, nameof(right), nameof(rightStride));
        CheckMatrix(destination.Length, m, n, destinationStride, nameof(destination), nameof(destinationStride));
        if (m == 0 || n == 0)
        {
            return;
        }

        // k = 0 only scales C, and CBLAS rejects the leading dimension 0 an empty row-major operand naturally has.
        if ((typeof(T) != typeof(float) && typeof(T) != typeof(double)) || k == 0 || ((long)m * n * k) < SmallProductWork || (m == 1 && SingleRowToManaged))
        {
            ManagedMatrixProduct.Instance.Multiply(transposeLeft, transposeRight, m, n, k, alpha, left, leftStride, right, rightStride, beta, destination, destinationStride);
            return;
        }

        int leftCode = transposeLeft == Transpose.Yes ? Transposed : NoTranspose;
        int rightCode = transposeRight == Transpose.Yes ? Transposed : NoTranspose;

        // MKL's own threads on a small product cost more than they save (see MklPolicy.ThreadedProductWork).
        int previousThreads = localThreads != null && ((long)m * n * k) < MklPolicy.ThreadedProductWork ? localThreads(1) : -1;
        try
        {
            Compute(leftCode, rightCode, m, n, k, alpha, left, leftStride, right, rightStride, beta, destination, destinationStride);
        }
        finally
        {
            if (previousThreads >= 0)
            {
                _ = localThreads(previousThreads);
            }
        }
    }

    private void Compute<T>(int leftCode, int rightCode, int m, int n, int k, T alpha, ReadOnlySpan<T> left, int leftStride, ReadOnlySpan<T> right, int rightStride, T beta, Span<T> destination, int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* a = left)
        fixed (T* b = right)
        fixed (T* c = destination)
        {
            if (typeof(T) == typeof(float))
            {
                singleProduct(RowMajor, leftCode, rightCode, m, n, k, float.CreateTruncating(alpha), (float*)a, leftStride, (float*)b, rightStride, float.CreateTruncating(beta), (float*)c, destinationStride);
            }
            else
            {
                doubleProduct(RowMajor, leftCode, rightCode, m, n, k, double.CreateTruncating(alpha), (double*)a, leftStride, (double*)b, rightStride, double.CreateTruncating(beta), (double*)c, destinationStride);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({LibraryPath})";

    /// <summary>The same library with every float and double product with k &gt; 0 sent to it, so tests and measurements reach the native call at every size.</summary>
    internal NativeBlasMatrixProduct AlwaysNative() => new(this);

    /// <summary>Tries <paramref name="fileNames"/> in order, without the process-wide cache (tests use this with names that do not exist).</summary>
    internal static LoadResult Load(BlasLibrary library, IReadOnlyList<string> fileNames)
    {
        var attempts = new List<string>(fileNames.Count);
        foreach (string fileName in fileNames)
        {
            if (!NativeLibrary.TryLoad(fileName, typeof(NativeBlasMatrixProduct).Assembly, searchPath: null, out nint handle))
            {
                attempts.Add($"{fileName} (not found)");
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint singleProduct) || !NativeLibrary.TryGetExport(handle, "cblas_dgemm", out nint doubleProduct))
            {
                attempts.Add($"{fileName} (loaded, but exports no cblas_sgemm and cblas_dgemm)");
                NativeLibrary.Free(handle);
                continue;
            }

            if (library == BlasLibrary.Mkl && !MklPolicy.RequestLp64(handle))
            {
                attempts.Add($"{fileName} (loaded, but runs MKL's 64-bit-integer ILP64 interface; unset MKL_INTERFACE_LAYER)");
                continue;
            }

            if (library == BlasLibrary.Mkl)
            {
                MklPolicy.RequestReproducibility(handle);
            }
            else
            {
                OpenBlasPolicy.RequestSingleThread(handle);
            }

            string path = LoadedFile(singleProduct) ?? fileName;
            nint localThreads = library == BlasLibrary.Mkl ? MklPolicy.LocalThreadSetter(handle) : 0;
            var provider = new NativeBlasMatrixProduct(library, path, VersionOf(library, handle), singleProduct, doubleProduct, ThreadQuery(library, handle), localThreads);
            return new LoadResult(provider, null);
        }

        string title = library == BlasLibrary.Mkl ? "Intel MKL" : "OpenBLAS";
        string install = library == BlasLibrary.Mkl
            ? "install libmkl-rt (Debian non-free) or oneMKL, or reference the Microsoft.ML.Mkl.Redist package"
            : "install libopenblas0 (Debian, Ubuntu) or OpenBLAS";
        return new LoadResult(null, $"{title} could not be loaded; tried {string.Join(", ", attempts)}. To use it, {install}.");
    }

    /// <summary>The process-wide outcome of loading <paramref name="library"/> from <see cref="FileNames"/>.</summary>
    internal static LoadResult Cached(BlasLibrary library) => library switch
    {
        BlasLibrary.Mkl or BlasLibrary.OpenBlas => Cache[(int)library].Value,
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "not a BLAS library HjMl knows"),
    };

    // Below this many multiply-adds a native call's fixed cost outweighs the arithmetic (docs/performance/blas.md).
    private const long SmallProductLimit = 256;

    private static void CheckMatrix(int length, int rows, int columns, int stride, string argument, string strideArgument)
    {
        if (rows == 0 || columns == 0)
        {
            return;
        }

        if (stride < columns)
        {
            throw new ArgumentOutOfRangeException(strideArgument, stride, $"{strideArgument} is {stride}, shorter than a row of the {rows} x {columns} matrix {argument}.");
        }

        long needed = ((long)(rows - 1) * stride) + columns;
        if (length < needed)
        {
            throw new ArgumentException($"{argument} has length {length}, but a {rows} x {columns} matrix with row stride {stride} needs {needed}.", argument);
        }
    }

    private static string? VersionOf(BlasLibrary library, nint handle)
    {
        if (library == BlasLibrary.Mkl && NativeLibrary.TryGetExport(handle, "MKL_Get_Version_String", out nint mklVersion))
        {
            const int Capacity = 256;
            byte* buffer = stackalloc byte[Capacity];
            new Span<byte>(buffer, Capacity).Clear();
            ((delegate* unmanaged[Cdecl]<byte*, int, void>)mklVersion)(buffer, Capacity - 1);
            return Trimmed(Marshal.PtrToStringUTF8((nint)buffer));
        }

        if (library == BlasLibrary.OpenBlas && NativeLibrary.TryGetExport(handle, "openblas_get_config", out nint openBlasConfiguration))
        {
            return Trimmed(Marshal.PtrToStringUTF8((nint)((delegate* unmanaged[Cdecl]<byte*>)openBlasConfiguration)()));
        }

        return null;
    }

    private static string? Trimmed(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static nint ThreadQuery(BlasLibrary library, nint handle)
    {
        string export = library == BlasLibrary.Mkl ? "MKL_Get_Max_Threads" : "openblas_get_num_threads";
        return NativeLibrary.TryGetExport(handle, export, out nint address) ? address : 0;
    }

    private static string MultiarchTriplet() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm64 => "aarch64-linux-gnu",
        _ => "x86_64-linux-gnu",
    };

    // The loader does not say which file a bare name resolved to; on Linux the process's memory map does, for the
    // mapping that holds one of the library's functions.
    private static string? LoadedFile(nint address)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps", Encoding.UTF8))
            {
                string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                int dash = fields[0].IndexOf('-', StringComparison.Ordinal);
                if (fields.Length < 6 || dash < 0
                    || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start)
                    || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end))
                {
                    continue;
                }

                if ((ulong)address >= start && (ulong)address < end)
                {
                    return fields[5].Trim();
                }
            }
        }
        catch (IOException)
        {
            // The path is a diagnostic; the provider works without it.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }

        return null;
    }

    /// <summary>What loading a library gave: the provider, or why there is none.</summary>
    internal sealed record LoadResult(NativeBlasMatrixProduct? Provider, string? Problem);
}
