using HjMl.Cli;
using HjMl.LinearAlgebra;

namespace HjMl.Tests.Cli;

public class InfoCommandTests
{
    [Fact]
    public void InfoNamesTheProviderInUseAndEveryLoadableOne()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(["info"], output, error);
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error.ToString());
        string text = output.ToString();
        Assert.Contains("HjMl ", text);
        Assert.Contains($"processors  {Environment.ProcessorCount}", text);
        Assert.Contains("Vector512 ", text);
        Assert.Contains("Vector256 ", text);
        Assert.Contains("Vector128 ", text);
        Assert.Contains($"BLAS        {MatrixProducts.Current.Name} (", text);
        foreach (IMatrixProduct provider in MatrixProducts.Loadable())
        {
            Assert.Contains($"  {provider.Name,-13} loadable: ", text);
            if (provider is NativeBlasMatrixProduct native)
            {
                Assert.Contains(native.LibraryPath, text);
            }
        }

        foreach (BlasLibrary library in Enum.GetValues<BlasLibrary>())
        {
            if (!NativeBlasMatrixProduct.TryLoad(library, out _))
            {
                Assert.Contains($"  {NativeBlasMatrixProduct.NameOf(library),-13} not loadable: ", text);
            }
        }
    }

    [Fact]
    public void InfoTakesNoOptions()
    {
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["info", "--bogus", "1"], new StringWriter(), error));
        Assert.Contains("--bogus is not an option", error.ToString());
    }
}
