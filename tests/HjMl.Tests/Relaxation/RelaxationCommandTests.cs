using HjMl.Cli;

namespace HjMl.Tests.Relaxation;

public sealed class RelaxationCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-relaxation-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void AdrRecoveryPrintsItsTableWritesCsvAndChartAndPassesItsBars()
    {
        string table = Path.Combine(folder, "recovery.csv");
        string chart = Path.Combine(folder, "recovery.svg");
        (int exit, string output, _) = Run("adr-recovery", "--seeds", "2", "--out", table, "--plot", chart);
        Assert.Equal(0, exit);
        Assert.Contains("space-varying", output);
        string[] lines = File.ReadAllLines(table);
        Assert.Equal("Case,Seed,AdvectionError,DiffusionError,ReactionError,Bound,TrainingLoss,Passed", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.All(lines[1..], line => Assert.EndsWith(",true", line));
        string svg = File.ReadAllText(chart);
        Assert.StartsWith("<svg", svg);
        Assert.Contains("diffusion D(q)", svg);
    }

    [Fact]
    public void OverRelaxationWritesOneRowPerFactorAsJson()
    {
        string table = Path.Combine(folder, "omega.json");
        (int exit, string output, _) = Run("over-relaxation", "--factors", "0.5,1.5", "--epochs", "3", "--rows", "32", "--seeds", "1", "--out", table);
        Assert.Equal(0, exit);
        Assert.Contains("omega learned from 1", output);
        string json = File.ReadAllText(table);
        Assert.Contains("\"RelaxationFactor\": 0.5", json);
        Assert.Contains("\"RelaxationFactor\": 1.5", json);
    }

    [Theory]
    [InlineData("over-relaxation", "--factors", "0,1")]
    [InlineData("over-relaxation", "--factors", "-1")]
    public void ARelaxationFactorThatIsNotPositiveIsAUsageErrorNamingTheOption(params string[] arguments)
    {
        (int exit, _, string error) = Run(arguments);
        Assert.Equal(2, exit);
        Assert.Contains("--factors", error);
    }

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
