namespace HjMl.Ensembles;

/// <summary>How a <see cref="ViscosityEnsemble"/> combines its members' scores.</summary>
public enum EnsembleCombination
{
    /// <summary>
    /// Global Gibbs weights alpha = softmax(-L / eps) over members from their validation losses L_k, and the score
    /// sum_k alpha_k s_k(x): the same weights on every row.
    /// </summary>
    GibbsWeights,

    /// <summary>Per-row log-sum-exp pooling of the members' scores, with per-row Gibbs weights over members.</summary>
    LogSumExpPooling,
}
