using HjMl.Models;
using HjMl.Onnx;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml export --model m.hjml --onnx out.onnx [--explain [--top k]]</c>: writes a saved model as an ONNX graph
/// (opset 17, float32, ML.NET output names; see <see cref="OnnxExport"/>), atomically, and prints its inputs and
/// outputs. <c>--explain</c> adds the explanation outputs (<see cref="OnnxExportOptions.IncludeExplanations"/>).
/// </summary>
internal sealed class ExportCommand : IDescribedCommand, IHasSwitches
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train or a .hjml file (its Hopf–Cole stage is exported)"),
        new("onnx", "the ONNX file to write"),
        new("explain", "add the explanation outputs (Gibbs weights, top support, certified radius, out-of-support score)", OptionValue.Switch),
        new("top", "top support points in the explanation outputs", OptionValue.Integer, "4"),
    ];

    public string[] Switches => ["explain"];

    public string Name => "export";

    public string Summary => "write a saved model as an ONNX graph (opset 17) for ONNX Runtime or ML.NET";

    public string Usage => "hjml export --model m.hjml --onnx out.onnx [--explain [--top k]]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string onnxPath = arguments.Required("onnx");
        bool explain = arguments.Has("explain");
        int? top = arguments.Has("top") ? arguments.Integer("top", OnnxExportOptions.DefaultTopSupportPoints) : null;
        arguments.RejectUnknown();
        if (top is not null && !explain)
        {
            throw new UsageException("--top sets how many support points the explanation outputs list; it needs --explain.");
        }

        if (arguments.Positional.Count != 0)
        {
            throw new UsageException($"unexpected argument '{arguments.Positional[0]}'.");
        }

        HopfColeModel model = HjMl.Cli.Data.ModelData.Load(modelPath).Model;
        cancellation.ThrowIfCancellationRequested();
        OnnxExport.Save(model, onnxPath, new OnnxExportOptions { IncludeExplanations = explain, TopSupportPoints = top });
        OnnxModelSummary summary = OnnxModelSummary.Read(onnxPath);
        output.WriteLine($"wrote {onnxPath} ({new FileInfo(onnxPath).Length} bytes): {InspectCommand.KindName(model.Kind)} model, ONNX IR {summary.IrVersion}, opset {OnnxExport.Opset}{(explain ? ", with explanation outputs" : string.Empty)}");
        InspectCommand.WriteTensors(output, "input", summary.Inputs);
        InspectCommand.WriteTensors(output, "output", summary.Outputs);
        return 0;
    }
}
