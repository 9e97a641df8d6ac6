using HjMl.Cli;

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
