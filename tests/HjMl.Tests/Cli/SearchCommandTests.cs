using System.Diagnostics;
using HjMl.Cli;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

/// <summary>
/// Issue 18, search like Model Builder: the budget is used, the leaderboard is sorted, the final score is on rows the
/// search never saw, a seed fixes the trials, and the consumption project it writes builds and runs.
/// </summary>
public sealed class SearchCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-search-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void SearchUsesItsBudgetSortsTheLeaderboardScoresHeldOutRowsAndRepeatsForASeed()
    {
        string iris = Path.Combine(TestData.Folder, "iris.csv");
        var clock = Stopwatch.StartNew();
        (int exit, string output, string error) = Run("train", "--data", iris, "--search", "--time-budget", "4", "--epochs", "30", "--seed", "3", "--out", Path.Combine(folder, "a.hjml"));
        Assert.True(exit == 0, error);
        Assert.True(clock.Elapsed.TotalSeconds >= 4, $"the search ended after {clock.Elapsed.TotalSeconds:F1}s of a 4s budget");
        Assert.Contains("s left", output);
        Assert.Contains("test (22 rows no trial, early stopping or featuriser saw)", output);
        string[] board = [.. output.Split('\n').SkipWhile(l => !l.StartsWith("leaderboard", StringComparison.Ordinal)).Skip(2).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal))];
        Assert.True(board.Length >= 3, output);
        double[] accuracy = [.. board.Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[7], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(accuracy.OrderByDescending(a => a), accuracy);
        Assert.True(File.Exists(Path.Combine(folder, "a.log")));

        (_, string again, _) = Run("train", "--data", iris, "--search", "--time-budget", "2", "--epochs", "30", "--seed", "3", "--out", Path.Combine(folder, "b.hjml"));
        Assert.Equal(Trials(output).Take(3), Trials(again).Take(3));
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public void ConsumptionProjectBuildsAndPredictsAndExplainsTheRowItWasGiven()
    {
        string data = Path.Combine(folder, "shapes.csv");
        File.WriteAllText(data, "size,shade,Label\n" + string.Concat(Enumerable.Range(0, 120).Select(i => $"{(i % 7 == 0 ? string.Empty : (i % 10).ToString(System.Globalization.CultureInfo.InvariantCulture))},{(i % 2 == 0 ? "dark" : "light")},{(i % 2 == 0 ? "yes" : "no")}\n")));
        string model = Path.Combine(folder, "shapes.zip");
        string project = Path.Combine(TestData.RepositoryRoot, "src", "HjMl.MLNet", "HjMl.MLNet.csproj");
        (int exit, string output, string error) = Run("train", "--data", data, "--search", "--time-budget", "3", "--epochs", "10", "--hjml-mlnet-project", project, "--out", model);
        Assert.True(exit == 0, error);
        string consumption = Path.Combine(folder, "Shapes.Consumption");
        Assert.Contains($"written: {consumption}", output);
        Assert.True(File.Exists(Path.Combine(folder, "shapes.training.cs")));

        var start = new ProcessStartInfo("dotnet", ["run", "-c", "Release"]) { WorkingDirectory = consumption, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process run = Process.Start(start)!;
        string printed = run.StandardOutput.ReadToEnd();
        string failed = run.StandardError.ReadToEnd();
        run.WaitForExit();
        Assert.True(run.ExitCode == 0, printed + failed);
        Assert.Contains("predicted yes, P(positive) =", printed);
        Assert.Contains("explained score", printed);
        Assert.Contains("carried by training rows", printed);
    }

    private static IEnumerable<string> Trials(string output)
        => output.Split('\n').Where(l => l.TrimStart().StartsWith("trial ", StringComparison.Ordinal)).Select(l => l[..l.IndexOf("accuracy", StringComparison.Ordinal)]);

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
