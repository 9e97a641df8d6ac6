namespace HjMl.Attribution;

/// <summary>
/// The Gauss–Legendre rule on [0, 1] (THEORY.md section 9, integrated gradients [derived]): with xi_i the roots of the
/// Legendre polynomial P_Q and w_i = 2 / ((1 - xi_i^2) P_Q'(xi_i)^2) the rule on [-1, 1], the nodes are
/// alpha_i = (1 + xi_i) / 2 and the weights w_i / 2. Exact for polynomials of degree 2Q - 1; for a smooth integrand g the
/// error is (Q!)^4 / ((2Q + 1) ((2Q)!)^3) g^(2Q)(zeta) for some zeta in [0, 1]. On a panel [a, b] of a composite rule
/// the nodes are a + (b - a) alpha_i and the weights (b - a) w_i / 2.
/// </summary>
internal sealed class PathQuadrature
{
    private PathQuadrature(double[] nodes, double[] weights)
    {
        Nodes = nodes;
        Weights = weights;
    }

    /// <summary>alpha_q in (0, 1), ascending.</summary>
    public double[] Nodes { get; }

    /// <summary>The weights, which sum to 1.</summary>
    public double[] Weights { get; }

    /// <summary>Q, the nodes.</summary>
    public int Count => Nodes.Length;

    /// <summary>The rule of <paramref name="points"/> Gauss–Legendre nodes.</summary>
    public static PathQuadrature GaussLegendre(int points)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 1);
        var xi = new double[points];
        var w = new double[points];
        for (int i = 0; i < (points + 1) / 2; i++)
        {
            // Newton on P_Q from Tricomi's estimate of its i-th largest root; the three-term recurrence gives P_Q and
            // P_{Q-1}, and (x^2 - 1) P_Q' = Q (x P_Q - P_{Q-1}).
            double x = Math.Cos(Math.PI * (i + 0.75) / (points + 0.5));
            double derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                double current = 1, previous = 0;
                for (int j = 1; j <= points; j++)
                {
                    double older = previous;
                    previous = current;
                    current = (((2 * j) - 1) * x * previous - ((j - 1) * older)) / j;
                }

                derivative = points * ((x * current) - previous) / ((x * x) - 1);
                double step = current / derivative;
                x -= step;
                if (Math.Abs(step) <= 1e-16)
                {
                    break;
                }
            }

            xi[i] = -x;
            xi[points - 1 - i] = x;
            w[i] = w[points - 1 - i] = 2 / ((1 - (x * x)) * derivative * derivative);
        }

        var nodes = new double[points];
        var weights = new double[points];
        for (int i = 0; i < points; i++)
        {
            nodes[i] = 0.5 * (1 + xi[i]);
            weights[i] = 0.5 * w[i];
        }

        return new PathQuadrature(nodes, weights);
    }
}
