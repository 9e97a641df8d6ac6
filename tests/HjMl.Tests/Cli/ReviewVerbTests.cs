using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using HjMl.Cli;
using HjMl.Cli.Data;
using HjMl.Cli.Report;
using HjMl.Data;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

/// <summary>
/// Issue 18, the review verbs as a user meets them: <c>report</c> reads an ML.NET zip (its categorical columns featurised
/// as in training), the embedded sample, and a seeded sample of a large file; <c>landscape</c>'s defaults say something;
/// <c>explain</c> shows the entropies its eps·H term is made of, names training rows unambiguously, and --rows limits it.
/// </summary>
public sealed class ReviewVerbTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-review-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void ReportReviewsAnMLNetZipOnACategoricalCsvFeaturisedAsInTraining()
    {
        string train = Path.Combine(folder, "pets.csv");
        string fresh = Path.Combine(folder, "fresh.csv");
        WritePets(train, 300, seed: 1);
        WritePets(fresh, 200, seed: 2);
        string model = Path.Combine(folder, "pets.zip");
        Assert.Equal(0, Run("train", "--data", train, "--label", "Kind", "--epochs", "20", "--out", model).Exit);
        string page = Path.Combine(folder, "pets.html");

        (int exit, string output, string error) = Run("report", "--model", model, "--data", fresh, "--label", "Kind", "--out", page, "--budget-steps", "3", "--grid", "9");

        Assert.True(exit == 0, error + output);
        Assert.Contains("on 200 rows of fresh.csv", output);
        string html = File.ReadAllText(page);
        Assert.Contains("pets.zip", html);
        Assert.Contains("an ML.NET model", html);
        // The pets' kind follows their colour: the one-hot columns reached the model, so it predicts well.
        double accuracy = double.Parse(Regex.Match(html, @"accuracy</td><td>([0-9.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(accuracy > 0.8, $"accuracy {accuracy}");
    }

    [Fact]
    public void ReportWithoutDataReviewsTheEmbeddedSampleAsExplainDoes()
    {
        string model = TrainBreastCancer();
        string page = Path.Combine(folder, "bc.html");

        (int exit, string output, string error) = Run("report", "--model", model, "--out", page, "--budget-steps", "3", "--grid", "9");

        Assert.True(exit == 0, error + output);
        Assert.Contains("on 569 rows of breast_cancer (embedded)", output);
        Assert.Contains("(file line", File.ReadAllText(page));
    }

    [Fact]
    public void ReportEvaluatesASeededSampleOfMaxRowsRowsAndSaysHowManyOfHowMany()
    {
        string model = TrainBreastCancer();
        string page = Path.Combine(folder, "sampled.html");

        (int exit, string output, string error) = Run("report", "--model", model, "--out", page, "--max-rows", "100", "--budget-steps", "3", "--grid", "9");

        Assert.True(exit == 0, error + output);
        Assert.Contains("100 of the 569 rows", output);
        Assert.Contains("100 of the 569 rows", File.ReadAllText(page));

        ModelData loaded = ModelData.Load(model);
        Dataset all = loaded.ReadAll(null);
        (Dataset sample, int[] rows, long fileRows) = ReportCommand.Sample(loaded, null, "Label", 100, CancellationToken.None);
        Assert.Equal(569, fileRows);
        Assert.Equal(rows, ReportCommand.Sample(loaded, null, "Label", 100, CancellationToken.None).SourceRows);
        Assert.Equal(100, rows.Distinct().Count());
        Assert.True(rows.Zip(rows.Skip(1)).All(pair => pair.First < pair.Second), "rows in file order");
        Assert.True(rows[^1] > 400, "the sample reaches past the first rows");
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(all.Row(rows[i]).ToArray(), sample.Row(i).ToArray());
            Assert.Equal(all.Labels[rows[i]], sample.Labels[i]);
        }
    }

    [Fact]
    public void LandscapeWithDefaultsPrintsEachHeadsBasinsWhereThePredictedHeadHasNone()
    {
        string model = Path.Combine(folder, "iris.hjml");
        string iris = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Run("train", "--data", iris, "--task", "multiclass", "--width", "8", "--seed", "1", "--threads", "2", "--out", model).Exit);

        (int exit, string output, string error) = Run("landscape", "--model", model, "--data", iris);

        Assert.True(exit == 0, error + output);
        string[] lines = output.Split('\n');
        int header = Array.FindIndex(lines, line => line.Contains("predicted  head 0", StringComparison.Ordinal));
        Assert.True(header >= 0, output);
        int[][] table = lines.Skip(header + 1).Take(25).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(int.Parse).ToArray()).ToArray();
        Assert.All(table, row => Assert.Equal(4, row.Length));
        Assert.True(table.Sum(row => row.Skip(1).Sum()) > 0, output);
    }

    [Fact]
    public void ExplainShowsBothHeadsEntropiesWhoseDifferenceTimesEpsIsTheEntropyTerm()
    {
        string model = TrainBreastCancer();

        (int exit, string output, _) = Run("explain", "--model", model, "--rows", "5");

        Assert.Equal(0, exit);
        MatchCollection terms = Regex.Matches(output, @"\+ (\S+) \(eps·H\)");
        MatchCollection entropies = Regex.Matches(output, @"eps × \(H\(head 0\) − H\(head 1\)\) = (\S+) × \((\S+) − (\S+)\)");
        Assert.Equal(5, terms.Count);
        Assert.Equal(5, entropies.Count);
        for (int i = 0; i < 5; i++)
        {
            double[] parts = [.. entropies[i].Groups.Values.Skip(1).Select(group => double.Parse(group.Value, CultureInfo.InvariantCulture))];
            Assert.Equal(double.Parse(terms[i].Groups[1].Value, CultureInfo.InvariantCulture), parts[0] * (parts[1] - parts[2]), 2);
        }
    }

    [Fact]
    public void ExplainNamesATrainingRowByItsNumberAndItsFileLine()
    {
        string model = TrainBreastCancer();

        string output = Run("explain", "--model", model, "--rows", "3").Output;

        MatchCollection named = Regex.Matches(output, @"training row (\d+) \(file line (\d+)\)");
        Assert.True(named.Count >= 3, output);
        Assert.All(named, match => Assert.Equal(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) + 1, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void ExplainWithRowsWritesOnlyThoseRowsToScreenAndFile()
    {
        string model = TrainBreastCancer();
        string csv = Path.Combine(folder, "two.csv");

        string output = Run("explain", "--model", model, "--rows", "2", "--out", csv).Output;

        Assert.Equal(3, File.ReadAllLines(csv).Length);
        Assert.Contains("2 explanations written", output);
        Assert.Equal(2, Regex.Count(output, @"^row \d+:", RegexOptions.Multiline));
    }

    private string TrainBreastCancer()
    {
        string model = Path.Combine(folder, "bc.zip");
        Assert.Equal(0, Run("train", "--width", "6", "--epochs", "15", "--out", model).Exit);
        return model;
    }

    // A pet's kind follows its colour (cats black or white, dogs brown or red) and weight; every tenth colour is empty.
    private static void WritePets(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("colour,weight,Kind\n");
        string[] cats = ["black", "white"];
        string[] dogs = ["brown", "red"];
        for (int i = 0; i < rows; i++)
        {
            bool cat = random.NextDouble() < 0.5;
            string colour = random.Next(10) == 0 ? string.Empty : cat ? cats[random.Next(2)] : dogs[random.Next(2)];
            string weight = (5 + (10 * random.NextDouble())).ToString("F2", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{colour},{weight},{(cat ? "cat" : "dog")}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
