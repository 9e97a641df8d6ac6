using System.Numerics;
using HjMl.Kernels;

namespace HjMl.Tests.Kernels;

public class GradientKernelTests
{
    [Fact]
    public void LogIsWithin1e12OfMathLogOverTheSumsAScoreTakes()
    {
        // The kernel takes ln of sums S in [2^100, N 2^100]; the check spans far wider, every binade from 2^-1000 to
        // 2^1000, with the mantissas either side of sqrt(2), where the reduction switches.
        var random = new Random(20);
        var values = new List<double> { 1, Math.Sqrt(2), Math.BitDecrement(Math.Sqrt(2)), Math.BitIncrement(Math.Sqrt(2)), 2, Math.Pow(2, 100), 200 * Math.Pow(2, 100) };
        for (int exponent = -1000; exponent <= 1000; exponent++)
        {
            values.Add(Math.ScaleB(1 + random.NextDouble(), exponent));
            values.Add(Math.ScaleB(Math.Sqrt(2) + ((random.NextDouble() - 0.5) * 1e-9), exponent));
        }

        var lanes = new double[Vector<double>.Count];
        double worst = 0;
        foreach (double x in values)
        {
            Array.Fill(lanes, x);
            double actual = GradientKernel.Log(new Vector<double>(lanes))[0];
            worst = Math.Max(worst, Math.Abs(actual - Math.Log(x)) / Math.Max(1, Math.Abs(Math.Log(x))));
        }

        Assert.True(worst <= 1e-12, $"worst relative error {worst}");
    }
}
