using HjMl.PaperChecks;

namespace HjMl.Tests.PaperChecks;

public class EulerConvergenceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EulerFlowConvergesAtFirstOrderToTheRungeKuttaReference(int seed)
    {
        EulerConvergence euler = EulerConvergence.Measure(seed);
        Assert.Equal(EulerConvergence.DefaultSteps, euler.Steps);
        Assert.InRange(euler.Slope, EulerConvergence.SlopeLower, EulerConvergence.SlopeUpper);
        Assert.True(euler.Row.Passed);
        Assert.Contains("Euler", euler.Row.Claim);
    }

    [Fact]
    public void DoublingTheStepsHalvesTheTerminalError()
    {
        EulerConvergence euler = EulerConvergence.Measure(4);
        for (int i = 1; i < euler.Steps.Count; i++)
        {
            Assert.InRange(euler.Errors[i - 1] / euler.Errors[i], 1.8, 2.2);
        }
    }

    [Fact]
    public void StepCountsThatCannotBeFittedOrDoNotDivideTheReferenceAreRejected()
    {
        Assert.Contains("at least two", Assert.Throws<ArgumentException>(() => EulerConvergence.Measure(1, [8])).Message);
        Assert.Contains("divisor of 4096", Assert.Throws<ArgumentException>(() => EulerConvergence.Measure(1, [4, 12])).Message);
    }
}
