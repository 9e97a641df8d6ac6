using System.Numerics.Tensors;
using HjMl.HopfCole;
using HjMl.Layers;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.PaperChecks;

/// <summary>
/// Attention is a Gibbs expectation (THEORY.md section 8), checked on random queries, keys and values in double:
/// scaled dot-product attention softmax(Q K^T / tau) V, computed as matrices, equals E_pi[V] row by row with pi the
/// library's Gibbs weights at eps = tau; L2 attention (pi_j proportional to exp(-|q - k_j|^2 / (4 t eps)), v_j = k_j)
/// equals q - 2t grad u(q, t) of the Hopf–Cole solution with y_j = k_j, g_j = 0, whose gradient agrees with the
/// solution's own analytic |grad u|^2; and an LSE feed-forward sub-layer on the attention output satisfies the
/// LSE = Hopf–Cole identity (section 1). Deterministic for a seed.
/// </summary>
public static class AttentionVerification
{
    /// <summary>Tolerance of softmax(Q K^T / tau) V against E_pi[V], relative to the largest |v|.</summary>
    public const double ExpectationTolerance = 1e-14;

    /// <summary>Tolerance of L2 attention against q - 2t grad u, relative to the largest |k|; also of |grad u|^2.</summary>
    public const double HopfColeTolerance = 1e-12;

    private const int Queries = 32;
    private const int Keys = 16;
    private const int KeyDimension = 8;
    private const int ValueDimension = 5;
    private const int FeedForwardHeads = 3;
    private const int FeedForwardPieces = 16;

    /// <summary>The (t, eps) pairs of the L2 attention rows.</summary>
    public static IReadOnlyList<(double Time, double Viscosity)> L2Settings { get; } = [(1.0, 0.05), (1.0, 0.5), (0.5, 2.0)];

    /// <summary>The viscosities of the feed-forward sub-layer.</summary>
    public static IReadOnlyList<double> FeedForwardViscosities { get; } = [1e-2, 1e-1, 1];

    /// <summary>The attention rows, in the order of the claims above.</summary>
    public static IReadOnlyList<ClaimCheckRow> Rows(int seed = 1)
    {
        var random = new Random(seed);
        double[] queries = RandomValues.Uniform(random, Queries * KeyDimension, 1);
        double[] keys = RandomValues.Uniform(random, Keys * KeyDimension, 1);
        double[] values = RandomValues.Uniform(random, Keys * ValueDimension, 1);
        double temperature = Math.Sqrt(KeyDimension);
        var outputs = new double[Queries * ValueDimension];
        double expectationGap = ScaledDotProduct(queries, keys, values, temperature, outputs);

        // L2 attention in d = 4 with queries beyond the keys' box, so that the Gibbs weights are far from uniform.
        const int d = 4;
        double[] l2Queries = RandomValues.Uniform(random, Queries * d, 2);
        double[] l2Keys = RandomValues.Uniform(random, Keys * d, 1.5);
        double l2Gap = 0, gradientGap = 0;
        foreach ((double time, double eps) in L2Settings)
        {
            (double attention, double gradient) = L2Attention(l2Queries, l2Keys, d, time, eps);
            l2Gap = Math.Max(l2Gap, attention);
            gradientGap = Math.Max(gradientGap, gradient);
        }

        double identityGap = 0;
        foreach (double eps in FeedForwardViscosities)
        {
            identityGap = Math.Max(identityGap, FeedForward(random, outputs, eps));
        }

        string settings = string.Join(", ", L2Settings.Select(setting => $"({setting.Time}, {setting.Viscosity})"));
        return
        [
            ClaimCheckRow.WithinTolerance(
                "attention: softmax(Q K^T / tau) V = E_pi[V]",
                $"{Queries} queries, {Keys} keys of d = {KeyDimension}, values of {ValueDimension}, tau = sqrt(d); pi from LogSumExp.GibbsWeights",
                expectationGap,
                ExpectationTolerance),
            ClaimCheckRow.WithinTolerance(
                "L2 attention = q - 2t grad u of the Hopf–Cole solution",
                $"y_j = k_j, g_j = 0, v_j = k_j, d = {d}, {Keys} keys, {Queries} queries, (t, eps) = {settings}",
                l2Gap,
                HopfColeTolerance),
            ClaimCheckRow.WithinTolerance(
                "L2 attention: |grad u|^2 = the Hopf–Cole solution's analytic |grad u|^2",
                $"HopfColeSolution.Residual at every query, (t, eps) = {settings}; relative to E_p|x - y|^2 / (4t^2)",
                gradientGap,
                HopfColeTolerance),
            ClaimCheckRow.WithinTolerance(
                "attention + LSE feed-forward: LSE = Hopf–Cole identity",
                $"{FeedForwardHeads} heads of N = {FeedForwardPieces} on the attention output, t = 1, eps = {string.Join(", ", FeedForwardViscosities)}",
                identityGap,
                IdentityVerification.IdentityTolerance),
        ];
    }

