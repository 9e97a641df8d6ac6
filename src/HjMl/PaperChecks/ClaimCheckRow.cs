namespace HjMl.PaperChecks;

/// <summary>
/// One claim of <see cref="FlowVerification"/> checked on this code: what was measured and the bar it must meet,
/// a closed interval [<paramref name="Lower"/>, <paramref name="Upper"/>] (a tolerance is the interval [0, tolerance]).
/// </summary>
/// <param name="Claim">The claim, named so that a reader finds it ("Euler convergence", "adjoint gradient", "attention").</param>
/// <param name="Setting">The case it was measured on (model kind, sizes, eps).</param>
/// <param name="Measured">The measured value: a fitted slope or the worst relative gap.</param>
/// <param name="Lower">Lowest value that passes.</param>
/// <param name="Upper">Highest value that passes.</param>
public sealed record ClaimCheckRow(string Claim, string Setting, double Measured, double Lower, double Upper)
{
    /// <summary>Whether the measured value lies within the bar (NaN never does).</summary>
    public bool Passed => Measured >= Lower && Measured <= Upper;

    /// <summary>A row whose bar is a tolerance: passes when 0 &lt;= <paramref name="measured"/> &lt;= <paramref name="tolerance"/>.</summary>
    public static ClaimCheckRow WithinTolerance(string claim, string setting, double measured, double tolerance)
        => new(claim, setting, measured, 0, tolerance);
}
