using System.Runtime.InteropServices;
using HjMl.LinearAlgebra;

namespace HjMl.Tests.LinearAlgebra;

/// <summary>These tests set HJML_BLAS and install providers process-wide, so nothing else may run beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettings
{
    public const string Name = "process-wide settings";
}

[Collection(ProcessWideSettings.Name)]
public class MatrixProductSelectionTests
{
    private static readonly NativeBlasMatrixProduct.LoadResult Missing = new(null, "missing on purpose.");

    [Fact]
    public void BothNativeLibrariesLoadWhenCiRequiresThem()
    {
        // CI sets HJML_REQUIRE_BLAS=1 once .ci/install-blas has installed MKL and OpenBLAS, so that a provider
        // silently dropping out of the theories' data (and out of testing) fails the build instead.
        if (Environment.GetEnvironmentVariable("HJML_REQUIRE_BLAS") != "1")
        {
            return;
        }

        foreach (BlasLibrary library in Enum.GetValues<BlasLibrary>())
        {
            NativeBlasMatrixProduct provider = NativeBlasMatrixProduct.Load(library);
            Assert.Equal(library, provider.Library);
            Assert.Contains(provider.Name, MatrixProductProviders.Names());
        }
    }

    [Fact]
    public void DetectionPrefersMklThenOpenBlasThenManaged()
    {
        NativeBlasMatrixProduct.LoadResult Only(BlasLibrary wanted, BlasLibrary library) =>
            library == wanted ? NativeBlasMatrixProduct.Cached(library) : Missing;

        string expected = NativeBlasMatrixProduct.TryLoad(BlasLibrary.Mkl, out _) ? "mkl" : NativeBlasMatrixProduct.TryLoad(BlasLibrary.OpenBlas, out _) ? "openblas" : "managed-simd";
        Assert.Equal(expected, MatrixProducts.Detect(null, NativeBlasMatrixProduct.Cached).Name);
        Assert.Equal(expected, MatrixProducts.Detect("  ", NativeBlasMatrixProduct.Cached).Name);
        Assert.Equal(expected, MatrixProducts.Loadable()[0].Name);
        Assert.Equal("managed-simd", MatrixProducts.Loadable()[^1].Name);
        Assert.Equal("managed-simd", MatrixProducts.Detect(null, _ => Missing).Name);
        if (NativeBlasMatrixProduct.TryLoad(BlasLibrary.OpenBlas, out _))
        {
            Assert.Equal("openblas", MatrixProducts.Detect(null, library => Only(BlasLibrary.OpenBlas, library)).Name);
        }
    }

