namespace HjMl.PaperChecks;

/// <summary>
/// The checks of depth as time and attention (THEORY.md sections 8 and 9) behind <c>hjml verify</c>: Euler
/// convergence of the residual Gibbs flow (<see cref="EulerConvergence"/>), the adjoint gradient and the terminal
/// co-state (<see cref="AdjointVerification"/>), attention as a Gibbs expectation and a Hopf–Cole solution
/// (<see cref="AttentionVerification"/>), and the periodic embedding's adjoint (<see cref="EmbeddingVerification"/>).
/// Deterministic for a seed.
/// </summary>
public static class FlowVerification
{
    /// <summary>Every row, Euler convergence first, then the adjoint, co-state, attention and embedding adjoint rows.</summary>
    /// <param name="seed">Seed of the random controls, problems and points.</param>
    /// <param name="euler">The Euler measurement behind the first row (its error per step count), for display.</param>
    public static IReadOnlyList<ClaimCheckRow> Run(int seed, out EulerConvergence euler)
    {
        euler = EulerConvergence.Measure(seed);
        return [euler.Row, .. AdjointVerification.GradientRows(seed), .. AdjointVerification.TerminalCostateRows(seed), .. AttentionVerification.Rows(seed), .. EmbeddingVerification.Rows(seed)];
    }
}
