using System.Globalization;
using HjMl.Cli;
using HjMl.Landscape;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

public sealed class EnsembleAndLandscapeCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void EnsembleReportsMemberWeightsAndTheEnsembleAgainstTheBestMember()
    {
        string report = Path.Combine(folder, "report.csv");
        var output = new StringWriter();
        int exit = Program.Run(["ensemble", "--data", Path.Combine(TestData.Folder, "iris.csv"), "--task", "multiclass", "--members", "3", "--threads", "2", "--out", report], output, new StringWriter());
        string text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("90 training, 30 validation (eps is chosen here), 30 held-out rows", text);
        Assert.Contains("Gibbs weights", text);
        Assert.Contains("LSE pooling", text);
        Assert.Contains("vs best member", text);

        string[] lines = File.ReadAllLines(report);
        Assert.Equal("row,name,viscosity,validation_loss,validation_metric,test_metric,gibbs_weight,pooled_share,chosen", lines[0]);
        string[] memberRows = lines.Where(line => line.StartsWith("member,", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, memberRows.Length);
        double weights = memberRows.Sum(line => double.Parse(line.Split(',')[^3], CultureInfo.InvariantCulture));
        Assert.Equal(1.0, weights, 12);
        Assert.Equal(2, lines.Count(line => line.StartsWith("ensemble,", StringComparison.Ordinal)));
        Assert.Equal(1, lines.Count(line => line.StartsWith("ensemble,", StringComparison.Ordinal) && line.EndsWith(",1", StringComparison.Ordinal)));
        Assert.Equal(64, lines.Count(line => line.StartsWith("search,", StringComparison.Ordinal))); // 0 and 31 values, per combination
    }

    [Fact]
    public void EnsembleViscosityRangeSetsTheSearchAndABadRangeIsAUsageError()
    {
        string report = Path.Combine(folder, "range.csv");
        Assert.Equal(0, Program.Run(["ensemble", "--members", "2", "--epochs", "5", "--viscosity", "0..1", "--steps", "5", "--out", report], new StringWriter(), new StringWriter()));
        double[] searched = File.ReadLines(report).Where(line => line.StartsWith("search,\"Gibbs", StringComparison.Ordinal))
            .Select(line => double.Parse(line.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(6, searched.Length);
        Assert.Equal(0, searched[0]);
        Assert.Equal(1, searched[^1], 12);

        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["ensemble", "--viscosity", "5..1"], new StringWriter(), error));
        Assert.Contains("--viscosity is '5..1'; it needs 0 <= from < to", error.ToString());
        error = new StringWriter();
        Assert.Equal(2, Program.Run(["ensemble", "--members", "0"], new StringWriter(), error));
        Assert.Contains("--members is 0", error.ToString());
    }

    [Fact]
    public void LandscapePrintsTheSweepAndWritesItsBasinsAsCsv()
    {
        string model = TrainIris();
        string csv = Path.Combine(folder, "landscape.csv");
        var output = new StringWriter();
        int exit = Program.Run(["landscape", "--model", model, "--data", Path.Combine(TestData.Folder, "iris.csv"), "--viscosity", "0.005..5", "--steps", "7", "--grid", "25", "--head", "0", "--out", csv], output, new StringWriter());
        string text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("principal components 1 and 2 of 150 rows", text);
        Assert.Contains("critical scale eps* = N^(-1/d) = 8^(-1/4) = 0.5946", text);
        Assert.Contains("entropy of head 0", text);

        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(LandscapeSweep.CsvHeader, lines[0]);
        int[] counts = lines.Skip(1).Select(line => line.Split(',')).GroupBy(cells => cells[0]).Select(group => int.Parse(group.First()[1], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(7, counts.Length);
        Assert.True(counts[0] > 0, string.Join(" ", counts));
        Assert.True(counts.Zip(counts.Skip(1)).All(pair => pair.Second <= pair.First), string.Join(" ", counts));
        Assert.Equal(0, counts[^1]);
        Assert.Contains("basins merge between eps", text);
    }

    [Fact]
    public void LandscapeRejectsAHeadTheModelDoesNotHave()
    {
        string model = TrainIris();
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["landscape", "--model", model, "--data", Path.Combine(TestData.Folder, "iris.csv"), "--head", "3"], new StringWriter(), error));
        Assert.Contains("--head is '3'; give 'predicted' or a head from 0 to 2", error.ToString());

        error = new StringWriter();
        Assert.Equal(2, Program.Run(["landscape", "--model", Path.Combine(folder, "missing.hjml"), "--data", "x.csv"], new StringWriter(), error));
        Assert.Contains("missing.hjml", error.ToString());
    }

    private string TrainIris()
    {
        string model = Path.Combine(folder, "iris.hjml");
        if (!File.Exists(model))
        {
            Assert.Equal(0, Program.Run(["train", "--data", Path.Combine(TestData.Folder, "iris.csv"), "--task", "multiclass", "--width", "8", "--seed", "1", "--threads", "2", "--out", model], new StringWriter(), new StringWriter()));
        }

        return model;
    }
}
