using System.Diagnostics;
using HjMl.Cli;
using HjMl.Onnx.Protocol;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

/// <summary>
/// What a red team found in the tool (issue 19), kept fixed: repeated columns, rows whose scores are not finite, sizes
/// that overflow or exhaust memory, a time budget beyond TimeSpan, and an ONNX file with many operator types.
/// </summary>
public sealed class ReliabilityCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-reliability-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void EveryVerbRefusesAFileWithARepeatedColumnByName()
    {
        string model = Path.Combine(folder, "iris.hjml");
        Assert.Equal(0, Run("train", "--data", Iris, "--task", "multiclass", "--epochs", "2", "--out", model).Exit);

        // Two columns named sepal_width_cm: trained by position, scored by name, the second would never be read.
        string[] lines = File.ReadAllLines(Iris);
        string duplicated = Path.Combine(folder, "dup.csv");
        File.WriteAllLines(duplicated, [lines[0].Replace("petal_width_cm", "sepal_width_cm", StringComparison.Ordinal), .. lines[1..]]);
        string[][] verbs =
        [
            ["train", "--data", duplicated, "--task", "multiclass", "--out", Path.Combine(folder, "never.hjml")],
            ["predict", "--model", model, "--data", duplicated, "--out", Path.Combine(folder, "p.csv")],
            ["explain", "--model", model, "--data", duplicated],
            ["certify", "--model", model, "--data", duplicated],
            ["cross-validate", "--data", duplicated, "--task", "multiclass", "--folds", "2"],
        ];
        foreach (string[] verb in verbs)
        {
            (int exit, _, string error) = Run(verb);
            Assert.True(exit == 2, $"{verb[0]} exited {exit}");
            Assert.Contains("the header names column 'sepal_width_cm' twice (columns 2 and 4)", error);
        }

        Assert.False(File.Exists(Path.Combine(folder, "p.csv")));
    }

    [Fact]
    public void AVerbThatWouldWriteANonFiniteScoreExitsNonZeroNamingTheRow()
    {
        string model = Path.Combine(folder, "iris.hjml");
        Assert.Equal(0, Run("train", "--data", Iris, "--task", "multiclass", "--epochs", "2", "--out", model).Exit);
        string[] lines = File.ReadAllLines(Iris);
        string extreme = Path.Combine(folder, "extreme.csv");
        File.WriteAllLines(extreme, [lines[0], lines[1], lines[2], "1e308,1e308,-1e308,1e308,0", lines[3]]);
        foreach (string verb in new[] { "predict", "explain", "certify", "landscape" })
        {
            string output = Path.Combine(folder, verb + ".csv");
            (int exit, _, string error) = Run(verb, "--model", model, "--data", extreme, "--out", output);
            Assert.True(exit != 0, $"{verb} exited 0");
            Assert.Contains("Row 3 cannot be scored", error);
            Assert.False(File.Exists(output), $"{verb} wrote {output}");
        }
    }

    [Fact]
    public void ARowThatScoresButWhoseCertificateOrPlaneOverflowsIsRefusedNamingTheRow()
    {
        string model = Path.Combine(folder, "iris.hjml");
        Assert.Equal(0, Run("train", "--data", Iris, "--task", "multiclass", "--epochs", "2", "--out", model).Exit);
        string[] lines = File.ReadAllLines(Iris);
        string far = Path.Combine(folder, "far.csv");
        File.WriteAllLines(far, [lines[0], lines[1], "1e308,3,1.4,0.2,0", lines[2]]);
        (int exit, _, string error) = Run("certify", "--model", model, "--data", far, "--out", Path.Combine(folder, "c.csv"));
        Assert.True(exit != 0 && error.Contains("Row 2 ", StringComparison.Ordinal), error);
        (exit, _, error) = Run("landscape", "--model", model, "--data", far, "--steps", "2", "--grid", "5");
        Assert.True(exit != 0 && error.Contains("Row 2", StringComparison.Ordinal), error);
        Assert.False(File.Exists(Path.Combine(folder, "c.csv")));
    }

    [Theory]
    [InlineData("268435456", "make 16642998273 parameters, more than one array holds")]
    [InlineData("2147483647", "more than one array holds")]
    [InlineData("10000000", "but the data has 569 rows")]
    public void AWidthThatCannotBeTrainedIsRefusedNamingTheSizesBeforeTraining(string width, string expected)
    {
        var clock = Stopwatch.StartNew();
        (int exit, _, string error) = Run("train", "--width", width, "--out", Path.Combine(folder, "never.hjml"));
        Assert.Equal(2, exit);
        Assert.Contains($"Option NumberOfSupportPoints (--width) is {width}", error);
        Assert.Contains(expected, error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void WideDataWithMoreSupportPointsThanRowsIsRefusedBeforeAllocating()
    {
        // Two rows of 100,000 columns: each head would place 8 support points on 2 rows (the case had 10^6 columns).
        string wide = Path.Combine(folder, "wide.csv");
        using (var writer = new StreamWriter(wide))
        {
            writer.WriteLine(string.Join(',', Enumerable.Range(0, 100_000).Select(k => $"c{k}")) + ",Label");
            writer.WriteLine(string.Join(',', Enumerable.Repeat("0.5", 100_000)) + ",0");
            writer.WriteLine(string.Join(',', Enumerable.Repeat("1.5", 100_000)) + ",1");
        }

        (int exit, _, string error) = Run("train", "--data", wide, "--task", "binary", "--width", "8", "--out", Path.Combine(folder, "never.hjml"));
        Assert.Equal(2, exit);
        Assert.Contains("is 8, but the data has 2 rows", error);
    }

    [Theory]
    [InlineData("1e308")]
    [InlineData("1e309")]
    [InlineData("922337203686")]
    public void ATimeBudgetBeyondATimeSpanIsAUsageError(string budget)
    {
        (int exit, _, string error) = Run("train", "--search", "--time-budget", budget, "--out", Path.Combine(folder, "never.hjml"));
        Assert.Equal(2, exit);
        Assert.Contains("at most 922337203685 (the longest time span .NET holds)", error);
    }

    [Theory]
    [InlineData("budget", "--steps", "--model m.hjml --data d.csv --viscosity 0.1..1")]
    [InlineData("landscape", "--steps", "--model m.hjml --data d.csv")]
    [InlineData("ensemble", "--members", "")]
    [InlineData("ensemble", "--steps", "")]
    [InlineData("verify", "--pieces", "")]
    [InlineData("verify", "--points", "")]
    [InlineData("scaling", "--dimension", "")]
    public void ACountThatSizesAVerbsWorkIsBounded(string verb, string option, string others)
    {
        (int exit, _, string error) = Run([verb, option, "2147483647", .. others.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.Equal(2, exit);
        Assert.Contains($"{option} is 2147483647; it must be between", error);
    }

    [Fact]
    public void InspectCountsAnOnnxGraphsOperatorsInLinearTime()
    {
        var graph = new GraphProto { Name = "many" };
        for (int i = 0; i < 100_000; i++)
        {
            graph.Node.Add(new NodeProto { OpType = $"Op{i}" });
        }

        graph.Node.Add(new NodeProto { OpType = "Op7" });
        string path = Path.Combine(folder, "many.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(new ModelProto { IrVersion = 8, Graph = graph }));
        var clock = Stopwatch.StartNew();
        (int exit, string output, string error) = Run("inspect", path);
        Assert.True(exit == 0, error);
        Assert.Contains("graph  100001 nodes (Op0 1, Op1 1,", output);
        Assert.Contains("Op7 2,", output);

        // Quadratic counting took 22.6 s on 100,000 types; linear takes well under a second.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    private static string Iris => Path.Combine(TestData.Folder, "iris.csv");

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
