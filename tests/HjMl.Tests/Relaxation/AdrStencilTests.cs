using HjMl.Relaxation;

namespace HjMl.Tests.Relaxation;

public class AdrStencilTests
{
    public static TheoryData<int, int, int> Grids => new()
    {
        { 1, 9, 0 },
        { 1, 9, 1 },
        { 1, 10, 3 },
        { 4, 5, 0 },
        { 4, 5, 1 },
        { 5, 7, 2 },
    };

    [Theory]
    [MemberData(nameof(Grids))]
    public void InteriorStencilRowsHaveTheGivenMoments(int height, int width, int tile)
    {
        // Sum W, sum W r_a and sum W r_a^2 over a row of the materialised kernel are M0, M1_a and M2_a (section 10).
        var stencil = new AdrStencil(new GridShape(height, width), tile);
        double[] moments = RandomMoments(stencil, 3);
        double[,] w = Materialise(stencil, moments);
        int d = stencil.Dimensions;
        for (int q = 0; q < stencil.Grid.Length; q++)
        {
            (int row, int column) = (q / width, q % width);
            bool interior = d == 1 ? q > 0 && q < stencil.Grid.Length - 1 : row > 0 && row < height - 1 && column > 0 && column < width - 1;
            if (!interior)
            {
                continue;
            }

            int g = stencil.GroupOf(q) * stencil.MomentsPerGroup;
            double m0 = 0;
            var m1 = new double[d];
            var m2 = new double[d];
            for (int p = 0; p < stencil.Grid.Length; p++)
            {
                int[] r = d == 1 ? [p - q] : [(p % width) - column, (p / width) - row];
                m0 += w[q, p];
                for (int a = 0; a < d; a++)
                {
                    m1[a] += w[q, p] * r[a];
                    m2[a] += w[q, p] * r[a] * r[a];
                }
            }

            Assert.Equal(moments[g], m0, 12);
            for (int a = 0; a < d; a++)
            {
                Assert.Equal(moments[g + 1 + a], m1[a], 12);
                Assert.Equal(moments[g + 1 + d + a], m2[a], 12);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Grids))]
    public void TransposeIsTheMaterialisedKernelTransposed(int height, int width, int tile)
    {
        var stencil = new AdrStencil(new GridShape(height, width), tile);
        double[] moments = RandomMoments(stencil, 4);
        double[,] w = Materialise(stencil, moments);
        var random = new Random(8);
        int n = stencil.Grid.Length;
        double[] g = Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5).ToArray();
        var transposed = new double[n];
        stencil.ApplyTranspose(moments, g, transposed);
        for (int p = 0; p < n; p++)
        {
            double expected = 0;
            for (int q = 0; q < n; q++)
            {
                expected += w[q, p] * g[q];
            }

            Assert.Equal(expected, transposed[p], 12);
        }
    }

    [Fact]
    public void BoundarySitesSeeZeroBeyondTheGrid()
    {
        // Zero Dirichlet boundary: the first site of a line reads no left neighbour, so a field that is 1 only at site 0
        // gives (W z)_0 = M0 - M2 and (W z)_1 = (M2 - M1) / 2, and nothing wraps round to the last site.
        var stencil = new AdrStencil(GridShape.Line(6), 0);
        double[] moments = [0.9, 0.2, 0.3];
        var z = new double[6];
        z[0] = 1;
        var result = new double[6];
        stencil.Apply(moments, z, result);
        Assert.Equal(0.9 - 0.3, result[0], 15);
        Assert.Equal(0.5 * (0.3 - 0.2), result[1], 15);
        Assert.Equal(0.0, result[5]);
    }

    [Fact]
    public void HomogeneousTiledAndHeterogeneousGroupCountsAreThreeOrFiveTimesTheTiles()
    {
        Assert.Equal(3, new AdrStencil(GridShape.Line(100), 0).ParameterCount);
        Assert.Equal(300, new AdrStencil(GridShape.Line(100), 1).ParameterCount);
        Assert.Equal(5, new AdrStencil(new GridShape(28, 28), 0).ParameterCount);
        Assert.Equal(5 * 784, new AdrStencil(new GridShape(28, 28), 1).ParameterCount);
        Assert.Equal(5 * 16, new AdrStencil(new GridShape(28, 28), 7).ParameterCount);
    }

    internal static double[] RandomMoments(AdrStencil stencil, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, stencil.ParameterCount).Select(_ => (2 * random.NextDouble()) - 1).ToArray();
    }

    // Column p of W is W applied to the unit vector e_p.
    internal static double[,] Materialise(AdrStencil stencil, double[] moments)
    {
        int n = stencil.Grid.Length;
        var w = new double[n, n];
        var unit = new double[n];
        var column = new double[n];
        for (int p = 0; p < n; p++)
        {
            Array.Clear(unit);
            unit[p] = 1;
            stencil.Apply(moments, unit, column);
            for (int q = 0; q < n; q++)
            {
                w[q, p] = column[q];
            }
        }

        return w;
    }
}
