using System.Numerics.Tensors;
using HjMl.Embeddings;

namespace HjMl.Tests.Embeddings;

public class PeriodicEmbeddingLipschitzTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NoSampledPairOfRowsMovesZ0FartherThanTheBoundTimesTheirDistanceAndTheBoundIsAtMostTheFrobeniusOne(bool passThrough)
    {
        // Pairs at distances 1e-6 to 3 (the local slopes, where the bound is nearly reached, and chords), and the
        // per-unit bound 2 pi sqrt(sum_j (sum_k |c_k| r_jk)^2) against 2 pi ||c_f|| ||L_f||_F.
        var random = new Random(17);
        int d = 3;
        var shape = new EmbeddingShape(d, passThrough ? [0, 2] : [0, 1, 2], frequencies: 4, width: 5);
        double largestRatio = 0;
        for (int trial = 0; trial < 10; trial++)
        {
            double[] parameters = [.. Enumerable.Range(0, shape.ParameterCount).Select(_ => 1.5 * ((2 * random.NextDouble()) - 1))];
            double bound = PeriodicEmbedding.LipschitzBound(shape, parameters);
            double frobenius = passThrough ? 1 : 0;
            for (int slot = 0; slot < shape.Features.Count; slot++)
            {
                frobenius = Math.Max(frobenius, 2 * Math.PI * TensorPrimitives.Norm<double>(parameters.AsSpan(shape.FrequenciesOffset(slot), shape.Frequencies)) * TensorPrimitives.Norm<double>(parameters.AsSpan(shape.WeightsOffset(slot), 2 * shape.Frequencies * shape.Width)));
            }

            Assert.True(bound <= frobenius * (1 + 1e-12), $"trial {trial}: the bound {bound} exceeds the Frobenius bound {frobenius}");
            var first = new double[shape.OutputWidth];
            var second = new double[shape.OutputWidth];
            for (int pair = 0; pair < 2000; pair++)
            {
                double[] x = [.. Enumerable.Range(0, d).Select(_ => 3 * ((2 * random.NextDouble()) - 1))];
                double distance = Math.Pow(10, -6 + (6.5 * random.NextDouble()));
                double[] direction = [.. Enumerable.Range(0, d).Select(_ => random.NextDouble() - 0.5)];
                double norm = Math.Sqrt(direction.Sum(v => v * v));
                double[] y = [.. x.Select((v, i) => v + (distance * direction[i] / norm))];
                PeriodicEmbedding.Forward(shape, parameters, x, first);
                PeriodicEmbedding.Forward(shape, parameters, y, second);
                double ratio = TensorPrimitives.Distance<double>(first, second) / TensorPrimitives.Distance<double>(x, y);
                Assert.True(ratio <= bound * (1 + 1e-6), $"trial {trial}: z_0 moved {ratio} times the distance, above the bound {bound}");
                largestRatio = Math.Max(largestRatio, ratio / bound);
            }
        }

        Assert.True(largestRatio >= 0.3, $"the largest sampled slope is only {largestRatio:F2} of the bound: the samples do not test it");
    }
}
