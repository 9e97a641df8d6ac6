using HjMl.Attribution;

namespace HjMl.Tests.Attribution;

public class PathQuadratureTests
{
    [Fact]
    public void GaussLegendreIntegratesEveryPolynomialUpToDegreeTwoQMinusOneExactlyOnTheUnitInterval()
    {
        foreach (int points in new[] { 1, 2, 3, 5, 8, 16, 32, 40 })
        {
            PathQuadrature rule = PathQuadrature.GaussLegendre(points);
            for (int degree = 0; degree < 2 * points; degree++)
            {
                double sum = rule.Nodes.Zip(rule.Weights, (alpha, weight) => weight * Math.Pow(alpha, degree)).Sum();
                Assert.True(Math.Abs(sum - (1.0 / (degree + 1))) <= 1e-14, $"Q = {points}: the integral of alpha^{degree} is {sum}, not {1.0 / (degree + 1)}");
            }

            if (points <= 8)
            {
                // Degree 2Q is the first the rule misses: the nodes are the roots of P_Q, so it is not exact for P_Q^2.
                double next = rule.Nodes.Zip(rule.Weights, (alpha, weight) => weight * Math.Pow(alpha, 2 * points)).Sum();
                Assert.True(Math.Abs(next - (1.0 / ((2 * points) + 1))) > 1e-12, $"Q = {points} integrates degree {2 * points} exactly");
            }
        }
    }

    [Fact]
    public void NodesLieInsideTheIntervalAscendingAndSymmetricWithPositiveWeightsThatSumToOne()
    {
        PathQuadrature rule = PathQuadrature.GaussLegendre(ModelExplainer.PathQuadratureNodes);
        Assert.Equal(32, rule.Count);
        for (int i = 0; i < rule.Count; i++)
        {
            Assert.InRange(rule.Nodes[i], 1e-6, 1 - 1e-6);
            Assert.True(rule.Weights[i] > 0);
            Assert.Equal(1, rule.Nodes[i] + rule.Nodes[rule.Count - 1 - i], 1e-15);
            Assert.Equal(rule.Weights[i], rule.Weights[rule.Count - 1 - i], 1e-16);
            Assert.True(i == 0 || rule.Nodes[i] > rule.Nodes[i - 1]);
        }

        Assert.Equal(1, rule.Weights.Sum(), 1e-15);
        PathQuadrature two = PathQuadrature.GaussLegendre(2);
        Assert.Equal(0.5 - (Math.Sqrt(3) / 6), two.Nodes[0], 1e-16);
        Assert.Equal(0.5 + (Math.Sqrt(3) / 6), two.Nodes[1], 1e-16);
        Assert.All(two.Weights, weight => Assert.Equal(0.5, weight, 1e-15));
    }
}
