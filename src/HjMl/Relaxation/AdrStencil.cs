namespace HjMl.Relaxation;

/// <summary>
/// A kernel W parameterised by its local moments on a grid, applied as a three-point stencil per axis (THEORY.md section
/// 10). At site q, with M0 the reaction, M1_a the advection and M2_a the diffusion moment along axis a (unit vector e_a):
/// (W z)(q) = (M0 - sum_a M2_a) z_q + sum_a [ (M2_a - M1_a) / 2 z_{q - e_a} + (M2_a + M1_a) / 2 z_{q + e_a} ],
/// the unique kernel on {q, q +- e_a} with sum_r W = M0, sum_r W r_a = M1_a and sum_r W r_a^2 = M2_a [derived: THEORY.md
/// section 10, three-point kernel from moments and its 2-D form]; so
/// (W z)(q) = M0 z + M1 . grad z + (1/2) sum_a M2_a d_a^2 z in central differences. Sites beyond the grid hold 0
/// (zero Dirichlet boundary: the stencil is truncated, the kernel is not renormalised; THEORY.md section 10, boundary
/// rule). Cost O(N d) a row, no N x N matrix.
/// </summary>
/// <remarks>
/// Moments come in groups of <see cref="MomentsPerGroup"/> = 1 + 2d: [M0, M1_x, (M1_y,) M2_x, (M2_y)], x along a row and y
/// across rows; every site reads the group <see cref="GroupOf"/> gives it: one group for a homogeneous layer, one per
/// site for a heterogeneous one, one per tile x tile patch in between. In 2-D this keeps the second moment diagonal
/// (no mixed d_x d_y term), 5 numbers a site instead of the full 1 + 2 + 3.
/// </remarks>
internal sealed class AdrStencil
{
    private readonly int[] groupOfSite;

    /// <summary>The stencil on <paramref name="grid"/> with moments shared over <paramref name="tile"/> x <paramref name="tile"/> patches (0: one group for all).</summary>
    public AdrStencil(GridShape grid, int tile)
    {
        Grid = grid;
        Dimensions = grid.Dimensions;
        Tile = tile;
        groupOfSite = new int[grid.Length];
        if (tile == 0)
        {
            Groups = 1;
            return;
        }

        // A 1-D grid is tiled along its length whichever side it lies on.
        int across = (grid.Width + tile - 1) / tile;
        int down = (grid.Height + tile - 1) / tile;
        Groups = Dimensions == 1 ? (grid.Length + tile - 1) / tile : across * down;
        for (int site = 0; site < grid.Length; site++)
        {
            groupOfSite[site] = Dimensions == 1 ? site / tile : ((site / grid.Width / tile) * across) + (site % grid.Width / tile);
        }
    }

    /// <summary>The grid.</summary>
    public GridShape Grid { get; }

    /// <summary>d, 1 or 2.</summary>
    public int Dimensions { get; }

    /// <summary>The side of a moment patch; 0 for one group over the grid.</summary>
    public int Tile { get; }

    /// <summary>The number of moment groups.</summary>
    public int Groups { get; }

    /// <summary>1 + 2d: M0, then M1 per axis, then M2 per axis.</summary>
    public int MomentsPerGroup => 1 + (2 * Dimensions);

    /// <summary>All moments of a layer: Groups x MomentsPerGroup.</summary>
    public int ParameterCount => Groups * MomentsPerGroup;

    /// <summary>The moment group site <paramref name="site"/> reads.</summary>
    public int GroupOf(int site) => groupOfSite[site];

    /// <summary>result = W z (one row; result must not alias z).</summary>
    public void Apply(ReadOnlySpan<double> moments, ReadOnlySpan<double> z, Span<double> result)
    {
        int d = Dimensions;
        int per = MomentsPerGroup;
        for (int q = 0; q < z.Length; q++)
        {
            int g = groupOfSite[q] * per;
            double value = moments[g] * z[q];
            for (int a = 0; a < d; a++)
            {
                (double left, double right) = Neighbours(z, q, a);
                double m1 = moments[g + 1 + a];
                double m2 = moments[g + 1 + d + a];
                value += (0.5 * ((m2 - m1) * left + ((m2 + m1) * right))) - (m2 * z[q]);
            }

            result[q] = value;
        }
    }

    /// <summary>result = W^T g (one row; result must not alias g): each site's stencil scattered back to its neighbours.</summary>
    public void ApplyTranspose(ReadOnlySpan<double> moments, ReadOnlySpan<double> g, Span<double> result)
    {
        int d = Dimensions;
        int per = MomentsPerGroup;
        result[..g.Length].Clear();
        for (int q = 0; q < g.Length; q++)
        {
            int m = groupOfSite[q] * per;
            double centre = moments[m];
            for (int a = 0; a < d; a++)
            {
                double m1 = moments[m + 1 + a];
                double m2 = moments[m + 1 + d + a];
                centre -= m2;
                (int left, int right) = NeighbourSites(q, a);
                if (left >= 0)
                {
                    result[left] += 0.5 * (m2 - m1) * g[q];
                }

                if (right >= 0)
                {
                    result[right] += 0.5 * (m2 + m1) * g[q];
                }
            }

            result[q] += centre * g[q];
        }
    }

    /// <summary>
    /// gradient += dL/dmoments for a = W z and dL/da = g: dM0 = g_q z_q, dM1_a = g_q (z_{q+e} - z_{q-e}) / 2,
    /// dM2_a = g_q (z_{q+e} - 2 z_q + z_{q-e}) / 2, summed over the sites of each group [derived: THEORY.md section 10,
    /// adjoint with respect to the moments].
    /// </summary>
    public void AccumulateGradient(ReadOnlySpan<double> g, ReadOnlySpan<double> z, Span<double> gradient)
    {
        int d = Dimensions;
        int per = MomentsPerGroup;
        for (int q = 0; q < z.Length; q++)
        {
            int m = groupOfSite[q] * per;
            gradient[m] += g[q] * z[q];
            for (int a = 0; a < d; a++)
            {
                (double left, double right) = Neighbours(z, q, a);
                gradient[m + 1 + a] += 0.5 * g[q] * (right - left);
                gradient[m + 1 + d + a] += 0.5 * g[q] * (left + right - (2 * z[q]));
            }
        }
    }

    /// <summary>The moments of the identity kernel (M0 = 1, M1 = M2 = 0), group after group.</summary>
    public void Identity(Span<double> moments)
    {
        moments[..ParameterCount].Clear();
        for (int group = 0; group < Groups; group++)
        {
            moments[group * MomentsPerGroup] = 1.0;
        }
    }

    private (double Left, double Right) Neighbours(ReadOnlySpan<double> z, int q, int axis)
    {
        (int left, int right) = NeighbourSites(q, axis);
        return (left >= 0 ? z[left] : 0.0, right >= 0 ? z[right] : 0.0);
    }

    // q - e_a and q + e_a, or -1 beyond the grid.
    private (int Left, int Right) NeighbourSites(int q, int axis)
    {
        if (Dimensions == 1)
        {
            return (q > 0 ? q - 1 : -1, q < Grid.Length - 1 ? q + 1 : -1);
        }

        int width = Grid.Width;
        if (axis == 0)
        {
            int column = q % width;
            return (column > 0 ? q - 1 : -1, column < width - 1 ? q + 1 : -1);
        }

        int row = q / width;
        return (row > 0 ? q - width : -1, row < Grid.Height - 1 ? q + width : -1);
    }
}
