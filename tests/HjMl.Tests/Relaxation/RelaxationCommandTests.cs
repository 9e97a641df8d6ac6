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

    [Fact]
    public void AdrEfficiencyComparesEveryModelOnDigitsAndChartsThem()
    {
        string table = Path.Combine(folder, "efficiency.csv");
        string chart = Path.Combine(folder, "efficiency.svg");
        (int exit, string output, _) = Run("adr-efficiency", "--data", Digits, "--epochs", "1", "--tiles", "4,1", "--out", table, "--plot", chart);
        Assert.Equal(0, exit);
        Assert.Contains("8 x 8 grid", output);
        string[] lines = File.ReadAllLines(table);
        Assert.Equal(["read-out only", "homogeneous ADR", "heterogeneous ADR (tile 4)", "heterogeneous ADR (tile 1)", "dense"], lines[1..].Select(line => line.Split(',')[0]));

        // Step parameters: 0, 5 a step, 5 per 4 x 4 patch (4 patches), 5 per site, 64 x 65 a step; depth 2 each.
        Assert.Equal(["0", "10", "40", "640", "8320"], lines[1..].Select(line => line.Split(',')[2]));
        Assert.Contains("Accuracy vs reduction ratio", File.ReadAllText(chart));
    }

    [Fact]
    public void OverRelaxationDrawsItsChartThroughTheToolsFigureAsPngOrSvgByExtension()
    {
        string png = Path.Combine(folder, "omega.png"), svg = Path.Combine(folder, "omega.svg");
        Assert.Equal(0, Run("over-relaxation", "--factors", "0.8,1.2", "--epochs", "2", "--rows", "16", "--seeds", "1", "--plot", png).Exit);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
        Assert.Equal(0, Run("over-relaxation", "--factors", "0.8,1.2", "--epochs", "2", "--rows", "16", "--seeds", "1", "--plot", svg).Exit);
        string text = File.ReadAllText(svg);
        Assert.StartsWith("<svg viewBox=", text);
        Assert.Contains("oscillating kernel", text);
    }

    [Theory]
    [InlineData("over-relaxation")]
    [InlineData("adr-recovery")]
    [InlineData("adr-efficiency", "--data", "digits")]
    public void APlotThatIsNeitherSvgNorPngIsRefusedBeforeTheExperimentRuns(params string[] verb)
    {
        string jpg = Path.Combine(folder, "chart.jpg");
        string[] arguments = [.. verb.Select(argument => argument == "digits" ? Digits : argument), "--plot", jpg];
        (int exit, string output, string error) = Run(arguments);
        Assert.Equal(2, exit);
        Assert.Contains("--plot is '" + jpg + "'", error);
        Assert.Contains("'.jpg' is neither", error);
        Assert.Equal(string.Empty, output);
        Assert.False(File.Exists(jpg));
    }

    [Fact]
    public void AGridThatDoesNotMatchTheDataIsAnErrorNamingTheOption()
    {
        (int exit, _, string error) = Run("adr-efficiency", "--data", Digits, "--grid", "8x7", "--epochs", "1");
        Assert.Equal(2, exit);
        Assert.Contains("Option Grid is 8 x 7 = 56 sites but each data row has 64 values", error);
    }

    [Fact]
    public void ATwoDimensionalGridOnNamedMeasurementsIsAnErrorNamingTheOption()
    {
        string cancer = Path.Combine(HjMl.Tests.Support.TestData.RepositoryRoot, "data", "breast_cancer.csv");
        (int exit, _, string error) = Run("adr-efficiency", "--data", cancer, "--grid", "5x6", "--epochs", "1");
        Assert.Equal(2, exit);
        Assert.Contains("Option Grid asks for a 5 x 6 grid on the data's feature columns, but its values are named columns with no lattice order ('mean_radius'", error);
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

    private static string Digits => Path.Combine(HjMl.Tests.Support.TestData.RepositoryRoot, "data", "digits.csv");

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
