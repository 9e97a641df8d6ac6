using HjMl.Kernels;
using HjMl.Layers;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

/// <summary>
/// <see cref="LseKernel{T}.PanelExpectation"/>, E_pi[w] read from the scoring panel, against the plain sum over pieces,
/// and the layer's certificate distances on that route against the row-major kernel's.
/// </summary>
public class PanelExpectationTests
{
    public static TheoryData<int> Widths => KernelWidths.All;

    [Theory]
    [MemberData(nameof(Widths))]
    public void PanelExpectationEqualsTheSumOverPiecesForEveryHeadAndShape(int bits)
    {
        // Pieces 1..40 put head boundaries at every offset within a slab of three vectors; d 1..19 every block remainder.
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(59);
        foreach (int heads in new[] { 1, 2, 3 })
        {
            for (int pieces = 1; pieces <= 40; pieces++)
            {
                int d = 1 + random.Next(19);
                double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
                double[] biases = LayerCase.Draw(random, heads * pieces, 1);
                var kernel = new LseKernel<double>(weights, biases, d, heads, width);
                for (int head = 0; head < heads; head++)
                {
                    double[] pi = [.. Enumerable.Range(0, pieces).Select(_ => random.NextDouble())];
                    var expected = new double[d];
                    double scale = 0;
                    for (int j = 0; j < pieces; j++)
                    {
                        for (int k = 0; k < d; k++)
                        {
                            expected[k] += pi[j] * weights[(((head * pieces) + j) * d) + k];
                            scale += Math.Abs(pi[j] * weights[(((head * pieces) + j) * d) + k]);
                        }
                    }

                    var actual = new double[d];
                    kernel.PanelExpectation(head, pi, actual);
                    for (int k = 0; k < d; k++)
                    {
                        Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-14 * Math.Max(1, scale), $"{heads} heads x {pieces} pieces, d = {d}, head {head}: E_{k} = {actual[k]} against {expected[k]}");
                    }
                }
            }
        }
    }

    [Fact]
    public void CertificateDistancesThroughThePanelAgreeWithTheRowMajorKernel()
    {
        // 3 heads x 600 pieces x 300 features of double is 4.3 MB, past the size from which the layer reads the panel.
        var random = new Random(61);
        const int heads = 3, pieces = 600, d = 300;
        double[] weights = LayerCase.Draw(random, heads * pieces * d, 0.1);
        double[] biases = LayerCase.Draw(random, heads * pieces, 1);
        var layer = new LseLayer<double>(weights, biases, d, 0.5, heads);
        double[] pi = [.. Enumerable.Range(0, heads * pieces).Select(_ => random.NextDouble() / pieces)];
        for (int reference = 0; reference < heads; reference++)
        {
            var panel = new double[heads];
            var rows = new double[heads];
            layer.SquaredDistances(reference, pi, panel);
            layer.Expectation.SquaredDistances(reference, pi, rows);
            for (int head = 0; head < heads; head++)
            {
                Assert.True(Math.Abs(panel[head] - rows[head]) <= 1e-12 * Math.Max(1, rows[head]), $"reference {reference}, head {head}: {panel[head]} against {rows[head]}");
            }

            Assert.Equal(0, panel[reference]);
        }
    }
}
