using HjMl.Cli;

namespace HjMl.Tests.Cli;

/// <summary>
/// Issue 18, the command line: help per verb with each option's meaning and default, suggestions for typos, typed
/// values refused before anything runs, and no stack trace for sizes that overflow.
/// </summary>
public sealed class CommandLineTests
{
    [Fact]
    public void VerbHelpListsEveryOptionWithItsMeaningAndDefault()
    {
        (int exit, string output, _) = Run("train", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--width", output);
        Assert.Contains("support points per head (N) [default: 32]", output);
        Assert.Contains("--label", output);
        Assert.Contains("--search", output);
        Assert.Equal(0, Run("help", "predict").Exit);
    }

    [Fact]
    public void EveryShippedVerbDescribesItsOptionsInHelp()
    {
        // A verb left on the plain ICommand adapter shows only "<arguments>" in --help: every shipped verb declares its
        // options, and each option it declares appears in its help with its meaning.
        foreach (ICommand verb in Program.Verbs)
        {
            IDescribedCommand described = Assert.IsAssignableFrom<IDescribedCommand>(verb);
            (int exit, string output, _) = Run(verb.Name, "--help");
            Assert.Equal(0, exit);
            foreach (VerbOption option in described.Options)
            {
                Assert.Contains("--" + option.Name, output);
                Assert.Contains(option.Description[..Math.Min(30, option.Description.Length)], output);
            }
        }
    }

    [Fact]
    public void MistypedVerbAndOptionGetTheNearestNameSuggested()
    {
        (int exit, _, string error) = Run("tarin");
        Assert.Equal(2, exit);
        Assert.Contains("Did you mean", error);
        Assert.Contains("train", error);

        (exit, _, error) = Run("train", "--widht", "3", "--out", "m.hjml");
        Assert.Equal(2, exit);
        Assert.Contains("--widht is not an option of this command", error);
        Assert.Contains("--width", error[error.IndexOf("Did you mean", StringComparison.Ordinal)..]);
    }

    [Theory]
    [InlineData("--width", "abc", "Cannot parse argument 'abc' for option '--width'")]
    [InlineData("--viscosity", "x", "Cannot parse argument 'x' for option '--viscosity'")]
    [InlineData("--width", "268435456", "more than one array holds")]
    [InlineData("--time-budget", "1e308", "--time-budget is 1E+308")]
    public void BadOrOverflowingValuesExitWithTwoAndAMessageNotAStackTrace(string option, string value, string message)
    {
        string[] arguments = option == "--time-budget" ? ["train", "--search", option, value, "--out", "never.hjml"] : ["train", option, value, "--out", "never.hjml"];
        (int exit, _, string error) = Run(arguments);
        Assert.Equal(2, exit);
        Assert.Contains(message, error);
        Assert.DoesNotContain("   at ", error);
        Assert.False(File.Exists("never.hjml"));
    }

    [Fact]
    public void ZeroEpochsKeepsTheConstructionInsteadOfCrashing()
    {
        string model = Path.Combine(Path.GetTempPath(), $"hjml-zero-{Guid.NewGuid():N}.hjml");
        try
        {
            (int exit, string output, string error) = Run("train", "--epochs", "0", "--width", "4", "--out", model);
            Assert.True(exit == 0, error);
            Assert.Contains("no epoch trained", output);
        }
        finally
        {
            File.Delete(model);
        }
    }

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}

/// <summary>A verb written against <see cref="ICommand"/> alone, as verbs were before System.CommandLine.</summary>
internal sealed class PlainVerb : ICommand, IHasSwitches
{
    public ParsedArguments? Received { get; private set; }

    public string Name => "plain";

    public string Summary => "a verb with no declared options";

    public string Usage => "hjml plain [--size n] [--loud]";

    public string[] Switches => ["loud"];

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        Received = arguments;
        int size = arguments.Integer("size", 1);
        bool loud = arguments.Has("loud");
        arguments.RejectUnknown();
        output.WriteLine($"size {size} loud {loud}");
        return 0;
    }
}

/// <summary>The adapter that keeps verbs written against today's <see cref="ICommand"/> registering by one line.</summary>
public sealed class PlainCommandAdapterTests
{
    [Fact]
    public void APlainICommandStillReceivesItsOptionsSwitchesAndUsageErrors()
    {
        var verb = new PlainVerb();
        var output = new StringWriter();
        Assert.Equal(0, CommandLine.Run([verb], ["plain", "--size", "7", "--loud"], output, new StringWriter()));
        Assert.Equal("size 7 loud True", output.ToString().Trim());

        var error = new StringWriter();
        Assert.Equal(2, CommandLine.Run([verb], ["plain", "--colour", "red"], new StringWriter(), error));
        Assert.Contains("hjml plain: --colour is not an option of this command.", error.ToString());
        Assert.Contains("usage: hjml plain [--size n] [--loud]", error.ToString());
    }
}
