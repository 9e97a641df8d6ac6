using HjMl.Cli;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

public sealed class ExplanationCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-explain-").FullName;
    private readonly string model;
    private readonly string data = Path.Combine(TestData.Folder, "breast_cancer.csv");

    public ExplanationCommandTests()
    {
        model = Path.Combine(folder, "bc.hjml");
        Assert.Equal(0, Program.Run(["train", "--width", "6", "--epochs", "15", "--out", model], new StringWriter(), new StringWriter()));
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void ExplainWritesOneRowPerInputWhoseContributionsSumToTheScore()
    {
        string csv = Path.Combine(folder, "e.csv");
        var output = new StringWriter();
        Assert.Equal(0, Program.Run(["explain", "--model", model, "--data", data, "--top", "2", "--out", csv], output, new StringWriter()));
        Assert.Contains("carried by: training row", output.ToString());
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(570, lines.Length);
        string[] header = lines[0].Split(',');
        foreach (string line in lines.Skip(1).Take(50))
        {
            double[] cells = line.Split(',').Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            double sum = cells[Array.IndexOf(header, "Baseline")] + cells[Array.IndexOf(header, "BiasTerm")] + cells[Array.IndexOf(header, "EntropyTerm")]
                + header.Select((name, i) => name.StartsWith("Contribution.", StringComparison.Ordinal) ? cells[i] : 0).Sum();
            Assert.Equal(cells[Array.IndexOf(header, "Score")], sum, 9);
        }
    }

    [Fact]
    public void ExplainingALiftedFlowModelWritesInputFeatureContributionsThatSumToTheScore()
    {
        string deep = Path.Combine(folder, "deep.hjml");
        string iris = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Program.Run(["train", "--data", iris, "--task", "multiclass", "--depth", "2", "--flow-width", "8", "--epochs", "20", "--out", deep], new StringWriter(), new StringWriter()));
        string csv = Path.Combine(folder, "deep.csv");
        var output = new StringWriter();
        Assert.Equal(0, Program.Run(["explain", "--model", deep, "--data", iris, "--out", csv], output, new StringWriter()));
        Assert.Contains("terminal coordinates", output.ToString());
        Assert.Contains("(at the training means)", output.ToString());
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(151, lines.Length);
        string[] header = lines[0].Split(',');
        Assert.Equal(4, header.Count(name => name.StartsWith("Contribution.", StringComparison.Ordinal)));
        foreach (string line in lines.Skip(1))
        {
            double[] cells = line.Split(',').Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            double sum = cells[Array.IndexOf(header, "Baseline")] + cells[Array.IndexOf(header, "BiasTerm")] + cells[Array.IndexOf(header, "EntropyTerm")]
                + cells[Array.IndexOf(header, "QuadratureRemainder")] + header.Select((name, i) => name.StartsWith("Contribution.", StringComparison.Ordinal) ? cells[i] : 0).Sum();
            Assert.Equal(cells[Array.IndexOf(header, "ExplainedValue")], sum, 9);
        }
    }

    [Fact]
    public void CertifyWithAttacksFindsNoBrokenCertificate()
    {
        var output = new StringWriter();
        Assert.Equal(0, Program.Run(["certify", "--model", model, "--data", data, "--attack"], output, new StringWriter()));
        Assert.Contains("0 of", output.ToString());
        Assert.Contains("certificates broken", output.ToString());
    }

    [Fact]
    public void BudgetWritesAPointPerViscosityAndAChart()
    {
        string json = Path.Combine(folder, "b.json");
        string svg = Path.Combine(folder, "b.svg");
        Assert.Equal(0, Program.Run(["budget", "--model", model, "--data", data, "--viscosity", "0.1..10", "--steps", "4", "--out", json, "--plot", svg], new StringWriter(), new StringWriter()));
        Assert.Equal(4, System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetArrayLength());
        Assert.StartsWith("<svg", File.ReadAllText(svg));
    }

    [Fact]
    public void BadArgumentsAreClearErrors()
    {
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["budget", "--model", model, "--data", data, "--viscosity", "5"], new StringWriter(), error));
        Assert.Contains("<from>..<to>", error.ToString());
        error = new StringWriter();
        Assert.Equal(2, Program.Run(["explain", "--model", model, "--data", data, "--top", "99"], new StringWriter(), error));
        Assert.Contains("top is 99", error.ToString());
    }
}
