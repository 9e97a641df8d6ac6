using System.Numerics;
using System.Runtime.Intrinsics;
using HjMl.Kernels;
using HjMl.Numerics;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

/// <summary>
/// Every fused copy of the max-shifted log-sum-exp against the reference, <see cref="LogSumExp"/>: LseKernel's scoring
/// (ScoreRows, one row and batches), its explanation pass (ExplainRow, OneVectorHeads, EightHeads) and the softmax
/// normaliser of class scores. Both sides read the same logits (the kernel's own), so the comparison isolates the
/// log-sum-exp from the matrix product; they agree to rounding at every vector width, over N = 1..70 pieces (every
/// remainder of a vector), heads of 1 to 9 and d = 1..7.
/// </summary>
/// <remarks>
/// Rounding budget, with u the unit roundoff of the kernel's precision: f = m + eps log S, and the relative error of S is
/// at most about (N + 4) u (N rounded additions, exponentials within 2 ulp; in float also the rounding of the scaled
/// argument, which moves a term by 6e-8 |t| relative, at most 3e-8 of the sum), so |f - f_ref| &lt;= eps (N + 4) u,
/// plus the double rounding of f. The Gibbs weights inherit the same relative error, plus u absolute from the rounded
/// argument (|t| u e^-|t| &lt;= u), and the entropies that error times their largest |log pi_j|.
/// </remarks>
public unsafe class FusedLogSumExpTests
{
    private static readonly double[] Viscosities = [0, 1e-3, 0.3, 1, 7];

    public static TheoryData<int> Widths => KernelWidths.All;

