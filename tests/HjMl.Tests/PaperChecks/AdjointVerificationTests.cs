using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class AdjointVerificationTests
{
    [Fact]
    public void AdjointGradientEqualsCentralDifferencesForEveryModelKind()
    {
        IReadOnlyList<ClaimCheckRow> rows = AdjointVerification.GradientRows(2);
        Assert.Equal(["multiclass", "binary", "regression"], rows.Select(row => row.Setting.Split(',')[0]));
        Assert.All(rows, row =>
        {
            Assert.Contains("adjoint gradient", row.Claim);
            Assert.InRange(row.Measured, 0, AdjointVerification.GradientTolerance);
            Assert.True(row.Passed);
        });
    }

    [Fact]
    public void TerminalCostateIsTheSoftmaxResidualThroughTheReadout()
    {
        IReadOnlyList<ClaimCheckRow> rows = AdjointVerification.TerminalCostateRows(2);
        Assert.Equal(["multiclass", "binary"], rows.Select(row => row.Setting.Split(',')[0]));
        Assert.All(rows, row =>
        {
            Assert.Contains("co-state", row.Claim);
            Assert.InRange(row.Measured, 0, AdjointVerification.CostateTolerance);
            Assert.True(row.Passed);
        });
    }
}
