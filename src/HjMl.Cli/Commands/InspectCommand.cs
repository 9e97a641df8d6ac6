using System.Globalization;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml inspect &lt;file&gt;</c>: prints what an HjMl model file or an ONNX model holds: inputs and outputs (names,
/// types, shapes), the model's dimensions, and its metadata. The file's first bytes decide which it is.
/// </summary>
internal sealed class InspectCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } = [];

    public string? Positional => "file";

    public string Name => "inspect";

    public string Summary => "show a model file's or ONNX graph's inputs, outputs (names, types, shapes) and metadata";

    public string Usage => "hjml inspect <file.hjml | file.onnx>";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        arguments.RejectUnknown();
        if (arguments.Positional.Count != 1)
        {
            throw new UsageException("give exactly one file to inspect.");
        }

        string path = arguments.Positional[0];
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The file '{path}' does not exist.", path);
        }

        if (ModelFile.HasSignature(path))
        {
            WriteModelFile(output, path, ModelFile.Read(path));
        }
        else
        {
            OnnxModelSummary summary;
            try
            {
                summary = OnnxModelSummary.Read(path);
            }
            catch (InvalidDataException notOnnx)
            {
                throw new InvalidDataException($"{path} is neither an HjMl model file (it does not start with the model file signature) nor an ONNX model ({notOnnx.Message}).", notOnnx);
            }

            WriteOnnx(output, path, summary);
        }

        return 0;
    }

    /// <summary>One line per tensor: "  input  Features: float32 [N, 4]  (description)".</summary>
    internal static void WriteTensors(TextWriter output, string role, IEnumerable<OnnxTensorDescription> tensors)
    {
        foreach (OnnxTensorDescription tensor in tensors)
        {
            string description = tensor.Description.Length == 0 ? string.Empty : $"  {tensor.Description}";
            output.WriteLine($"  {role,-6} {tensor}{description}");
        }
    }

    private static void WriteModelFile(TextWriter output, string path, ModelFileContents contents)
    {
        HopfColeModel model = contents.Model;
        int d = model.InputDimension;
        output.WriteLine($"{path}: HjMl model file, format version {contents.FormatVersion}, {new FileInfo(path).Length} bytes");
        output.WriteLine($"  kind   {KindName(model.Kind)}");
        output.WriteLine($"  layer  {model.Layer.NumberOfHeads} heads x {model.Layer.NumberOfPieces} pieces on {d} standardised features, eps = {Text(model.Viscosity)}, t = {Text(model.Time)}");
        output.WriteLine($"  input  Features: float64 [{d}]  {string.Join(", ", model.FeatureNames)}");
        switch (model.Kind)
        {
            case ModelKind.Regression:
                output.WriteLine($"  output Score: float64 [1]  LabelMean + LabelScale * (f_0 - f_1), label mean {Text(model.LabelMean)}, scale {Text(model.LabelScale)}");
                break;
            case ModelKind.BinaryClassification:
                output.WriteLine("  output Score: float64 [1]  margin f_0 - f_1; probability sigmoid(Score)");
                output.WriteLine($"  output PredictedLabel  {Text(model.ClassLabels[1])} if Score > 0, else {Text(model.ClassLabels[0])}");
                break;
            default:
                output.WriteLine($"  output Score: float64 [{model.NumberOfClasses}]  one LSE head value per class; probabilities softmax(Score)");
                output.WriteLine($"  output PredictedLabel  one of {string.Join(", ", model.ClassLabels.Select(Text))}");
                break;
        }

        output.WriteLine("metadata");
        foreach ((string key, string value) in contents.Metadata)
        {
            output.WriteLine($"  {key} = {value}");
        }
    }

    private static void WriteOnnx(TextWriter output, string path, OnnxModelSummary summary)
    {
        string sets = string.Join(", ", summary.OperatorSets.Select(set => $"{(set.Key.Length == 0 ? "ai.onnx" : set.Key)} {set.Value}"));
        output.WriteLine($"{path}: ONNX model, IR version {summary.IrVersion}, opsets {sets}, produced by {summary.ProducerName} {summary.ProducerVersion}".TrimEnd());
        WriteTensors(output, "input", summary.Inputs);
        WriteTensors(output, "output", summary.Outputs);
        output.WriteLine($"  graph  {summary.OperatorCounts.Sum(entry => entry.Value)} nodes ({string.Join(", ", summary.OperatorCounts.Select(entry => $"{entry.Key} {entry.Value}"))}), {summary.InitializerCount} initializers");
        output.WriteLine("metadata");
        foreach ((string key, string value) in summary.Metadata)
        {
            output.WriteLine($"  {key} = {value}");
        }
    }

    /// <summary>regression, binary or multiclass (the names hjml.kind uses).</summary>
    internal static string KindName(ModelKind kind) => kind switch
    {
        ModelKind.Regression => "regression",
        ModelKind.BinaryClassification => "binary",
        _ => "multiclass",
    };

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
