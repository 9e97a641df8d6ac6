using System.Numerics.Tensors;
using HjMl.Numerics;

namespace HjMl.Ensembles;

/// <summary>
/// <see cref="EnsembleCombination.GibbsWeights"/>: global weights alpha = softmax(-L / eps) over members from their
/// validation losses (THEORY.md sections 2 and 3), and the score sum_k alpha_k s_k(x), the same weights on every row.
/// </summary>
internal static class GibbsWeighting
{
    /// <summary>softmax(-L / eps): the Gibbs weights of logits -L_k (THEORY.md section 3); at eps = 0 uniform over the least losses.</summary>
    public static double[] Weights(double[] losses, double viscosity)
    {
        var weights = new double[losses.Length];
        double[] logits = Array.ConvertAll(losses, loss => -loss);
        LogSumExp.GibbsWeights<double>(logits, viscosity, weights);
        return weights;
    }

    /// <summary>
    /// One row: sum_k alpha_k s_k of the members' scores (K x outputs, member-major) into <paramref name="scores"/>, and
    /// alpha into <paramref name="memberWeights"/> if it is not empty.
    /// </summary>
    public static void Combine(ReadOnlySpan<double> weights, ReadOnlySpan<double> memberScores, Span<double> scores, Span<double> memberWeights)
    {
        int count = weights.Length, outputs = scores.Length;

        // With alpha one-hot each other member adds exactly 0, so eps = 0 is the best member bit for bit.
        scores.Clear();
        for (int k = 0; k < count; k++)
        {
            TensorPrimitives.MultiplyAdd(memberScores.Slice(k * outputs, outputs), weights[k], scores, scores);
        }

        if (!memberWeights.IsEmpty)
        {
            weights.CopyTo(memberWeights);
        }
    }
}
