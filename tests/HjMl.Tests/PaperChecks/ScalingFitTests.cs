using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class ScalingFitTests
{
    [Theory]
    [InlineData(0.076, 13.2)]
    [InlineData(0.35, 2.9)]
    [InlineData(0.24, 4.2)]
    [InlineData(0.38, 2.6)]
    public void PublishedExponentsGiveThePapersIntrinsicDimensions(double exponent, double dimension)
        => Assert.Equal(dimension, Math.Round(ScalingFit.DimensionOf(exponent), 1));

    [Fact]
    public void AnExactPowerLawIsRecoveredWithAZeroWidthInterval()
    {
        double[] widths = [10, 20, 50, 100, 200, 500];
        ScalingFit fit = ScalingFit.Fit(widths, widths.Select(n => 3 * Math.Pow(n, -0.35)).ToArray());
        Assert.Equal(0.35, fit.Exponent, 12);
        Assert.Equal(3, fit.Constant, 10);
        Assert.Equal(fit.Exponent, fit.ExponentLower, 9);
        Assert.Equal(2.857, fit.IntrinsicDimension, 3);
    }

    [Fact]
    public void NoisyPairsGiveAnIntervalThatContainsTheTrueExponent()
    {
        var random = new Random(4);
        double[] widths = Enumerable.Range(1, 12).Select(i => 10.0 * i * i).ToArray();
        double[] errors = widths.Select(n => Math.Pow(n, -0.24) * Math.Exp(0.05 * ((2 * random.NextDouble()) - 1))).ToArray();
        ScalingFit fit = ScalingFit.Fit(widths, errors);
        Assert.InRange(0.24, fit.ExponentLower, fit.ExponentUpper);
        Assert.True(fit.ExponentUpper > fit.ExponentLower);
        (double lower, double upper) = fit.IntrinsicDimensionInterval;
        Assert.InRange(fit.IntrinsicDimension, lower, upper);
    }

    [Fact]
    public void BadPairsAreRejected()
    {
        Assert.Contains("at least two", Assert.Throws<ArgumentException>(() => ScalingFit.Fit([10.0], [1.0])).Message);
        Assert.Contains("must be finite and > 0", Assert.Throws<ArgumentException>(() => ScalingFit.Fit([10.0, 20], [1.0, 0])).Message);
        Assert.Contains("same", Assert.Throws<ArgumentException>(() => ScalingFit.Fit([10.0, 10], [1.0, 2])).Message);
        Assert.Throws<ArgumentException>(() => ScalingFit.DimensionOf(0));
    }
}
