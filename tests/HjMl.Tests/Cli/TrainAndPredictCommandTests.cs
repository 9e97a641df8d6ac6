using HjMl.Cli;
using HjMl.Persistence;
using HjMl.Tests.Support;

namespace HjMl.Tests.Cli;

public sealed class TrainAndPredictCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void TrainWithoutDataUsesTheEmbeddedSetAndWritesALoadableModel()
    {
        string model = Path.Combine(folder, "bc.hjml");
        var output = new StringWriter();
        int exit = Program.Run(["train", "--width", "4", "--epochs", "10", "--out", model], output, new StringWriter());
        Assert.Equal(0, exit);
        Assert.Contains("breast_cancer (embedded): 569 rows x 30 features", output.ToString());
        Assert.Contains("accuracy", output.ToString());
        Assert.Equal(30, ModelFile.Load(model).InputDimension);
    }

    [Fact]
    public void PredictWritesOneRowPerInputWithProbabilityAndLabel()
    {
        string model = Path.Combine(folder, "iris.hjml");
        string predictions = Path.Combine(folder, "p.csv");
        string data = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Program.Run(["train", "--data", data, "--task", "multiclass", "--width", "3", "--out", model], new StringWriter(), new StringWriter()));
        Assert.Equal(0, Program.Run(["predict", "--model", model, "--data", data, "--out", predictions], new StringWriter(), new StringWriter()));
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal("PredictedLabel,Probability,Score.0,Score.1,Score.2", lines[0]);
        Assert.Equal(151, lines.Length);
        int correct = lines.Skip(1).Zip(File.ReadLines(data).Skip(1)).Count(pair => pair.First.Split(',')[0] == pair.Second.Split(',')[^1]);
        Assert.True(correct > 140, $"{correct} of 150 training rows predicted right");
    }

    [Fact]
    public void MissingLabelColumnExitsWithTwoNamesTheColumnAndWritesNothing()
    {
        string model = Path.Combine(folder, "never.hjml");
        var error = new StringWriter();
        int exit = Program.Run(["train", "--data", Path.Combine(TestData.Folder, "iris.csv"), "--label", "Species", "--task", "multiclass", "--out", model], new StringWriter(), error);
        Assert.Equal(2, exit);
        Assert.Contains("no label column 'Species'", error.ToString());
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void SingleClassExitsWithTwoAndLeavesAnExistingModelIntact()
    {
        string model = Path.Combine(folder, "keep.hjml");
        File.WriteAllText(model, "previous");
        string data = Path.Combine(folder, "one.csv");
        File.WriteAllText(data, "a,Label\n1,1\n2,1\n3,1\n");
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["train", "--data", data, "--task", "binary", "--width", "2", "--out", model], new StringWriter(), error));
        Assert.Contains("single class", error.ToString());
        Assert.Equal("previous", File.ReadAllText(model));
    }

    [Fact]
    public void DataWithoutTaskInfersTheTaskFromTheLabel()
    {
        // Issue 18 made --task optional (it was required with --data): iris's label of three whole numbers is multiclass.
        var output = new StringWriter();
        string model = Path.Combine(folder, "inferred.hjml");
        Assert.Equal(0, Program.Run(["train", "--data", Path.Combine(TestData.Folder, "iris.csv"), "--width", "3", "--epochs", "5", "--out", model], output, new StringWriter()));
        Assert.Contains("label 'Label' -> multiclass (3 whole-number label values", output.ToString());
        Assert.Equal(HjMl.Models.ModelKind.MulticlassClassification, ModelFile.Load(model).Kind);
    }
}
