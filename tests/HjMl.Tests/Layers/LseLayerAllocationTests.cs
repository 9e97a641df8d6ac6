using HjMl.Layers;
using HjMl.Tests.Support;

namespace HjMl.Tests.Layers;

public class LseLayerAllocationTests
{
    [Fact]
    public void SingleRowEvaluationAllocatesNothingAfterTheFirstCall()
    {
        var random = new Random(5);
        double[] weights = Enumerable.Range(0, 3 * 8 * 64).Select(_ => random.NextDouble() - 0.5).ToArray();
        var layer = new LseLayer<double>(weights, new double[3 * 8], 64, 0.5, 3);
        double[] x = Enumerable.Range(0, 64).Select(_ => random.NextDouble()).ToArray();
        var scores = new double[3];
        var gradient = new double[64];
        Assert.Equal(0, Allocations.Fewest(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                layer.Evaluate(x, scores);
                layer.Evaluate(x, 1);
                layer.Entropy(x, 2);
                layer.EntropyGradient(x, 1, gradient);
            }
        }));
    }
}