    [Theory]
    [InlineData("mkl", "mkl")]
    [InlineData("MKL", "mkl")]
    [InlineData("openblas", "openblas")]
    [InlineData(" OpenBLAS ", "openblas")]
    [InlineData("managed", "managed-simd")]
    public void TheEnvironmentVariableChoosesTheProvider(string value, string name)
    {
        string? saved = Environment.GetEnvironmentVariable(MatrixProducts.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(MatrixProducts.EnvironmentVariable, value);
            BlasLibrary? library = name switch { "mkl" => BlasLibrary.Mkl, "openblas" => BlasLibrary.OpenBlas, _ => null };
            if (library is BlasLibrary native && !NativeBlasMatrixProduct.TryLoad(native, out _))
            {
                var problem = Assert.Throws<InvalidOperationException>(MatrixProducts.Detect);
                Assert.StartsWith($"HJML_BLAS={value}: ", problem.Message, StringComparison.Ordinal);
                Assert.All(NativeBlasMatrixProduct.FileNames(native), file => Assert.Contains(file, problem.Message, StringComparison.Ordinal));
            }
            else
            {
                Assert.Equal(name, MatrixProducts.Detect().Name);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(MatrixProducts.EnvironmentVariable, saved);
        }
    }

    [Fact]
    public void AnUnknownEnvironmentValueIsRejectedWithTheValidNames()
    {
        string? saved = Environment.GetEnvironmentVariable(MatrixProducts.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(MatrixProducts.EnvironmentVariable, "blis");
            var problem = Assert.Throws<InvalidOperationException>(MatrixProducts.Detect);
            Assert.Equal("HJML_BLAS=blis is not a matrix-product provider; use mkl, openblas or managed, or unset it to detect what is installed.", problem.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(MatrixProducts.EnvironmentVariable, saved);
        }
    }

    [Fact]
    public void AnExplicitRequestForALibraryThatCannotLoadNamesTheLibraryAndEveryFileTried()
    {
        string[] files = ["libhjml-no-such-mkl.so", "/nonexistent/libmkl_rt.so.2"];
        var problem = Assert.Throws<InvalidOperationException>(() => MatrixProducts.Detect("mkl", library => NativeBlasMatrixProduct.Load(library, files)));
        Assert.Equal(
            "HJML_BLAS=mkl: Intel MKL could not be loaded; tried libhjml-no-such-mkl.so (not found), /nonexistent/libmkl_rt.so.2 (not found). "
            + "To use it, install libmkl-rt (Debian non-free) or oneMKL, or reference the Microsoft.ML.Mkl.Redist package. "
            + "Or set HJML_BLAS to openblas or managed, or unset it to detect what is installed.",
            problem.Message);

        problem = Assert.Throws<InvalidOperationException>(() => MatrixProducts.Detect("openblas", library => NativeBlasMatrixProduct.Load(library, ["libhjml-no-such-openblas.so"])));
        Assert.StartsWith("HJML_BLAS=openblas: OpenBLAS could not be loaded; tried libhjml-no-such-openblas.so (not found). To use it, install libopenblas0", problem.Message, StringComparison.Ordinal);
        Assert.EndsWith("Or set HJML_BLAS to mkl or managed, or unset it to detect what is installed.", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALibraryWithoutCblasIsPassedOverWithTheReason()
    {
        // The C maths library loads everywhere glibc does and exports no BLAS.
        const string Mathematics = "libm.so.6";
        if (!NativeLibrary.TryLoad(Mathematics, out _))
        {
            return;
        }

        NativeBlasMatrixProduct.LoadResult result = NativeBlasMatrixProduct.Load(BlasLibrary.OpenBlas, [Mathematics]);
        Assert.Null(result.Provider);
        Assert.Contains("libm.so.6 (loaded, but exports no cblas_sgemm and cblas_dgemm)", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void CurrentDefaultsToTheDetectedProviderAndUseReplacesIt()
    {
        IMatrixProduct before = MatrixProducts.Current;
        Assert.Equal(MatrixProducts.Detect().Name, before.Name);
        try
        {
            MatrixProducts.Use(ManagedMatrixProduct.Instance);
            Assert.Same(ManagedMatrixProduct.Instance, MatrixProducts.Current);
            Assert.Throws<ArgumentNullException>(() => MatrixProducts.Use(null!));
        }
        finally
        {
            MatrixProducts.Use(before);
        }
    }

    [Fact]
    public void OpenBlasRunsOneThreadAProductUnlessTheEnvironmentSaysOtherwise()
    {
        // HjMl calls OpenBLAS from several threads at once; OpenBLAS's own pool made adult's training 8x slower.
        if (!NativeBlasMatrixProduct.TryLoad(BlasLibrary.OpenBlas, out NativeBlasMatrixProduct? provider))
        {
            Assert.False(Environment.GetEnvironmentVariable("HJML_REQUIRE_BLAS") == "1", "OpenBLAS did not load but HJML_REQUIRE_BLAS=1");
            return;
        }

        bool chosen = OpenBlasPolicy.ThreadVariables.Any(name => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)));
        if (!chosen)
        {
            Assert.Equal(1, provider.MaximumThreads);
        }
    }

    [Fact]
    public void LoadedProvidersReportTheirLibrary()
    {
        foreach (NativeBlasMatrixProduct provider in MatrixProducts.Loadable().OfType<NativeBlasMatrixProduct>())
        {
            Assert.False(string.IsNullOrWhiteSpace(provider.LibraryPath));
            Assert.Same(provider, NativeBlasMatrixProduct.Load(provider.Library));
            Assert.True(provider.MaximumThreads is null or >= 1, $"{provider.Name} reports {provider.MaximumThreads} threads");
            if (OperatingSystem.IsLinux())
            {
                Assert.True(File.Exists(provider.LibraryPath), $"{provider.Name} loaded {provider.LibraryPath}, which is not a file");
            }
        }
    }
}
