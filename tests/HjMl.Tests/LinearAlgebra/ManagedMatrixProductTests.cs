using HjMl.LinearAlgebra;
using HjMl.Tests.Support;

namespace HjMl.Tests.LinearAlgebra;

public class ManagedMatrixProductTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void EveryTranspositionMatchesTheNaiveProduct(bool transposeLeft, bool transposeRight)
    {
        var random = new Random(11);
        foreach ((int m, int n, int k) in new[] { (1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 65, 1), (2, 130, 19), (5, 1, 0) })
        {
            double[] a = LayerCase.Draw(random, m * k, 1);
            double[] b = LayerCase.Draw(random, k * n, 1);
            double[] expected = Reference.Product(a, transposeLeft, b, transposeRight, m, n, k);
            double[] c = LayerCase.Draw(random, m * n, 1);
            double[] original = (double[])c.Clone();
            ManagedMatrixProduct.Instance.Multiply(
                transposeLeft ? Transpose.Yes : Transpose.No,
                transposeRight ? Transpose.Yes : Transpose.No,
                m, n, k, 2.0, a, transposeLeft ? m : k, b, transposeRight ? k : n, 0.5, c, n);
            for (int i = 0; i < c.Length; i++)
            {
                Assert.Equal((2 * expected[i]) + (0.5 * original[i]), c[i], 1e-12);
            }

            float[] cf = new float[m * n];
            ManagedMatrixProduct.Instance.Multiply(
                transposeLeft ? Transpose.Yes : Transpose.No,
                transposeRight ? Transpose.Yes : Transpose.No,
                m, n, k, 1f, Array.ConvertAll(a, v => (float)v), transposeLeft ? m : k, Array.ConvertAll(b, v => (float)v), transposeRight ? k : n, 0f, cf, n);
            for (int i = 0; i < cf.Length; i++)
            {
                Assert.Equal(expected[i], cf[i], 1e-4);
            }
        }
    }
}
