using System.Numerics;
using HjMl.LinearAlgebra;
using HjMl.Tests.Support;

namespace HjMl.Tests.LinearAlgebra;

/// <summary>
/// The gemm contract every provider must keep, run against every provider that loads here (see
/// <see cref="MatrixProductProviders"/>): every transposition, sizes from empty to beyond the managed shortcut,
/// padded row strides, float and double, alpha and beta.
/// </summary>
public class MatrixProductProviderTests
{
    // Written into row padding of the destination: a provider must leave it alone.
    private const double Untouched = 777;

    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 65, 1), (2, 130, 19), (5, 1, 0), (1, 64, 16), (1, 300, 40), (0, 4, 3), (4, 0, 3), (40, 33, 70),
    ];

    public static TheoryData<string> Providers() => [.. MatrixProductProviders.Names()];

    public static TheoryData<string, bool, bool> ProvidersAndTranspositions()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (string provider in MatrixProductProviders.Names())
        {
            foreach (bool transposeLeft in new[] { false, true })
            {
                foreach (bool transposeRight in new[] { false, true })
                {
                    data.Add(provider, transposeLeft, transposeRight);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ProvidersAndTranspositions))]
    public void EveryTranspositionMatchesTheNaiveProduct(string provider, bool transposeLeft, bool transposeRight)
    {
        IMatrixProduct product = MatrixProductProviders.Named(provider);
        var random = new Random(11);
        foreach ((int m, int n, int k) in Shapes)
        {
            foreach (int padding in new[] { 0, 3 })
            {
                Check<double>(product, random, transposeLeft, transposeRight, m, n, k, padding, alpha: 2, beta: 0.5);
                Check<float>(product, random, transposeLeft, transposeRight, m, n, k, padding, alpha: 2, beta: 0.5);
                Check<double>(product, random, transposeLeft, transposeRight, m, n, k, padding, alpha: -1, beta: 1);
                Check<float>(product, random, transposeLeft, transposeRight, m, n, k, padding, alpha: 0.25, beta: -2);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ProvidersAndTranspositions))]
    public void ZeroBetaOverwritesTheDestinationWithoutReadingIt(string provider, bool transposeLeft, bool transposeRight)
    {
        // Pooled and per-thread buffers reach the engine's products with stale contents; beta = 0 must not let a NaN in.
        IMatrixProduct product = MatrixProductProviders.Named(provider);
        var random = new Random(12);
        foreach ((int m, int n, int k) in Shapes)
        {
            Check<double>(product, random, transposeLeft, transposeRight, m, n, k, padding: 2, alpha: 1, beta: 0, poisonDestination: true);
            Check<float>(product, random, transposeLeft, transposeRight, m, n, k, padding: 0, alpha: 1, beta: 0, poisonDestination: true);
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void ConcurrentProductsAgreeWithTheNaiveProduct(string provider)
    {
        IMatrixProduct product = MatrixProductProviders.Named(provider);
        const int M = 48, N = 40, K = 56;
        var random = new Random(13);
        double[] a = LayerCase.Draw(random, M * K, 1);
        double[] b = LayerCase.Draw(random, K * N, 1);
        double[] expected = Reference.Product(a, false, b, false, M, N, K);
        var results = new double[16][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, index =>
        {
            var c = new double[M * N];
            for (int repeat = 0; repeat < 20; repeat++)
            {
                product.Multiply(Transpose.No, Transpose.No, M, N, K, 1.0, a, K, b, N, 0.0, c, N);
            }

            results[index] = c;
        });
        foreach (double[] c in results)
        {
            for (int i = 0; i < c.Length; i++)
            {
                Assert.Equal(expected[i], c[i], 1e-12);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void ProductsDoNotDependOnTheAlignmentOfTheirOperands(string provider)
    {
        // Training promises bit-identical models for a seed and thread count, while pooled buffers land at any alignment.
        IMatrixProduct product = MatrixProductProviders.Named(provider);
        foreach ((Transpose left, Transpose right, int m, int n, int k) in new[] { (Transpose.Yes, Transpose.No, 30, 12, 512), (Transpose.No, Transpose.Yes, 300, 64, 96), (Transpose.No, Transpose.No, 64, 48, 200) })
        {
            var random = new Random(15);
            double[] a = LayerCase.Draw(random, m * k, 1), b = LayerCase.Draw(random, k * n, 1);
            int leftStride = left == Transpose.Yes ? m : k, rightStride = right == Transpose.Yes ? k : n;
            double[]? first = null;
            for (int offset = 0; offset < 8; offset++)
            {
                double[] shiftedLeft = new double[a.Length + 8], shiftedRight = new double[b.Length + 8], destination = new double[(m * n) + 8];
                a.CopyTo(shiftedLeft, offset);
                b.CopyTo(shiftedRight, (3 * offset) % 8);
                int destinationOffset = (5 * offset) % 8;
                product.Multiply(left, right, m, n, k, 1.0, shiftedLeft.AsSpan(offset, a.Length), leftStride, shiftedRight.AsSpan((3 * offset) % 8, b.Length), rightStride, 0.0, destination.AsSpan(destinationOffset, m * n), n);
                double[] result = destination.AsSpan(destinationOffset, m * n).ToArray();
                first ??= result;
                Assert.True(first.SequenceEqual(result), $"{product.Name} {left}/{right} {m}x{n}x{k}: offset {offset} rounds differently from offset 0");
            }
        }
    }

    [Fact]
    public void OtherElementTypesUseTheManagedProduct()
    {
        Half[] a = [(Half)1, (Half)2, (Half)3, (Half)4, (Half)5, (Half)6];
        Half[] b = [(Half)0.5, (Half)(-1), (Half)2, (Half)0.25, (Half)1, (Half)(-3)];
        var expected = new Half[4];
        ManagedMatrixProduct.Instance.Multiply(Transpose.No, Transpose.Yes, 2, 2, 3, Half.One, a, 3, b, 3, Half.Zero, expected, 2);
        foreach (NativeBlasMatrixProduct provider in MatrixProductProviders.Native())
        {
            var c = new Half[4];
            provider.Multiply(Transpose.No, Transpose.Yes, 2, 2, 3, Half.One, a, 3, b, 3, Half.Zero, c, 2);
            Assert.Equal(expected, c);
        }
    }

    [Fact]
    public void NativeProductsAllocateNothing()
    {
        var random = new Random(14);
        // One size of buffer holds every shape below, stored either way round.
        double[] a = LayerCase.Draw(random, 40 * 50, 1), b = LayerCase.Draw(random, 40 * 50, 1), c = new double[40 * 30];
        float[] af = Array.ConvertAll(a, value => (float)value), bf = Array.ConvertAll(b, value => (float)value), cf = new float[40 * 30];
        foreach (NativeBlasMatrixProduct provider in MatrixProductProviders.Native())
        {
            foreach ((Transpose left, Transpose right, int m, int n, int k) in new[] { (Transpose.No, Transpose.No, 40, 30, 50), (Transpose.Yes, Transpose.Yes, 30, 40, 50), (Transpose.No, Transpose.Yes, 1, 30, 50) })
            {
                int leftStride = left == Transpose.Yes ? m : k, rightStride = right == Transpose.Yes ? k : n;
                provider.Multiply(left, right, m, n, k, 1.0, a, leftStride, b, rightStride, 0.0, c, n);
                provider.Multiply(left, right, m, n, k, 1f, af, leftStride, bf, rightStride, 0f, cf, n);
                Assert.Equal(0, Allocations.Fewest(() =>
                {
                    for (int repeat = 0; repeat < 10; repeat++)
                    {
                        provider.Multiply(left, right, m, n, k, 1.0, a, leftStride, b, rightStride, 0.5, c, n);
                        provider.Multiply(left, right, m, n, k, 1f, af, leftStride, bf, rightStride, 0.5f, cf, n);
                    }
                }));
            }
        }
    }

    [Fact]
    public void NativeProvidersRejectShapesTheirMemoryCannotHold()
    {
        // Native code does not bounds-check, so these must fail before the call rather than read or write past the spans.
        double[] a = new double[3 * 2], b = new double[2 * 4], c = new double[3 * 4];
        foreach (NativeBlasMatrixProduct provider in MatrixProductProviders.Native())
        {
            Assert.Equal("destination", Assert.Throws<ArgumentException>(() => provider.Multiply(Transpose.No, Transpose.No, 3, 4, 2, 1.0, a, 2, b, 4, 0.0, c.AsSpan(0, 11), 4)).ParamName);
            Assert.Equal("right", Assert.Throws<ArgumentException>(() => provider.Multiply(Transpose.No, Transpose.No, 3, 4, 2, 1.0, a, 2, b.AsSpan(1), 4, 0.0, c, 4)).ParamName);
            Assert.Equal("left", Assert.Throws<ArgumentException>(() => provider.Multiply(Transpose.Yes, Transpose.No, 3, 4, 2, 1.0, a, 4, b, 4, 0.0, c, 4)).ParamName);
            Assert.Equal("leftStride", Assert.Throws<ArgumentOutOfRangeException>(() => provider.Multiply(Transpose.No, Transpose.No, 3, 4, 2, 1.0, a, 1, b, 4, 0.0, c, 4)).ParamName);
            Assert.Equal("destinationStride", Assert.Throws<ArgumentOutOfRangeException>(() => provider.Multiply(Transpose.No, Transpose.No, 3, 4, 2, 1.0, a, 2, b, 4, 0.0, c, 3)).ParamName);
            Assert.Equal("m", Assert.Throws<ArgumentOutOfRangeException>(() => provider.Multiply(Transpose.No, Transpose.No, -1, 4, 2, 1.0, a, 2, b, 4, 0.0, c, 4)).ParamName);
        }
    }

    private static void Check<T>(
        IMatrixProduct product, Random random, bool transposeLeft, bool transposeRight, int m, int n, int k, int padding, double alpha, double beta, bool poisonDestination = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Values are rounded to T first, so the double reference sees exactly the provider's operands.
        double[] a = Rounded<T>(LayerCase.Draw(random, m * k, 1));
        double[] b = Rounded<T>(LayerCase.Draw(random, k * n, 1));
        double[] c = Rounded<T>(LayerCase.Draw(random, m * n, 1));
        double[] expected = Reference.Product(a, transposeLeft, b, transposeRight, m, n, k);
        double[] magnitude = Reference.Product(Array.ConvertAll(a, Math.Abs), transposeLeft, Array.ConvertAll(b, Math.Abs), transposeRight, m, n, k);

        (T[] left, int leftStride) = Padded<T>(a, transposeLeft ? k : m, transposeLeft ? m : k, padding, T.NaN);
        (T[] right, int rightStride) = Padded<T>(b, transposeRight ? n : k, transposeRight ? k : n, padding, T.NaN);
        (T[] destination, int destinationStride) = Padded<T>(poisonDestination ? Array.ConvertAll(c, _ => double.NaN) : c, m, n, padding, T.CreateTruncating(Untouched));

        product.Multiply(
            transposeLeft ? Transpose.Yes : Transpose.No,
            transposeRight ? Transpose.Yes : Transpose.No,
            m, n, k, T.CreateTruncating(alpha), left, leftStride, right, rightStride, T.CreateTruncating(beta), destination, destinationStride);

        // Rounding bound for a length-k dot product and the beta term, in units of T's epsilon.
        double unit = Math.ScaleB(1, typeof(T) == typeof(float) ? -24 : -53);
        string where = $"{product.Name} {typeof(T).Name} {(transposeLeft ? "T" : "N")}{(transposeRight ? "T" : "N")} {m}x{n}x{k} padding {padding} alpha {alpha} beta {beta}";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < destinationStride && (i * destinationStride) + j < destination.Length; j++)
            {
                double actual = double.CreateTruncating(destination[(i * destinationStride) + j]);
                if (j >= n)
                {
                    Assert.True(actual == Untouched, $"{where}: row padding at ({i}, {j}) became {actual}");
                    continue;
                }

                double old = beta == 0 ? 0 : c[(i * n) + j];
                double want = (alpha * expected[(i * n) + j]) + (beta * old);
                double tolerance = 4 * unit * (k + 2) * ((Math.Abs(alpha) * magnitude[(i * n) + j]) + Math.Abs(beta * old) + double.Epsilon);
                Assert.True(Math.Abs(actual - want) <= tolerance, $"{where}: C({i}, {j}) = {actual}, expected {want} within {tolerance}");
            }
        }
    }

    private static double[] Rounded<T>(double[] values)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Array.ConvertAll(values, value => double.CreateTruncating(T.CreateTruncating(value)));

    // Stores a rows x columns matrix with row stride columns + padding in the shortest span that holds it,
    // the padding filled with fill.
    private static (T[] Values, int Stride) Padded<T>(double[] tight, int rows, int columns, int padding, T fill)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int stride = columns + padding;
        int length = rows == 0 || columns == 0 ? 0 : ((rows - 1) * stride) + columns;
        var values = new T[length];
        Array.Fill(values, fill);
        for (int row = 0; row < rows; row++)
        {
            for (int column = 0; column < columns; column++)
            {
                values[(row * stride) + column] = T.CreateTruncating(tight[(row * columns) + column]);
            }
        }

        return (values, stride);
    }
}
