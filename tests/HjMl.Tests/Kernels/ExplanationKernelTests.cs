using System.Runtime.Intrinsics;
using HjMl.Kernels;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

/// <summary>
/// The kernels explanations run on: <see cref="LseKernel{T}.ExplainRow"/> (scores, Gibbs weights and entropies from one
/// pass) and <see cref="ExpectationKernel{T}"/> (E_pi[w] and the margins' gradient norms), against plain references.
/// </summary>
public class ExplanationKernelTests
{
    public static TheoryData<int> Widths => KernelWidths.All;

    [Theory]
    [MemberData(nameof(Widths))]
    public void ExplainRowScoresExactlyAsEvaluateRowAndItsWeightsAndEntropiesAgreeWithTheReference(int bits)
    {
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(31);
        // 8, 10 and 17 heads of up to 8 pieces also take the eight-heads-at-once path (512-bit vectors).
        var shapes = new[] { 1, 2, 3, 10 }.SelectMany(heads => Enumerable.Range(0, 40).Where(step => (step * heads) + 1 <= 40).Select(step => (heads, (step * heads) + 1)))
            .Concat(new[] { 8, 10, 17 }.SelectMany(heads => Enumerable.Range(1, 8).Select(pieces => (heads, pieces))));
        foreach ((int heads, int pieces) in shapes)
        {
            {
                int d = 1 + random.Next(20);
                double eps = Math.Pow(10, random.Next(-3, 3));
                double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
                double[] biases = LayerCase.Draw(random, heads * pieces, 1);
                double[] input = LayerCase.Draw(random, d, 2);
                var kernel = new LseKernel<double>(weights, biases, d, heads, width);
                var expected = new double[heads];
                kernel.EvaluateRow(input, expected, eps);
                var scores = new double[heads];
                var pi = new double[kernel.GibbsWeightsLength];
                var entropies = new double[heads];
                kernel.ExplainRow(input, scores, eps, pi, entropies);
                Assert.Equal(expected, scores);
                for (int head = 0; head < heads; head++)
                {
                    // Each exponent (z_j - m) / eps carries the logits' rounding, about 1e-16 max |z| / eps, into pi and H.
                    double[] logits = Reference.Logits(weights, biases, input, head, pieces);
                    double tolerance = 1e-14 + (1e-15 * logits.Max(Math.Abs) / eps);
                    (double[] reference, double entropy) = Gibbs(logits, eps);
                    for (int j = 0; j < pieces; j++)
                    {
                        Assert.True(Math.Abs(pi[(head * pieces) + j] - reference[j]) <= tolerance, $"{heads} heads x {pieces} pieces, d = {d}, eps = {eps}: pi_{j} = {pi[(head * pieces) + j]} against {reference[j]}");
                    }

                    Assert.True(Math.Abs(entropies[head] - entropy) <= tolerance * Math.Max(1, Math.Log(pieces)), $"{heads} heads x {pieces} pieces, eps = {eps}: H = {entropies[head]} against {entropy}");
                }
            }
        }
    }

    [Fact]
    public unsafe void EightHeadSumsAreEachVectorsVector512SumToTheBit()
    {
        // The scores of heads explained eight at a time equal EvaluateRow's only if S is summed in Vector512.Sum's order;
        // magnitudes from 1e-12 to 1e12 make any other order round differently.
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            return;
        }

