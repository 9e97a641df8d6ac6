using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using HjMl.LinearAlgebra;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml info</c>: what this machine gives HjMl — versions, processors, SIMD width, the matrix-product provider in
/// use with the library file it loaded, and which native BLAS libraries load. Exits 1 if HJML_BLAS asks for a
/// provider that cannot be used.
/// </summary>
internal sealed class InfoCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } = [];

    public string Name => "info";

    public string Summary => "show versions, processors, SIMD support and the BLAS provider in use";

    public string Usage => "hjml info";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        arguments.RejectUnknown();
        Assembly engine = typeof(MatrixProducts).Assembly;
        string version = engine.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? engine.GetName().Version?.ToString()
            ?? "unknown";
        output.WriteLine($"HjMl        {version}");
        output.WriteLine($".NET        {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})");
        output.WriteLine($"OS          {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture} (process {RuntimeInformation.ProcessArchitecture})");
        output.WriteLine($"processors  {Environment.ProcessorCount}");
        output.WriteLine($"SIMD        Vector512 {YesNo(Vector512.IsHardwareAccelerated)}, Vector256 {YesNo(Vector256.IsHardwareAccelerated)}, Vector128 {YesNo(Vector128.IsHardwareAccelerated)}");

        string? request = Environment.GetEnvironmentVariable(MatrixProducts.EnvironmentVariable);
        string how = string.IsNullOrWhiteSpace(request)
            ? $"detected; {MatrixProducts.EnvironmentVariable} unset"
            : $"{MatrixProducts.EnvironmentVariable}={request}";
        int exit = 0;
        try
        {
            IMatrixProduct current = MatrixProducts.Current;
            output.WriteLine($"BLAS        {current.Name} ({how})");
            if (current is NativeBlasMatrixProduct native)
            {
                output.WriteLine($"            {Describe(native)}");
            }
        }
        catch (InvalidOperationException problem)
        {
            // Report it here rather than abort: this command is where one comes to find out why.
            output.WriteLine($"BLAS        none: {problem.Message}");
            exit = 1;
        }

        output.WriteLine();
        output.WriteLine("providers (detection order):");
        foreach (BlasLibrary library in Enum.GetValues<BlasLibrary>())
        {
            string name = NativeBlasMatrixProduct.NameOf(library);
            try
            {
                output.WriteLine($"  {name,-13} loadable: {Describe(NativeBlasMatrixProduct.Load(library))}");
            }
            catch (InvalidOperationException problem)
            {
                output.WriteLine($"  {name,-13} not loadable: {problem.Message}");
            }
        }

        output.WriteLine($"  {ManagedMatrixProduct.Instance.Name,-13} loadable: always (System.Numerics.Tensors, managed)");
        return exit;
    }

    private static string Describe(NativeBlasMatrixProduct provider)
    {
        string threads = provider.MaximumThreads is int count ? $", {count} threads" : string.Empty;
        string version = provider.Version is null ? string.Empty : $" ({provider.Version})";
        return $"{provider.LibraryPath}{threads}{version}";
    }

    private static string YesNo(bool value) => value ? "yes" : "no";
}
