using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class SupportPlacementTests
{
    [Fact]
    public void KMeansPlusPlusChoosesTheSameRowsOnOneCoreAndOnSeveral()
    {
        // digits three times over (5,391 rows x 64): enough rows that the distances split into chunks over the cores.
        Dataset digits = TestData.Load("digits.csv");
        int d = digits.Columns;
        int copies = 3;
        var inputs = new double[copies * digits.Features.Length];
        for (int copy = 0; copy < copies; copy++)
        {
            digits.Features.CopyTo(inputs.AsSpan(copy * digits.Features.Length));
        }

        int[] candidates = [.. Enumerable.Range(0, copies * digits.Rows)];
        int[] one = SupportInitialiser.Choose(inputs, d, d, candidates, 48, kMeansPlusPlus: true, new Random(5), threads: 1);
        int[] several = SupportInitialiser.Choose(inputs, d, d, candidates, 48, kMeansPlusPlus: true, new Random(5), threads: 4);
        Assert.Equal(one, several);
        Assert.True(one.Distinct().Count() > 40, "k-means++ spreads its picks over distinct rows");
    }

    [Fact]
    public void KMeansPlusPlusPicksTheRowsOfTheReferenceSeedingWithTensorPrimitivesDistances()
    {
        // The placement's own distance kernel against the seeding computed with TensorPrimitives' subtract and dot (the
        // arithmetic it replaced): digits' rows, each class's rows as candidates, several seeds and thread counts.
        Dataset digits = TestData.Load("digits.csv");
        int d = digits.Columns;
        double[] inputs = digits.Features.ToArray();
        foreach (int seed in new[] { 1, 2, 3 })
        {
            int[] candidates = [.. Enumerable.Range(0, digits.Rows).Where(row => digits.Labels[row] == seed)];
            int[] reference = ReferenceKMeansPlusPlus(inputs, d, candidates, 24, new Random(seed));
            Assert.Equal(reference, SupportInitialiser.Choose(inputs, d, d, candidates, 24, kMeansPlusPlus: true, new Random(seed), threads: 1));
            Assert.Equal(reference, SupportInitialiser.Choose(inputs, d, d, candidates, 24, kMeansPlusPlus: true, new Random(seed), threads: 2));
        }
    }

    [Fact]
    public void SquaredDistanceMatchesTheSumOfSquaredDifferencesAtEveryLength()
    {
        var random = new Random(7);
        for (int length = 0; length <= 256; length++)
        {
            double[] x = [.. Enumerable.Range(0, length).Select(_ => (random.NextDouble() - 0.5) * 1e3)];
            double[] y = [.. Enumerable.Range(0, length).Select(_ => (random.NextDouble() - 0.5) * 1e3)];
            double expected = 0;
            for (int i = 0; i < length; i++)
            {
                expected += (x[i] - y[i]) * (x[i] - y[i]);
            }

            double actual = SupportInitialiser.SquaredDistance(x, y);
            Assert.True(Math.Abs(actual - expected) <= 1e-13 * expected, $"length {length}: {actual} against {expected}");
        }
    }

    // k-means++ as SupportInitialiser.Choose draws it, its distances by TensorPrimitives.
    private static int[] ReferenceKMeansPlusPlus(double[] inputs, int d, int[] candidates, int count, Random random)
    {
        var chosen = new int[count];
        var distances = new double[candidates.Length];
        Array.Fill(distances, double.PositiveInfinity);
        var difference = new double[d];
        int current = candidates[random.Next(candidates.Length)];
        for (int j = 0; j < count; j++)
        {
            chosen[j] = current;
            for (int i = 0; i < candidates.Length; i++)
            {
                TensorPrimitives.Subtract(inputs.AsSpan(candidates[i] * d, d), inputs.AsSpan(current * d, d), difference);
                distances[i] = Math.Min(distances[i], TensorPrimitives.Dot<double>(difference, difference));
            }

            double total = 0;
            foreach (double distance in distances)
            {
                total += distance;
            }

            double target = random.NextDouble() * total;
            int pick = candidates.Length - 1;
            for (int i = 0; i < candidates.Length; i++)
            {
                target -= distances[i];
                if (target <= 0)
                {
                    pick = i;
                    break;
                }
            }

            current = candidates[pick];
        }

        return chosen;
    }
}
