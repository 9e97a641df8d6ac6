using HjMl.Numerics;

namespace HjMl.Landscape;

/// <summary>
/// log H(pi) and its input gradient for the Gibbs weights pi = softmax(z / eps) of one head, accurate where H itself
/// underflows. Far inside a piece's cell the other weights fall below exp(-745), H rounds to exactly 0 on whole
/// regions and grad H to exactly 0, so minima of H vanish into flat plateaus; in logarithms they stay visible.
/// </summary>
/// <remarks>
/// <para>
/// With a_j = (z_j - m) / eps &lt;= 0, S = sum_j exp(a_j) and log pi_j = a_j - log S:
/// H = -sum_j pi_j log pi_j = log S + sum_j pi_j |a_j| (THEORY.md section 4; the variational form of section 2), a sum
/// of two non-negative terms, so nothing cancels. With T the maximal logits (|T| ties) and R = sum over the others of
/// exp(a_j): log S = log(|T| + R), and sum_j pi_j |a_j| = Q / S with Q = sum over the others of exp(a_j + log|a_j|).
/// log R and log Q come from the engine's log-sum-exp kernel.
/// </para>
/// <para>
/// Gradient: grad_x H = -Cov_pi(w, z) / eps^2 (THEORY.md section 4, <see cref="Layers.LseLayer{T}.EntropyGradient"/>).
/// Because sum_j pi_j (a_j - E_pi[a]) = 0, the covariance may subtract any piece's weight r instead of E_pi[w]:
/// grad_x log H = -(1/eps) sum_{j != r} exp(a_j - log S - log H) (a_j - E_pi[a]) (w_j - w_r), with
/// E_pi[a] = -(H - log S). Taking r to be a maximal piece, each coefficient is bounded and computed from logarithms,
/// so the gradient of log H stays finite where both grad H and H underflow.
/// </para>
/// </remarks>
internal static class LogEntropy
{
    // a_j is bounded below here so that a_j + log|a_j| stays finite when (z_j - m) / eps overflows; exp of either is 0.
    private const double SmallestExponent = -1e300;

    /// <summary>log H(softmax(z / eps)); negative infinity when H = 0 exactly (one piece, or eps = 0 without ties).</summary>
    /// <param name="logits">z (at least one).</param>
    /// <param name="viscosity">eps &gt;= 0.</param>
    /// <param name="work">Scratch of at least 3 * logits.Length.</param>
    public static double Evaluate(ReadOnlySpan<double> logits, double viscosity, Span<double> work)
        => Evaluate(logits, viscosity, work, default, 0, default);

    /// <summary>
    /// log H as <see cref="Evaluate(ReadOnlySpan{double}, double, Span{double})"/>, and grad_x log H written to
    /// <paramref name="gradient"/> (length d) from the head's weights (N rows of d). Zero where H = 0 exactly.
    /// </summary>
    public static double Evaluate(ReadOnlySpan<double> logits, double viscosity, Span<double> work, ReadOnlySpan<double> weights, int dimension, Span<double> gradient)
    {
        int n = logits.Length;
        double maximum = double.NegativeInfinity;
        int reference = 0;
        for (int j = 0; j < n; j++)
        {
            if (logits[j] > maximum)
            {
                maximum = logits[j];
                reference = j;
            }
        }

        Span<double> exponents = work[..n];
        Span<double> scratch = work.Slice(n, n);
        Span<double> weighted = work.Slice(2 * n, n);
        int ties = 0, others = 0;
        for (int j = 0; j < n; j++)
        {
            // A gap that rounds to 0 over a huge eps weighs exactly as much as the maximum: it is a tie.
            double exponent = logits[j] == maximum ? 0 : viscosity == 0 ? double.NegativeInfinity : Math.Max((logits[j] - maximum) / viscosity, SmallestExponent);
            exponents[j] = exponent;
            if (exponent == 0)
            {
                ties++;
            }
            else if (!double.IsNegativeInfinity(exponent))
            {
                scratch[others] = exponent;
                weighted[others] = exponent + Math.Log(-exponent);
                others++;
            }
        }

        if (!gradient.IsEmpty)
        {
            gradient[..dimension].Clear();
        }

        if (others == 0)
        {
            // All weight on the ties: pi is uniform over them, H = log |T| is locally constant, and so is log H.
            return ties == 1 ? double.NegativeInfinity : Math.Log(Math.Log(ties));
        }

        double logR = LogSumExp.Evaluate<double>(scratch[..others], 1.0, scratch);
        double logQ = LogSumExp.Evaluate<double>(weighted[..others], 1.0, weighted);
        double r = Math.Exp(logR);
        double logS = ties == 1 ? LogOnePlus(r) : Math.Log(ties + r);

        // log of the first term, log S; for one maximum and tiny R, log(log(1 + R)) = log R - R/2 + O(R^2), which keeps
        // its accuracy after R itself has underflowed.
        double logFirst = ties == 1 && r < 1e-8 ? logR - (0.5 * r) : Math.Log(logS);
        double logSecond = logQ - logS;
        Span<double> pair = [logFirst, logSecond];
        double logEntropy = LogSumExp.Evaluate<double>(pair, 1.0, pair);
        if (gradient.IsEmpty)
        {
            return logEntropy;
        }

        double meanExponent = -Math.Exp(logSecond);
        ReadOnlySpan<double> referenceWeight = weights.Slice(reference * dimension, dimension);
        for (int j = 0; j < n; j++)
        {
            if (j == reference || double.IsNegativeInfinity(exponents[j]))
            {
                continue;
            }

            double coefficient = Math.Exp(exponents[j] - logS - logEntropy) * (exponents[j] - meanExponent);
            if (coefficient == 0)
            {
                continue;
            }

            ReadOnlySpan<double> weight = weights.Slice(j * dimension, dimension);
            for (int k = 0; k < dimension; k++)
            {
                gradient[k] -= coefficient * (weight[k] - referenceWeight[k]) / viscosity;
            }
        }

        return logEntropy;
    }

    // log(1 + r) to a few ulps for small r (Goldberg's correction: the rounding of 1 + r cancels in the ratio).
    private static double LogOnePlus(double r)
    {
        double u = 1 + r;
        return u == 1 ? r : Math.Log(u) * r / (u - 1);
    }
}
