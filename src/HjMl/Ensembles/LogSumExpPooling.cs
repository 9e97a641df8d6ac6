using System.Numerics.Tensors;
using HjMl.Models;
using HjMl.Numerics;

namespace HjMl.Ensembles;

/// <summary>
/// <see cref="EnsembleCombination.LogSumExpPooling"/>: per row, the members' scores pooled by the max-shifted
/// log-mean-exp eps log (1/K) sum_k exp(q_k / eps) (THEORY.md section 1), with per-row Gibbs weights over members.
/// Classifiers pool each class's log-probability; regression pools the prediction symmetrically (see
/// <see cref="ViscosityEnsemble"/>'s remarks).
/// </summary>
internal static class LogSumExpPooling
{
    /// <summary>
    /// The scratch <see cref="Combine"/> needs for <paramref name="members"/> members and <paramref name="classes"/> classes:
    /// a column over members, two weight vectors (one also the kernels' work, so it covers the classes too) and the
    /// members' log-probabilities.
    /// </summary>
    public static int WorkLength(int members, int classes) => (2 * members) + Math.Max(members, classes) + (members * classes);

    /// <summary>The prior the pool starts from: 1/K on every member.</summary>
    public static double[] UniformWeights(int members)
    {
        var weights = new double[members];
        weights.AsSpan().Fill(1.0 / members);
        return weights;
    }

    /// <summary>
    /// One row: the members' scores (K x outputs, member-major) pooled into <paramref name="scores"/>, and the row's
    /// member weights into <paramref name="memberWeights"/> if it is not empty.
    /// </summary>
    /// <param name="kind">How the scores are read.</param>
    /// <param name="viscosity">eps (for regression in label standard deviations).</param>
    /// <param name="labelScale">Regression: the validation labels' standard deviation, the unit of eps.</param>
    /// <param name="count">K, the members.</param>
    /// <param name="classes">The class count (0 for regression).</param>
    /// <param name="memberScores">The members' scores.</param>
    /// <param name="scores">Receives the pooled scores.</param>
    /// <param name="memberWeights">Receives the K member weights, or empty.</param>
    /// <param name="work">At least <see cref="WorkLength"/> doubles.</param>
    public static void Combine(ModelKind kind, double viscosity, double labelScale, int count, int classes, ReadOnlySpan<double> memberScores, Span<double> scores, Span<double> memberWeights, Span<double> work)
    {
        Span<double> column = work[..count];
        Span<double> weights = work.Slice(count, count);
        Span<double> other = work.Slice(2 * count, Math.Max(count, classes));
        if (kind == ModelKind.Regression)
        {
            // (softmax_eps(s) + softmin_eps(s)) / 2, eps in label standard deviations; its gradient is (pi+ + pi-) / 2.
            double scaled = viscosity * labelScale;
            for (int k = 0; k < count; k++)
            {
                column[k] = -memberScores[k];
            }

            double lower = -LogSumExp.GibbsWeights(column, scaled, other[..count]);
            TensorPrimitives.Negate(column, column);
            double upper = LogSumExp.GibbsWeights(column, scaled, weights);
            scores[0] = 0.5 * (upper + lower);
            if (!memberWeights.IsEmpty)
            {
                TensorPrimitives.Add(weights, other[..count], memberWeights);
                TensorPrimitives.Multiply(memberWeights, 0.5, memberWeights);
            }

            return;
        }

        // Classifiers: per class, pool the members' log-probabilities; binary margins become class scores (0, m).
        Span<double> logProbabilities = work.Slice((2 * count) + Math.Max(count, classes), count * classes);
        for (int k = 0; k < count; k++)
        {
            Span<double> member = logProbabilities.Slice(k * classes, classes);
            if (kind == ModelKind.BinaryClassification)
            {
                member[0] = 0;
                member[1] = memberScores[k];
            }
            else
            {
                memberScores.Slice(k * classes, classes).CopyTo(member);
            }

            // log P_k(c) = s_kc - log sum_c' exp(s_kc'), with the engine's max-shifted kernel at eps = 1.
            double normaliser = LogSumExp.Evaluate<double>(member, 1.0, other);
            TensorPrimitives.Subtract(member, normaliser, member);
        }

        // log-mean-exp: the pool of log P_k(c) over members, minus eps log K so that large eps gives the mean.
        double shift = viscosity * Math.Log(count);
        Span<double> pooled = stackalloc double[classes];
        for (int c = 0; c < classes; c++)
        {
            for (int k = 0; k < count; k++)
            {
                column[k] = logProbabilities[(k * classes) + c];
            }

            pooled[c] = LogSumExp.Evaluate<double>(column, viscosity, other) - shift;
        }

        int predicted;
        if (kind == ModelKind.BinaryClassification)
        {
            scores[0] = pooled[1] - pooled[0];
            predicted = scores[0] > 0 ? 1 : 0;
        }
        else
        {
            pooled.CopyTo(scores);
            predicted = TensorPrimitives.IndexOfMax<double>(pooled);
        }

        if (!memberWeights.IsEmpty)
        {
            for (int k = 0; k < count; k++)
            {
                column[k] = logProbabilities[(k * classes) + predicted];
            }

            LogSumExp.GibbsWeights<double>(column, viscosity, memberWeights);
        }
    }
}