        var random = new Random(17);
        Vector512<double>* values = stackalloc Vector512<double>[EightHeads.Count];
        for (int round = 0; round < 1000; round++)
        {
            for (int head = 0; head < EightHeads.Count; head++)
            {
                double[] lanes = new double[8];
                for (int lane = 0; lane < 8; lane++)
                {
                    lanes[lane] = (random.NextDouble() - 0.25) * Math.Pow(10, random.Next(-12, 13));
                }

                values[head] = Vector512.Create(lanes);
            }

            Vector512<double> sums = EightHeads.Sums(values);
            Vector512<double> maxima = EightHeads.Maxima(values);
            for (int head = 0; head < EightHeads.Count; head++)
            {
                double largest = double.NegativeInfinity;
                for (int lane = 0; lane < 8; lane++)
                {
                    largest = Math.Max(largest, values[head][lane]);
                }

                Assert.Equal(BitConverter.DoubleToInt64Bits(Vector512.Sum(values[head])), BitConverter.DoubleToInt64Bits(sums[head]));
                Assert.Equal(largest, maxima[head]);
            }
        }
    }

    [Fact]
    public void SquaredDistancesStayNumbersWhenTheGramEntriesOverflow()
    {
        // 2N < d takes the Gram path; weights near 1e160 make w . w overflow, and the distances must still be numbers.
        var random = new Random(43);
        const int heads = 3, pieces = 2, d = 40;
        double[] weights = LayerCase.Draw(random, heads * pieces * d, 1e160);
        double[] pi = [0.25, 0.75, 0.5, 0.5, 1, 0];
        var kernel = new ExpectationKernel<double>(weights, d, pieces, LseKernel<double>.PreferredWidth);
        var squared = new double[heads];
        kernel.SquaredDistances(0, pi, squared);
        Assert.All(squared, value => Assert.False(double.IsNaN(value)));
        Assert.Equal(0, squared[0]);
    }

    [Fact]
    public void ExplainRowAtZeroAndVanishingViscositySharesTheWeightAmongTiedMaxima()
    {
        // Two heads of three pieces; head 0 has a tie at the top, head 1 a single maximum. eps = 1e-320 makes 1/eps overflow.
        double[] weights = [1, 0, 1, 0, -1, 0, 0, 1, 0, 2, 0, 3];
        double[] biases = [0, 0, 0, 0, 0, 0];
        double[] input = [2, 1];
        var kernel = new LseKernel<double>(weights, biases, 2, 2, LseKernelPreferredWidth());
        foreach (double eps in new[] { 0.0, 1e-320 })
        {
            var scores = new double[2];
            var pi = new double[kernel.GibbsWeightsLength];
            var entropies = new double[2];
            kernel.ExplainRow(input, scores, eps, pi, entropies);
            Assert.Equal([2.0, 3.0], scores);
            Assert.Equal([0.5, 0.5, 0, 0, 0, 1], pi[..6]);
            Assert.Equal(Math.Log(2), entropies[0], 15);
            Assert.Equal(0, entropies[1]);
        }
    }

    [Fact]
    public void ExplainRowStaysFiniteForExtremeLogitsAndViscosities()
    {
        var random = new Random(5);
        foreach (double eps in new[] { 1e-300, 1e-12, 1, 1e12, 1e300 })
        {
            double[] weights = LayerCase.Draw(random, 2 * 7 * 3, 1e150);
            double[] biases = LayerCase.Draw(random, 2 * 7, 1e150);
            double[] input = LayerCase.Draw(random, 3, 1);
            var kernel = new LseKernel<double>(weights, biases, 3, 2, LseKernelPreferredWidth());
            var scores = new double[2];
            var pi = new double[kernel.GibbsWeightsLength];
            var entropies = new double[2];
            kernel.ExplainRow(input, scores, eps, pi, entropies);
            Assert.All(scores, value => Assert.True(double.IsFinite(value)));
            Assert.All(pi[..14], value => Assert.True(value is >= 0 and <= 1));
            Assert.All(entropies, value => Assert.True(value >= 0 && value <= Math.Log(7) + 1e-15, $"eps = {eps}: H = {value}"));
            Assert.Equal(1, pi[..7].Sum(), 12);
            Assert.Equal(1, pi[7..14].Sum(), 12);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ExpectationAndSquaredDistancesAgreeWithTheReferenceForEveryShape(int bits)
    {
        // d = 1..70 covers blocks of 1 to 8 vectors and every tail; odd and even N cover the unpaired last piece.
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(37);
        for (int d = 1; d <= 70; d++)
        {
            int heads = 1 + random.Next(4);
            int pieces = 1 + random.Next(9);
            double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
            double[] pi = new double[heads * pieces];
            for (int i = 0; i < pi.Length; i++)
            {
                pi[i] = random.NextDouble();
            }

            var kernel = new ExpectationKernel<double>(weights, d, pieces, width);
            var expectations = new double[heads][];
            for (int head = 0; head < heads; head++)
            {
                var row = new double[kernel.Stride];
                kernel.Expectation(head, pi.AsSpan(head * pieces, pieces), row);
                expectations[head] = Expected(weights, pi, head, pieces, d);
                for (int k = 0; k < d; k++)
                {
                    Assert.True(Math.Abs(row[k] - expectations[head][k]) <= 1e-13, $"d = {d}, N = {pieces}, head {head}: E[{k}] = {row[k]} against {expectations[head][k]}");
                }

                Assert.All(row[d..], value => Assert.Equal(0, value));
            }

            int reference = random.Next(heads);
            var squared = new double[heads];
            kernel.SquaredDistances(reference, pi, squared);
            for (int head = 0; head < heads; head++)
            {
                double exact = 0;
                for (int k = 0; k < d; k++)
                {
                    double difference = expectations[reference][k] - expectations[head][k];
                    exact += difference * difference;
                }

                // Where 2N < d the Gram path adds its rounding allowance, so the result is an upper bound within ~1e-13.
                Assert.True(squared[head] >= exact - (1e-13 * Math.Max(1, exact)), $"d = {d}, N = {pieces}, heads {reference} and {head}: {squared[head]} below {exact}");
                Assert.True(squared[head] <= exact + (1e-11 * Math.Max(1, exact)), $"d = {d}, N = {pieces}, heads {reference} and {head}: {squared[head]} against {exact}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void TwoHeadExpectationsEqualTwoSingleHeadExpectationsBitForBit(int bits)
    {
        // d = 1..70: blocks of 1 to 4 vectors, several blocks, every tail; N = 1..9 (odd N leaves an unpaired last piece);
        // the heads in either order and the same head twice.
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(41);
        for (int d = 1; d <= 70; d++)
        {
            int heads = 2 + random.Next(3);
            int pieces = 1 + random.Next(9);
            double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
            double[] pi = LayerCase.Draw(random, heads * pieces, 1).Select(Math.Abs).ToArray();
            var kernel = new ExpectationKernel<double>(weights, d, pieces, width);
            foreach ((int first, int second) in new[] { (0, 1), (heads - 1, 0), (1, 1) })
            {
                var single = new double[2][];
                for (int which = 0; which < 2; which++)
                {
                    int head = which == 0 ? first : second;
                    single[which] = new double[kernel.Stride];
                    kernel.Expectation(head, pi.AsSpan(head * pieces, pieces), single[which]);
                }

                var firstRow = Enumerable.Repeat(double.NaN, kernel.Stride).ToArray();
                var secondRow = Enumerable.Repeat(double.NaN, kernel.Stride).ToArray();
                kernel.Expectations(first, pi.AsSpan(first * pieces, pieces), firstRow, second, pi.AsSpan(second * pieces, pieces), secondRow);
                Assert.Equal(single[0], firstRow);
                Assert.Equal(single[1], secondRow);
            }
        }
    }

    private static VectorWidth LseKernelPreferredWidth() => LseKernel<double>.PreferredWidth;

    private static double[] Expected(double[] weights, double[] pi, int head, int pieces, int d)
    {
        var expected = new double[d];
        for (int j = 0; j < pieces; j++)
        {
            int piece = (head * pieces) + j;
            for (int k = 0; k < d; k++)
            {
                expected[k] += pi[piece] * weights[(piece * d) + k];
            }
        }

        return expected;
    }

    // pi_j = exp((z_j - m) / eps) / S and H = -sum pi_j log pi_j, written out directly.
    private static (double[] Weights, double Entropy) Gibbs(double[] logits, double eps)
    {
        double maximum = logits.Max();
        double[] weights = logits.Select(z => Math.Exp((z - maximum) / eps)).ToArray();
        double sum = weights.Sum();
        double entropy = 0;
        for (int j = 0; j < weights.Length; j++)
        {
            weights[j] /= sum;
            entropy -= weights[j] > 0 ? weights[j] * Math.Log(weights[j]) : 0;
        }

        return (weights, entropy);
    }
}
