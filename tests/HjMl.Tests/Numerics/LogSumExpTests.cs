using HjMl.Numerics;
using HjMl.Tests.Support;

namespace HjMl.Tests.Numerics;

public class LogSumExpTests
{
    [Fact]
    public void EveryLengthUpTo256MatchesTheReference()
    {
        var random = new Random(3);
        foreach (double eps in new[] { 1e-12, 1e-3, 1.0, 1e3, 1e12 })
        {
            for (int length = 1; length <= 256; length++)
            {
                double[] z = LayerCase.Draw(random, length, 50);
                double expected = Reference.LogSumExp(z, eps);
                double actual = LogSumExp.Evaluate<double>(z, eps, new double[length]);
                Assert.Equal(expected, actual, 1e-13 * Math.Max(1, Math.Abs(expected)));

                float[] zf = Array.ConvertAll(z, v => (float)v);
                float single = LogSumExp.Evaluate<float>(zf, (float)eps, new float[length]);
                double expectedSingle = Reference.LogSumExp(Array.ConvertAll(zf, v => (double)v), (float)eps);
                Assert.Equal(expectedSingle, single, 1e-6 * Math.Max(1, Math.Abs(expectedSingle)));
            }
        }
    }

    [Fact]
    public void GibbsWeightsSumToOneAtEveryLength()
    {
        var random = new Random(4);
        for (int length = 1; length <= 256; length++)
        {
            double[] z = LayerCase.Draw(random, length, 1e3);
            var weights = new double[length];
            double f = LogSumExp.GibbsWeights<double>(z, 0.7, weights);
            Assert.Equal(1.0, weights.Sum(), 12);
            Assert.Equal(Reference.LogSumExp(z, 0.7), f, 1e-12 * Math.Abs(f));
        }
    }

    [Fact]
    public void EvaluateMayUseTheLogitStorageAsWork()
    {
        double[] z = [3, -1, 2.5, 0];
        double expected = Reference.LogSumExp(z, 0.4);
        Assert.Equal(expected, LogSumExp.Evaluate<double>(z, 0.4, z), 14);
    }

    [Fact]
    public void TropicalWeightsAreUniformOverTies()
    {
        var weights = new double[4];
        Assert.Equal(2.0, LogSumExp.GibbsWeights<double>([2.0, 1.0, 2.0, -5.0], 0, weights));
        Assert.Equal([0.5, 0, 0.5, 0], weights);
        Assert.Equal(Math.Log(2), LogSumExp.Entropy<double>(weights, new double[4]), 15);
    }

    [Fact]
    public void EmptyOrShortSpansAreRejected()
    {
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() => LogSumExp.Evaluate<double>([], 1.0, new double[1])).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => LogSumExp.GibbsWeights<double>([1.0, 2.0], 1.0, new double[1])).ParamName);
    }
}