    // max |softmax(Q K^T / tau) V - E_pi[V]| / max |v|: the left side as matrix products with a row softmax written out,
    // the right side query by query from the library's Gibbs weights. Writes the attention output to outputs.
    private static double ScaledDotProduct(double[] queries, double[] keys, double[] values, double temperature, double[] outputs)
    {
        IMatrixProduct product = MatrixProducts.Current;
        var scores = new double[Queries * Keys];
        product.Multiply(Transpose.No, Transpose.Yes, Queries, Keys, KeyDimension, 1 / temperature, queries, KeyDimension, keys, KeyDimension, 0.0, scores, Keys);
        for (int row = 0; row < Queries; row++)
        {
            Span<double> s = scores.AsSpan(row * Keys, Keys);
            double largest = TensorPrimitives.Max<double>(s);
            double sum = 0;
            for (int j = 0; j < Keys; j++)
            {
                s[j] = Math.Exp(s[j] - largest);
                sum += s[j];
            }

            TensorPrimitives.Divide(s, sum, s);
        }

        product.Multiply(Transpose.No, Transpose.No, Queries, ValueDimension, Keys, 1.0, scores, Keys, values, ValueDimension, 0.0, outputs, ValueDimension);

        var logits = new double[Keys];
        var expectation = new double[ValueDimension];
        double gap = 0;
        for (int row = 0; row < Queries; row++)
        {
            ReadOnlySpan<double> q = queries.AsSpan(row * KeyDimension, KeyDimension);
            for (int j = 0; j < Keys; j++)
            {
                logits[j] = TensorPrimitives.Dot(q, keys.AsSpan(j * KeyDimension, KeyDimension));
            }

            LogSumExp.GibbsWeights<double>(logits, temperature, logits);
            Array.Clear(expectation);
            for (int j = 0; j < Keys; j++)
            {
                TensorPrimitives.MultiplyAdd(values.AsSpan(j * ValueDimension, ValueDimension), logits[j], expectation, expectation);
            }

            for (int k = 0; k < ValueDimension; k++)
            {
                gap = Math.Max(gap, Math.Abs(outputs[(row * ValueDimension) + k] - expectation[k]));
            }
        }

        return gap / Math.Abs(TensorPrimitives.MaxMagnitude<double>(values));
    }

