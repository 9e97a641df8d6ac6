using System.Text;
using HjMl.Cli;
using HjMl.Cli.Data;
using HjMl.Models;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

/// <summary>
/// Issue 18, data in: any real CSV (quotes, separators, a byte-order mark, CRLF, categorical and empty cells) trains with
/// no option but the label, its kinds and task inferred and overridable, and the ML.NET zip it writes predicts on new rows.
/// </summary>
public sealed class TabularTrainingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-tabular-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void QuotedSemicolonCsvWithBomCrlfCategoriesAndEmptyCellsTrainsAZipThatPredictsTheLabelsValues()
    {
        string data = Path.Combine(folder, "pets.csv");
        WritePets(data, rows: 300, seed: 1);
        string model = Path.Combine(folder, "pets.zip");
        (int exit, string output, string error) = Run("train", "--data", data, "--label", "Kind", "--epochs", "20", "--out", model);
        Assert.True(exit == 0, error);
        Assert.Contains("label 'Kind' -> binary", output);
        Assert.Contains("categorical, one-hot: colour", output);
        Assert.Contains("numeric: weight (", output);
        Assert.Contains("positive class 'cat'", output);

        string fresh = Path.Combine(folder, "fresh.csv");
        WritePets(fresh, rows: 200, seed: 2);
        string predictions = Path.Combine(folder, "p.csv");
        Assert.Equal(0, Run("predict", "--model", model, "--data", fresh, "--out", predictions).Exit);
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal("Score,Probability,PredictedLabel", lines[0]);
        Assert.Equal(201, lines.Length);
        string[] truth = ReadLabels(fresh);
        int correct = lines.Skip(1).Select((line, i) => line.Split(',')[2] == truth[i] ? 1 : 0).Sum();
        Assert.True(correct >= 170, $"{correct} of 200 new rows predicted right (the label follows colour and weight)");
    }

    [Fact]
    public void TaskIsInferredFromTheLabelAndTheInferenceCanBeOverridden()
    {
        string data = Path.Combine(folder, "mixed.csv");
        File.WriteAllText(data, "\"id\",\"x\",\"size\",\"y\"\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i},{i * 0.5},{(i % 3 == 0 ? "small" : i % 3 == 1 ? "medium" : "large")},{(i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c")}\n")));
        var table = RawTable.Read(data);
        TabularSchema schema = ColumnInference.Infer(table, new ColumnChoices("y", Ignore: ["id"]));
        Assert.Equal(ModelKind.MulticlassClassification, schema.Label.Task);
        Assert.Equal(["a", "b", "c"], schema.Label.Classes);
        Assert.Equal(ColumnKind.Ignored, schema.Features.Single(c => c.Name == "id").Kind);
        Assert.Equal(ColumnKind.Categorical, schema.Features.Single(c => c.Name == "size").Kind);
        Assert.Equal(ModelKind.Regression, ColumnInference.Infer(table, new ColumnChoices("x")).Label.Task);
        Assert.Equal(ColumnKind.Categorical, ColumnInference.Infer(table, new ColumnChoices("y", Categorical: ["x"])).Features.Single(c => c.Name == "x").Kind);
        ArgumentException wrong = Assert.Throws<ArgumentException>(() => ColumnInference.Infer(table, new ColumnChoices("y", Task: ModelKind.BinaryClassification)));
        Assert.Contains("--task binary needs a label with two values, but 'y' has 3", wrong.Message);
    }

    [Fact]
    public void AHjmlFileRefusesACategoricalColumnByNameAndPointsToTheZip()
    {
        string data = Path.Combine(folder, "pets.csv");
        WritePets(data, rows: 50, seed: 3);
        (int exit, _, string error) = Run("train", "--data", data, "--label", "Kind", "--out", Path.Combine(folder, "never.hjml"));
        Assert.Equal(2, exit);
        Assert.Contains("Column 'colour' is categorical", error);
        Assert.Contains("--out model.zip", error);
        Assert.False(File.Exists(Path.Combine(folder, "never.hjml")));
    }

    [Fact]
    public void ModelDataGivesTheEngineModelAndFeaturisedRowsOfAZipAsTheModelScoresThem()
    {
        string data = Path.Combine(folder, "pets.csv");
        WritePets(data, rows: 120, seed: 4);
        string model = Path.Combine(folder, "pets.zip");
        Assert.Equal(0, Run("train", "--data", data, "--label", "Kind", "--epochs", "5", "--out", model).Exit);
        ModelData loaded = ModelData.Load(model);
        Assert.True(loaded.IsPipeline);
        HjMl.Data.Dataset rows = loaded.ReadAll(data, "Kind");
        Assert.Equal(120, rows.Rows);
        Assert.Equal(loaded.Model.InputDimension, rows.Columns);
        Assert.Contains("colour.red", rows.FeatureNames);
        Assert.Contains("weight.missing", rows.FeatureNames);
        string[] truth = ReadLabels(data);
        for (int row = 0; row < rows.Rows; row++)
        {
            Assert.Equal(truth[row] == "cat" ? 1.0 : 0.0, rows.Labels[row]);
        }

        // The streamed batches hold the same rows as the whole read.
        double[] streamed = [.. loaded.Read(data, "Kind", batchSize: 7).SelectMany(b => b.Features.Take(b.Rows * rows.Columns))];
        Assert.Equal(rows.Features.ToArray(), streamed);
    }

    // A pet's kind follows its colour (cats mostly black or white) and weight (cats lighter); every tenth colour and
    // weight is empty, the header is quoted, the separator a semicolon, a colour holds the separator, lines end in CRLF.
    private static void WritePets(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("\"colour\";\"weight\";\"name\";\"Kind\"\r\n");
        string[] catColours = ["black", "white", "black", "\"grey; striped\""];
        string[] dogColours = ["brown", "red", "golden", "\"grey; striped\""];
        for (int i = 0; i < rows; i++)
        {
            bool cat = random.NextDouble() < 0.5;
            string colour = random.Next(10) == 0 ? string.Empty : cat ? catColours[random.Next(4)] : dogColours[random.Next(4)];
            string weight = random.Next(10) == 0 ? string.Empty : (cat ? 3 + (2 * random.NextDouble()) : 6 + (20 * random.NextDouble())).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
            text.Append($"{colour};{weight};pet{i};{(cat ? "cat" : "dog")}\r\n");
        }

        File.WriteAllText(path, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
    }

    private static string[] ReadLabels(string path) => [.. File.ReadAllLines(path).Skip(1).Select(line => line[(line.LastIndexOf(';') + 1)..])];

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
