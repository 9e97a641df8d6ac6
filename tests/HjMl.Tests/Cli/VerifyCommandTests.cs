using HjMl.Cli;
using HjMl.Cli.Commands;
using HjMl.PaperChecks;

namespace HjMl.Tests.Cli;

public class VerifyCommandTests
{
    [Fact]
    public void VerifyPrintsFifteenRowsAllWithinTolerance()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(["verify", "--points", "50"], output, error);
        Assert.Equal(0, exit);
        string text = output.ToString();
        Assert.Contains("all 15 rows within tolerance", text);
        Assert.Equal(15, text.Split('\n').Count(line => line.TrimEnd().EndsWith("| yes", StringComparison.Ordinal)));
    }

    [Fact]
    public void VerifyPrintsTheEulerAdjointCostateAndAttentionRowsAllWithinTheirBars()
    {
        var output = new StringWriter();
        int exit = Program.Run(["verify", "--points", "5", "--seed", "2"], output, new StringWriter());
        Assert.Equal(0, exit);
        string text = output.ToString();
        Assert.Contains("all 13 depth and attention rows within their bars", text);
        string[] claims = text.Split('\n').Where(line => line.StartsWith("yes |", StringComparison.Ordinal)).ToArray();
        Assert.Equal(13, claims.Length);
        Assert.Single(claims, line => line.Contains("Euler convergence", StringComparison.Ordinal));
        Assert.Equal(3, claims.Count(line => line.Contains("adjoint gradient = central differences", StringComparison.Ordinal)));
        Assert.Equal(2, claims.Count(line => line.Contains("terminal co-state = softmax residual", StringComparison.Ordinal)));
        Assert.Equal(4, claims.Count(line => line.Contains("attention", StringComparison.Ordinal)));
        Assert.Equal(3, claims.Count(line => line.Contains("embedding adjoint", StringComparison.Ordinal)));
        Assert.Contains("Euler terminal error |z_L - z(T)|: L = 4 ", text);
    }

    [Fact]
    public void AClaimThatMissesItsBarIsMarkedAndCountedForTheExitCode()
    {
        var output = new StringWriter();
        int failed = VerifyCommand.WriteClaims(
            [
                new ClaimCheckRow("Euler convergence: slope of the terminal error in L", "a setting", 0.5, 0.9, 1.1),
                ClaimCheckRow.WithinTolerance("adjoint gradient = central differences", "a setting", 1e-9, 1e-6),
            ],
            output);
        Assert.Equal(1, failed);
        string text = output.ToString();
        Assert.Contains("NO  |    0.5000 | [0.9, 1.1]   | Euler convergence", text);
        Assert.Contains("yes |    1.0e-9 | <= 1e-6      | adjoint gradient", text);
        Assert.Contains("1 of 2 depth and attention rows MISSED their bar", text);
    }

    [Fact]
    public void UnknownOptionIsAUsageError()
    {
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["verify", "--bogus", "1"], new StringWriter(), error));
        Assert.Contains("--bogus is not an option", error.ToString());
    }

    [Fact]
    public void UnknownCommandIsAUsageError()
    {
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["frobnicate"], new StringWriter(), error));
        Assert.Contains("unknown command 'frobnicate'", error.ToString());
    }
}
