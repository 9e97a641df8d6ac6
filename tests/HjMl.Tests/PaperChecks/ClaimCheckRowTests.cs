using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class ClaimCheckRowTests
{
    [Theory]
    [InlineData(0.9, true)]
    [InlineData(1.1, true)]
    [InlineData(1.0, true)]
    [InlineData(0.89, false)]
    [InlineData(1.11, false)]
    [InlineData(double.NaN, false)]
    public void ARowPassesExactlyWithinItsClosedBar(double measured, bool passed)
        => Assert.Equal(passed, new ClaimCheckRow("claim", "setting", measured, 0.9, 1.1).Passed);

    [Fact]
    public void AToleranceIsTheBarFromZero()
    {
        ClaimCheckRow row = ClaimCheckRow.WithinTolerance("claim", "setting", 2e-6, 1e-6);
        Assert.Equal((0.0, 1e-6), (row.Lower, row.Upper));
        Assert.False(row.Passed);
        Assert.False(ClaimCheckRow.WithinTolerance("claim", "setting", -1e-16, 1e-6).Passed);
    }
}
