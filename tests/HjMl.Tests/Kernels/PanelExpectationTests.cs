using HjMl.Kernels;
using HjMl.Layers;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

/// <summary>
/// <see cref="LseKernel{T}.PanelExpectation"/>, E_pi[w] read from the scoring panel, and the fused sweep
/// <see cref="LseKernel{T}.ExplainRowWithExpectations"/> against ExplainRow and the plain sum over pieces, and the
/// layer's certificate distances on the panel route against the row-major kernel's.
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

    [Theory]
    [MemberData(nameof(Widths))]
    public void TheFusedSweepScoresExactlyAsExplainRowAndItsExpectationsAgreeWithTheSumOverPieces(int bits)
    {
        // d = 300 makes chunks of a few slabs, so the online sums are rescaled as later chunks raise the maximum; eps = 1e-3
        // spreads the exponents to the floor, eps = 0 takes the tied maxima after the sweep.
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(67);
        const int d = 300;
        foreach ((int heads, int pieces, int first, int second) in new[] { (2, 600, 0, 1), (2, 37, 1, 0), (3, 250, 2, 0) })
        {
            double[] weights = LayerCase.Draw(random, heads * pieces * d, 0.2);
            double[] biases = LayerCase.Draw(random, heads * pieces, 1);
            double[] input = LayerCase.Draw(random, d, 1);
            var kernel = new LseKernel<double>(weights, biases, d, heads, width);
            Assert.True(pieces < 100 || kernel.ExpectationChunks > 2, "the case should take several chunks");
            foreach (double eps in new[] { 0.5, 1e-3, 0 })
            {
                var expectedScores = new double[heads];
                var expectedPi = new double[kernel.GibbsWeightsLength];
                var expectedEntropies = new double[heads];
                kernel.ExplainRow(input, expectedScores, eps, expectedPi, expectedEntropies);
                var scores = new double[heads];
                var pi = new double[kernel.GibbsWeightsLength];
                var entropies = new double[heads];
                var firstExpectation = new double[d];
                var secondExpectation = new double[d];
                kernel.ExplainRowWithExpectations(input, scores, eps, pi, entropies, first, firstExpectation, second, secondExpectation);
                Assert.Equal(expectedScores, scores);
                Assert.Equal(expectedPi.AsSpan(0, heads * pieces).ToArray(), pi.AsSpan(0, heads * pieces).ToArray());
                Assert.Equal(expectedEntropies, entropies);
                foreach ((int head, double[] actual) in new[] { (first, firstExpectation), (second, secondExpectation) })
                {
                    for (int k = 0; k < d; k++)
                    {
                        double sum = 0, scale = 0;
                        for (int j = 0; j < pieces; j++)
                        {
                            double term = expectedPi[(head * pieces) + j] * weights[(((head * pieces) + j) * d) + k];
                            sum += term;
                            scale += Math.Abs(term);
                        }

                        Assert.True(Math.Abs(actual[k] - sum) <= 1e-13 * Math.Max(scale, 1e-300), $"{heads} heads x {pieces} pieces, eps = {eps}, head {head}: E_{k} = {actual[k]} against {sum}");
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
