using System.Numerics.Tensors;
using HjMl.HopfCole;
using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class AttentionVerificationTests
{
    private static ClaimCheckRow Row(string claimStart)
        => Assert.Single(AttentionVerification.Rows(3), row => row.Claim.StartsWith(claimStart, StringComparison.Ordinal));

    [Fact]
    public void ScaledDotProductAttentionIsAGibbsExpectation()
    {
        ClaimCheckRow row = Row("attention: softmax");
        Assert.InRange(row.Measured, 0, AttentionVerification.ExpectationTolerance);
        Assert.True(row.Passed);
    }

    [Fact]
    public void L2AttentionIsTheHopfColeCharacteristicQMinusTwoTGradU()
    {
        ClaimCheckRow row = Row("L2 attention = q - 2t grad u");
        Assert.InRange(row.Measured, 0, AttentionVerification.HopfColeTolerance);
        Assert.True(row.Passed);
    }

    [Fact]
    public void HopfColeGradientAgreesWithTheSolutionsAnalyticGradientNorm()
    {
        ClaimCheckRow row = Row("L2 attention: |grad u|^2");
        Assert.InRange(row.Measured, 0, AttentionVerification.HopfColeTolerance);
        Assert.True(row.Passed);
    }

    [Fact]
    public void AnLseFeedForwardOnTheAttentionOutputSatisfiesTheHopfColeIdentity()
    {
        ClaimCheckRow row = Row("attention + LSE feed-forward");
        Assert.InRange(row.Measured, 0, IdentityVerification.IdentityTolerance);
        Assert.True(row.Passed);
    }

    [Theory]
    [InlineData(1.0, 0.5)]
    [InlineData(0.5, 2.0)]
    public void L2AttentionIsQMinusTwoTTimesCentralDifferencesOfTheSolution(double time, double eps)
    {
        // Independent of the row: grad u from central differences of HopfColeSolution.Evaluate itself.
        var random = new Random(11);
        const int d = 3, keys = 7;
        double[] keyPoints = Enumerable.Range(0, keys * d).Select(_ => (3 * random.NextDouble()) - 1.5).ToArray();
        var solution = new HopfColeSolution<double>(keyPoints, new double[keys], d, time, eps);
        for (int trial = 0; trial < 5; trial++)
        {
            double[] q = Enumerable.Range(0, d).Select(_ => (4 * random.NextDouble()) - 2).ToArray();
            double[] logits = Enumerable.Range(0, keys).Select(j => -Math.Pow(TensorPrimitives.Distance(q, keyPoints.AsSpan(j * d, d)), 2) / (4 * time * eps)).ToArray();
            double largest = logits.Max();
            double[] pi = logits.Select(z => Math.Exp(z - largest)).ToArray();
            double sum = pi.Sum();
            for (int k = 0; k < d; k++)
            {
                double attention = Enumerable.Range(0, keys).Sum(j => pi[j] / sum * keyPoints[(j * d) + k]);
                const double step = 1e-5;
                double[] up = (double[])q.Clone(), down = (double[])q.Clone();
                up[k] += step;
                down[k] -= step;
                double gradient = (solution.Evaluate(up) - solution.Evaluate(down)) / (2 * step);
                Assert.Equal(attention, q[k] - (2 * time * gradient), 1e-7);
            }
        }
    }
}