    // L2 attention o(q) = sum_j pi_j k_j, pi_j proportional to exp(-|q - k_j|^2 / (4 t eps)), against q - 2t grad u(q, t)
    // with grad u = q / (2t) - grad f, f = |x|^2 / (4t) - u the solution's LSE form [derived from section 1]. Returns the
    // largest |o - (q - 2t grad u)| / max |k| and the largest gap of |grad u|^2 to the solution's analytic value, relative
    // to E_p|v|^2 = -u_t (unnormalised form), which bounds |grad u|^2.
    private static (double Attention, double Gradient) L2Attention(double[] queries, double[] keys, int d, double time, double eps)
    {
        var solution = new HopfColeSolution<double>(keys, new double[Keys], d, time, eps);
        LseLayer<double> layer = solution.ToLayer();
        var weights = new double[Keys];
        var attention = new double[d];
        var gradient = new double[d];
        var characteristic = new double[d];
        double attentionGap = 0, gradientGap = 0;
        for (int row = 0; row < Queries; row++)
        {
            ReadOnlySpan<double> q = queries.AsSpan(row * d, d);
            double largest = double.NegativeInfinity;
            for (int j = 0; j < Keys; j++)
            {
                double distance = TensorPrimitives.Distance(q, keys.AsSpan(j * d, d));
                weights[j] = -distance * distance / (4 * time * eps);
                largest = Math.Max(largest, weights[j]);
            }

            double sum = 0;
            for (int j = 0; j < Keys; j++)
            {
                weights[j] = Math.Exp(weights[j] - largest);
                sum += weights[j];
            }

            Array.Clear(attention);
            for (int j = 0; j < Keys; j++)
            {
                TensorPrimitives.MultiplyAdd(keys.AsSpan(j * d, d), weights[j] / sum, attention, attention);
            }

            // grad u = q / (2t) - grad f, then the characteristic q - 2t grad u.
            layer.Gradient(q, 0, gradient);
            TensorPrimitives.Negate<double>(gradient, gradient);
            TensorPrimitives.MultiplyAdd(q, 1 / (2 * time), gradient, gradient);
            TensorPrimitives.MultiplyAdd(gradient, -2 * time, q, characteristic);
            attentionGap = Math.Max(attentionGap, TensorPrimitives.Distance<double>(attention, characteristic));

            PdeResidual<double> residual = solution.Residual(q, HeatKernelNormalisation.Unnormalised);
            double normSquared = TensorPrimitives.Dot<double>(gradient, gradient);
            gradientGap = Math.Max(gradientGap, Math.Abs(normSquared - residual.GradientNormSquared) / Math.Max(-residual.TimeDerivative, double.Epsilon));
        }

        return (attentionGap / MaxNorm(keys, d), gradientGap);
    }

    // An LSE feed-forward sub-layer f: R^dv -> R^K on the attention outputs o: the worst relative gap of
    // f_k(o) = |o|^2 / (4t) - u_k(o, t) over heads and rows (the measure of IdentityVerification), t = 1.
    private static double FeedForward(Random random, double[] outputs, double eps)
    {
        const double time = 1.0;
        var layer = new LseLayer<double>(
            RandomValues.Uniform(random, FeedForwardHeads * FeedForwardPieces * ValueDimension, 1),
            RandomValues.Uniform(random, FeedForwardHeads * FeedForwardPieces, 1),
            ValueDimension,
            eps,
            FeedForwardHeads);
        var scores = new double[FeedForwardHeads];
        double gap = 0;
        for (int head = 0; head < FeedForwardHeads; head++)
        {
            HopfColeSolution<double> solution = HopfColeSolution<double>.FromLayer(layer, time, head);
            for (int row = 0; row < Queries; row++)
            {
                ReadOnlySpan<double> o = outputs.AsSpan(row * ValueDimension, ValueDimension);
                layer.Evaluate(o, scores);
                double quadratic = TensorPrimitives.Dot(o, o) / (4 * time);
                double u = solution.Evaluate(o, HeatKernelNormalisation.Unnormalised);
                gap = Math.Max(gap, Math.Abs(scores[head] - (quadratic - u)) / Math.Max(1, Math.Max(Math.Abs(scores[head]), quadratic)));
            }
        }

        return gap;
    }

    private static double MaxNorm(double[] points, int d)
    {
        double largest = 0;
        for (int j = 0; j < points.Length / d; j++)
        {
            largest = Math.Max(largest, TensorPrimitives.Norm(points.AsSpan(j * d, d)));
        }

        return largest;
    }
}
