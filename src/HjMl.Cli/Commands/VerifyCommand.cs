using System.Globalization;
using HjMl.PaperChecks;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml verify</c>: the paper's checks as a table over an eps sweep (LSE = Hopf–Cole identity, tropical limit,
/// softplus to ReLU, PDE residuals, two-layer composition), then the depth-as-time and attention claims (Euler
/// convergence, adjoint gradient, terminal co-state, attention as a Gibbs expectation and a Hopf–Cole solution).
/// Exits 1 if any row misses its tolerance or bar.
/// </summary>
internal sealed class VerifyCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("pieces", "pieces per head of the random layers checked", OptionValue.Integer, "16"),
        new("points", "random points per check", OptionValue.Integer, "200"),
        new("seed", "random seed", OptionValue.Integer, "1"),
    ];

    public string Name => "verify";

    public string Summary => "check the LSE = Hopf–Cole identities over an eps sweep in d = 1, 2, 8, then Euler convergence, the adjoint and attention";

    public string Usage => "hjml verify [--pieces N] [--points P] [--seed s]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        int pieces = arguments.Integer("pieces", 16, 2, CommandLimits.Pieces);
        int points = arguments.Integer("points", 200, 1, CommandLimits.Points);
        int seed = arguments.Integer("seed", 1);
        arguments.RejectUnknown();
        IReadOnlyList<IdentityCheckRow> rows = IdentityVerification.Run(IdentityVerification.DefaultDimensions, IdentityVerification.DefaultViscosities, pieces, points, seed);
        output.WriteLine($"LSE / Hopf–Cole identities, N = {pieces} pieces, {points} random points in [-2, 2]^d, t = 1, seed {seed} (double)");
        output.WriteLine($"tolerances: identity {IdentityVerification.IdentityTolerance:0e0} relative; analytic residuals {IdentityVerification.ResidualTolerance:0e0}; finite-difference residual {IdentityVerification.FiniteDifferenceTolerance:0e0}; gaps within their bounds");
        output.WriteLine();
        string header = string.Format(
            CultureInfo.InvariantCulture,
            "{0,2} {1,7} | {2,9} | {3,9} {4,9} | {5,9} {6,9} | {7,9} {8,9} {9,9} | {10,9} {11,9} | {12}",
            "d", "eps", "identity", "trop.gap", "eps·logN", "softplus", "eps·log2", "res.norm", "res.unnorm", "res.fd", "2-layer", "bound", "ok");
        output.WriteLine(header);
        output.WriteLine(new string('-', header.Length));
        foreach (IdentityCheckRow row in rows)
        {
            output.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "{0,2} {1,7:G3} | {2,9:0.0e+0} | {3,9:G3} {4,9:G3} | {5,9:G3} {6,9:G3} | {7,9:0.0e+0} {8,10:0.0e+0} {9,9:0.0e+0} | {10,9:G3} {11,9:G3} | {12}",
                row.Dimension,
                row.Viscosity,
                row.IdentityError,
                row.TropicalGap,
                row.TropicalBound,
                row.SoftplusError,
                row.SoftplusBound,
                row.NormalisedResidual,
                row.UnnormalisedResidualError,
                row.FiniteDifferenceResidual,
                row.TwoLayerGap,
                row.TwoLayerBound,
                row.Passed ? "yes" : "NO"));
        }

        int failed = rows.Count(row => !row.Passed);
        output.WriteLine();
        output.WriteLine(failed == 0 ? $"all {rows.Count} rows within tolerance" : $"{failed} of {rows.Count} rows MISSED a tolerance");

        IReadOnlyList<ClaimCheckRow> claims = FlowVerification.Run(seed, out EulerConvergence euler);
        output.WriteLine();
        output.WriteLine($"Depth as time and attention (THEORY.md sections 8-9), seed {seed} (double)");
        output.WriteLine("Euler terminal error |z_L - z(T)|: " + string.Join(", ", euler.Steps.Select((steps, i) => string.Create(CultureInfo.InvariantCulture, $"L = {steps} {euler.Errors[i]:0.00e+0}"))));
        int claimsFailed = WriteClaims(claims, output);
        return failed == 0 && claimsFailed == 0 ? 0 : 1;
    }

    /// <summary>Writes the claim rows as a table and a summary line; returns how many missed their bar.</summary>
    internal static int WriteClaims(IReadOnlyList<ClaimCheckRow> claims, TextWriter output)
    {
        output.WriteLine();
        string header = string.Format(CultureInfo.InvariantCulture, "{0,-3} | {1,9} | {2,-12} | {3}", "ok", "measured", "bar", "claim (setting)");
        output.WriteLine(header);
        output.WriteLine(new string('-', 100));
        foreach (ClaimCheckRow claim in claims)
        {
            string bar = claim.Lower == 0
                ? string.Create(CultureInfo.InvariantCulture, $"<= {claim.Upper:0e0}")
                : string.Create(CultureInfo.InvariantCulture, $"[{claim.Lower}, {claim.Upper}]");
            string measured = claim.Lower == 0
                ? claim.Measured.ToString("0.0e+0", CultureInfo.InvariantCulture)
                : claim.Measured.ToString("0.0000", CultureInfo.InvariantCulture);
            output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-3} | {1,9} | {2,-12} | {3} ({4})", claim.Passed ? "yes" : "NO", measured, bar, claim.Claim, claim.Setting));
        }

        int failed = claims.Count(claim => !claim.Passed);
        output.WriteLine();
        output.WriteLine(failed == 0 ? $"all {claims.Count} depth and attention rows within their bars" : $"{failed} of {claims.Count} depth and attention rows MISSED their bar");
        return failed;
    }
}
