using HjMl.Cli;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Persistence;

namespace HjMl.Tests.Cli;

public sealed class ExportAndInspectCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-cli-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void ExportWritesAnOnnxGraphThatInspectDescribes()
    {
        string model = SavedModel("multiclass");
        string onnx = Path.Combine(folder, "iris.onnx");
        (int exit, string output, string error) = Run("export", "--model", model, "--onnx", onnx);
        Assert.True(exit == 0, error);
        Assert.Contains("opset 17", output);
        Assert.Contains("input  Features: float32 [N, 4]", output);

        (exit, output, error) = Run("inspect", onnx);
        Assert.True(exit == 0, error);
        Assert.Contains("ONNX model, IR version 8, opsets ai.onnx 17, produced by HjMl", output);
        Assert.Contains("input  Features: float32 [N, 4]", output);
        Assert.Contains("output Score: float32 [N, 3]", output);
        Assert.Contains("output ClassScores: float32 [N, 3]", output);
        Assert.Contains("output PredictedLabel: float32 [N]", output);
        Assert.Contains("output PredictedClassIndex: int64 [N]", output);
        Assert.Contains("hjml.kind = multiclass", output);
        Assert.Contains("hjml.feature_names = [\"sepal_length_cm\",", output);
    }

    [Fact]
    public void ExportWithExplainAddsTheExplanationOutputs()
    {
        string model = SavedModel("binary");
        string onnx = Path.Combine(folder, "explained.onnx");
        (int exit, string output, string error) = Run("export", "--model", model, "--onnx", onnx, "--explain", "--top", "4");
        Assert.True(exit == 0, error);
        Assert.Contains("with explanation outputs", output);
        Assert.Contains("output GibbsWeights: float32 [N, 2, 12]", output);
        Assert.Contains("output TopSupportIndices: int64 [N, 2, 4]", output);
        Assert.Contains("output CertifiedRadius: float32 [N]", output);
        Assert.Contains("output OutOfSupportScore: float32 [N]", output);
    }

    [Fact]
    public void TopWithoutExplainIsAUsageError()
    {
        (int exit, _, string error) = Run("export", "--model", SavedModel("binary"), "--onnx", Path.Combine(folder, "out.onnx"), "--top", "3");
        Assert.Equal(2, exit);
        Assert.Contains("it needs --explain", error);
    }

    [Fact]
    public void InspectDescribesAModelFile()
    {
        string model = SavedModel("binary");
        (int exit, string output, string error) = Run("inspect", model);
        Assert.True(exit == 0, error);
        Assert.Contains("HjMl model file, format version 1", output);
        Assert.Contains("kind   binary", output);
        Assert.Contains("input  Features: float64 [30]  mean_radius,", output);
        Assert.Contains("output Score: float64 [1]", output);
        Assert.Contains($"{ModelFile.WriterVersionKey} = {ModelFile.LibraryVersion}", output);
    }

    [Fact]
    public void InspectRejectsAFileThatIsNeitherKind()
    {
        string text = Path.Combine(folder, "notes.txt");
        File.WriteAllText(text, "not a model\n");
        (int exit, _, string error) = Run("inspect", text);
        Assert.Equal(2, exit);
        Assert.Contains("notes.txt is neither an HjMl model file", error);
    }

    [Fact]
    public void ExportOfADamagedModelFileSaysWhatIsWrong()
    {
        string model = SavedModel("binary");
        byte[] bytes = File.ReadAllBytes(model);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(model, bytes);
        (int exit, _, string error) = Run("export", "--model", model, "--onnx", Path.Combine(folder, "out.onnx"));
        Assert.Equal(2, exit);
        Assert.Contains("checksum does not match", error);
        Assert.False(File.Exists(Path.Combine(folder, "out.onnx")));
    }

    [Fact]
    public void ExportOfAnUnsupportedModelNamesWhatIsUnsupported()
    {
        string model = Path.Combine(folder, "tiny-eps.hjml");
        ModelFile.Save(ModelFileTests.Model("binary").WithViscosity(1e-60), model);
        (int exit, _, string error) = Run("export", "--model", model, "--onnx", Path.Combine(folder, "out.onnx"));
        Assert.Equal(2, exit);
        Assert.Contains("rounds to 0 in float32", error);
    }

    [Fact]
    public void ExportWithoutOnnxPathIsAUsageError()
    {
        (int exit, _, string error) = Run("export", "--model", SavedModel("regression"));
        Assert.Equal(2, exit);
        Assert.Contains("--onnx is required", error);
    }

    private string SavedModel(string kind)
    {
        string path = Path.Combine(folder, kind + ".hjml");
        HopfColeModel model = ModelFileTests.Model(kind);
        ModelFile.Save(model, path);
        return path;
    }

    private static (int Exit, string Output, string Error) Run(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(arguments, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
