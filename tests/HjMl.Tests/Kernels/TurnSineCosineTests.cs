using HjMl.Kernels;

namespace HjMl.Tests.Kernels;

public class TurnSineCosineTests
{
    [Fact]
    public void DoubleValuesAreWithinAFewUlpOfSinCosPiForEveryMagnitude()
    {
        // Turns from 1e-6 to 1e15 (exact quarter-turn reduction), every length 0..70 (every tail of every vector width).
        var random = new Random(3);
        double worst = 0;
        for (int length = 0; length <= 70; length++)
        {
            double[] turns = [.. Enumerable.Range(0, length).Select(_ => ((2 * random.NextDouble()) - 1) * Math.Pow(10, random.Next(-6, 16)))];
            var sines = new double[length];
            var cosines = new double[length];
            TurnSineCosine.Evaluate<double>(turns, sines, cosines);
            for (int i = 0; i < length; i++)
            {
                (double sine, double cosine) = double.SinCosPi(2 * turns[i]);
                worst = Math.Max(worst, Math.Max(Math.Abs(sine - sines[i]), Math.Abs(cosine - cosines[i])));
            }
        }

        Assert.True(worst <= 2e-15, $"the largest error is {worst:E2}");
    }

    [Fact]
    public void SingleValuesAreWithinFloatRoundingOfTheTrueValues()
    {
        var random = new Random(4);
        float[] turns = [.. Enumerable.Range(0, 1000).Select(_ => (float)(((2 * random.NextDouble()) - 1) * Math.Pow(10, random.Next(-4, 8))))];
        var sines = new float[turns.Length];
        var cosines = new float[turns.Length];
        TurnSineCosine.Evaluate<float>(turns, sines, cosines);
        double worst = 0;
        for (int i = 0; i < turns.Length; i++)
        {
            (double sine, double cosine) = double.SinCosPi(2.0 * turns[i]);
            worst = Math.Max(worst, Math.Max(Math.Abs(sine - sines[i]), Math.Abs(cosine - cosines[i])));
        }

        Assert.True(worst <= 3e-7, $"the largest error is {worst:E2}");
    }

    [Fact]
    public void QuarterTurnsAreExactAndInPlaceEvaluationEqualsSeparateBuffers()
    {
        double[] turns = [0, 0.25, 0.5, 0.75, 1, -0.25, -0.5, 1e300, 1e15 + 0.25];
        var sines = new double[turns.Length];
        var cosines = new double[turns.Length];
        TurnSineCosine.Evaluate<double>(turns, sines, cosines);
        Assert.Equal([0, 1, 0, -1, 0, -1, 0, 0, 1], sines);
        Assert.Equal([1, 0, -1, 0, 1, 0, -1, 1, 0], cosines);

        double[] inPlace = [.. turns];
        var inPlaceSines = new double[turns.Length];
        TurnSineCosine.Evaluate<double>(inPlace, inPlaceSines, inPlace);
        Assert.Equal(sines, inPlaceSines);
        Assert.Equal(cosines, inPlace);
    }
}
