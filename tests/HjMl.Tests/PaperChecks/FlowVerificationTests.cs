using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class FlowVerificationTests
{
    [Fact]
    public void EveryDepthAndAttentionRowMeetsItsBarAndIsNamedForAReader()
    {
        IReadOnlyList<ClaimCheckRow> rows = FlowVerification.Run(1, out EulerConvergence euler);
        Assert.Equal(13, rows.Count);
        Assert.Equal(euler.Row, rows[0]);
        Assert.All(rows, row => Assert.True(row.Passed, $"{row.Claim} ({row.Setting}) measured {row.Measured:E2}, bar [{row.Lower}, {row.Upper}]"));
        Assert.Single(rows, row => row.Claim.Contains("Euler", StringComparison.Ordinal));
        Assert.Equal(6, rows.Count(row => row.Claim.Contains("adjoint", StringComparison.Ordinal)));
        Assert.Equal(3, rows.Count(row => row.Claim.Contains("embedding adjoint", StringComparison.Ordinal)));
        Assert.Equal(2, rows.Count(row => row.Claim.Contains("co-state", StringComparison.Ordinal)));
        Assert.Equal(4, rows.Count(row => row.Claim.Contains("attention", StringComparison.Ordinal)));
    }

    [Fact]
    public void MeasurementsAreTheSameForASeed()
    {
        Assert.Equal(EulerConvergence.Measure(5).Errors, EulerConvergence.Measure(5).Errors);
        Assert.Equal(AdjointVerification.TerminalCostateRows(5), AdjointVerification.TerminalCostateRows(5));
        Assert.Equal(AttentionVerification.Rows(5), AttentionVerification.Rows(5));
        Assert.Equal(EmbeddingVerification.Rows(5), EmbeddingVerification.Rows(5));
    }
}
