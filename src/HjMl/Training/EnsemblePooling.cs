using System.Numerics.Tensors;

namespace HjMl.Training;

/// <summary>
/// Pools S read-outs trained on the same rows into one LSE layer by log-sum-exp (THEORY.md section 3): per head,
/// eps log((1/S) sum_s sum_j exp(l_sj / eps)) = eps log sum_{s,j} exp((l_sj - eps log S) / eps), so the S N pieces of the
/// members, each bias lowered by eps log S, make one layer whose head score is the members' scores pooled exactly
/// [derived]. The pooled model is an ordinary Hopf–Cole layer: its decomposition, Hessian bounds, certificates and export
/// hold unchanged.
/// </summary>
internal static class EnsemblePooling
{
    /// <summary>
    /// Whether members of these options pool exactly: no flow (each member would carry its own) and an eps that does not
    /// depend on the member's run (fixed or width-scaled, not learned or annealed to a member's best epoch).
    /// </summary>
    public static bool Poolable(HopfColeTrainerOptions options)
        => options.Depth == 0 && options.ViscosityMode is ViscosityMode.Fixed or ViscosityMode.WidthScaling;

    /// <summary>
    /// The pooled parameters (W (K S N x m) then b (K S N), head-major, member-major within a head) and support rows.
    /// </summary>
    /// <param name="members">Each member's read-out parameters (W (K N x m) then b (K N)) and support rows (K N).</param>
    /// <param name="heads">K.</param>
    /// <param name="pieces">N, per member and head.</param>
    /// <param name="dimension">m, the read-out's input width.</param>
    /// <param name="viscosity">eps, shared by every member.</param>
    public static (double[] Parameters, int[] SupportRows) Pool(IReadOnlyList<(double[] Parameters, int[] SupportRows)> members, int heads, int pieces, int dimension, double viscosity)
    {
        int count = members.Count;
        int all = heads * count * pieces;
        var parameters = new double[all * (dimension + 1)];
        var supportRows = new int[all];
        double shift = viscosity * Math.Log(count);
        int weightCount = all * dimension;
        int memberWeights = heads * pieces * dimension;
        for (int head = 0; head < heads; head++)
        {
            for (int member = 0; member < count; member++)
            {
                (double[] source, int[] rows) = members[member];
                int from = head * pieces;
                int to = ((head * count) + member) * pieces;
                source.AsSpan(from * dimension, pieces * dimension).CopyTo(parameters.AsSpan(to * dimension, pieces * dimension));
                TensorPrimitives.Subtract(source.AsSpan(memberWeights + from, pieces), shift, parameters.AsSpan(weightCount + to, pieces));
                rows.AsSpan(from, pieces).CopyTo(supportRows.AsSpan(to, pieces));
            }
        }

        return (parameters, supportRows);
    }
}