    [Theory]
    [MemberData(nameof(Widths))]
    public void FusedScoringEqualsReferenceLogSumExp(int bits)
    {
        FusedScoringEqualsReference<double>(KernelWidths.Of(bits));
        FusedScoringEqualsReference<float>(KernelWidths.Of(bits));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void FusedExplanationEqualsReferenceGibbsWeightsAndEntropy(int bits)
    {
        FusedExplanationEqualsReference<double>(KernelWidths.Of(bits));
        FusedExplanationEqualsReference<float>(KernelWidths.Of(bits));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SoftmaxNormaliserEqualsReferenceShiftedSum(int bits)
    {
        var random = new Random(43);
        for (int count = 1; count <= 70; count++)
        {
            foreach (bool slack in new[] { false, true })
            {
                // Slack past the scores holds NaN: a masked tail must not read it.
                var buffer = new double[count + 8];
                Array.Fill(buffer, double.NaN);
                double[] scores = LayerCase.Draw(random, count, 20);
                scores.CopyTo(buffer, 0);
                int best = Array.IndexOf(scores, scores.Max());
                double sum;
                fixed (double* values = buffer)
                {
                    sum = bits switch
                    {
                        512 => SoftmaxNormaliser.Sum<Vector512<double>, Simd512<double>>(values, count, scores[best], slack),
                        256 => SoftmaxNormaliser.Sum<Vector256<double>, Simd256<double>>(values, count, scores[best], slack),
                        _ => SoftmaxNormaliser.Sum<Vector128<double>, Simd128<double>>(values, count, scores[best], slack),
                    };
                }

                // 1 / S is the softmax probability of the largest score, which the reference's Gibbs weights at eps = 1 give.
                var probabilities = new double[count];
                LogSumExp.GibbsWeights<double>(scores, 1.0, probabilities);
                double tolerance = (count + 4) * 1.2e-16 * 4;
                Assert.True(Math.Abs((1 / sum) - probabilities[best]) <= tolerance * probabilities[best], $"{count} scores, slack {slack}: 1 / S = {1 / sum}, reference {probabilities[best]}");
            }
        }
    }

    private static void FusedScoringEqualsReference<T>(VectorWidth width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(41);
        double u = typeof(T) == typeof(float) ? 6e-8 : 1.2e-16;
        foreach (int heads in new[] { 1, 2, 3 })
        {
            for (int pieces = 1; pieces <= 70; pieces++)
            {
                int d = 1 + (pieces % 7);
                int rows = 1 + (pieces % 13);
                var kernel = new LseKernel<T>(Draw<T>(random, heads * pieces * d, 1), Draw<T>(random, heads * pieces, 1), d, heads, width);
                T[] inputs = Draw<T>(random, rows * d, 2);
                foreach (double eps in Viscosities)
                {
                    var batch = new double[rows * heads];
                    Assert.Equal(-1, kernel.EvaluateBatch<double>(inputs, batch, eps, Readout.Heads));
                    var scores = new double[heads];
                    var logits = new T[heads * pieces];
                    for (int row = 0; row < rows; row++)
                    {
                        kernel.EvaluateRow(inputs.AsSpan(row * d, d), scores, eps, logits);
                        for (int head = 0; head < heads; head++)
                        {
                            double[] z = Widen(logits.AsSpan(head * pieces, pieces));
                            double expected = LogSumExp.Evaluate<double>(z, eps, new double[pieces]);
                            double tolerance = (4 * 1.2e-16 * Math.Abs(expected)) + (2 * eps * (pieces + 4) * u);
                            string where = $"{typeof(T).Name}, {width}, {heads} heads x {pieces} pieces, d = {d}, eps = {eps}, row {row}, head {head}";
                            Assert.True(Math.Abs(scores[head] - expected) <= tolerance, $"{where}: row scored {scores[head]}, reference {expected}");
                            Assert.True(Math.Abs(batch[(row * heads) + head] - expected) <= tolerance, $"{where}: batch scored {batch[(row * heads) + head]}, reference {expected}");
                        }
                    }
                }
            }
        }
    }

    private static void FusedExplanationEqualsReference<T>(VectorWidth width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(42);
        double u = typeof(T) == typeof(float) ? 6e-8 : 1.2e-16;

        // 9 heads of up to 8 pieces take the eight-heads-at-once path on 512-bit doubles, the ninth OneVectorHeads.
        foreach (int heads in new[] { 1, 2, 3, 9 })
        {
            for (int pieces = 1; pieces <= 70; pieces++)
            {
                int d = 1 + (pieces % 7);
                var kernel = new LseKernel<T>(Draw<T>(random, heads * pieces * d, 1), Draw<T>(random, heads * pieces, 1), d, heads, width);
                T[] input = Draw<T>(random, d, 2);
                var logits = new T[heads * pieces];
                kernel.EvaluateRow(input, new double[heads], 1, logits);
                foreach (double eps in Viscosities)
                {
                    var scores = new double[heads];
                    var weights = new T[kernel.GibbsWeightsLength];
                    var entropies = new double[heads];
                    kernel.ExplainRow(input, scores, eps, weights, entropies);
                    for (int head = 0; head < heads; head++)
                    {
                        double[] z = Widen(logits.AsSpan(head * pieces, pieces));
                        var pi = new double[pieces];
                        double expected = LogSumExp.GibbsWeights<double>(z, eps, pi);
                        double entropy = LogSumExp.Entropy<double>(pi, new double[pieces]);
                        double relative = 2 * (pieces + 4) * u;
                        string where = $"{typeof(T).Name}, {width}, {heads} heads x {pieces} pieces, d = {d}, eps = {eps}, head {head}";
                        Assert.True(Math.Abs(scores[head] - expected) <= (4 * 1.2e-16 * Math.Abs(expected)) + (eps * relative), $"{where}: scored {scores[head]}, reference {expected}");
                        for (int j = 0; j < pieces; j++)
                        {
                            double weight = double.CreateTruncating(weights[(head * pieces) + j]);
                            Assert.True(Math.Abs(weight - pi[j]) <= (relative * pi[j]) + u, $"{where}: pi_{j} = {weight}, reference {pi[j]}");
                        }

                        // H = -sum pi log pi moves by at most sum |d pi_j| (1 + |log pi_j|); the weights' logarithms are
                        // bounded by the exponent range the kernel keeps (float: 2^-126).
                        double entropyTolerance = relative * (2 + (typeof(T) == typeof(float) ? 88 : 745));
                        Assert.True(Math.Abs(entropies[head] - entropy) <= entropyTolerance, $"{where}: H = {entropies[head]}, reference {entropy}");
                    }
                }
            }
        }
    }

    private static T[] Draw<T>(Random random, int count, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Array.ConvertAll(LayerCase.Draw(random, count, scale), T.CreateTruncating);

    private static double[] Widen<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var wide = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            wide[i] = double.CreateTruncating(values[i]);
        }

        return wide;
    }
}
