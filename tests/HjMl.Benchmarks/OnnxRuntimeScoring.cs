using HjMl.Models;
using HjMl.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace HjMl.Benchmarks;

/// <summary>
/// ONNX Runtime's C# API in process on the graph <see cref="OnnxExport"/> writes for a grid model: one session (CPU
/// provider, all graph optimisations, the given intra-op threads, one inter-op thread, sequential execution), the input
/// and output tensors created once over pinned managed arrays, so that a timed <see cref="Run"/> is the session's work
/// on the rows and nothing else. Only <see cref="OnnxExport.ScoreName"/> is fetched (the binary margin f_0 - f_1, what
/// <see cref="HopfColeModel.ScoreBatch(ReadOnlySpan{float}, Span{float})"/> writes), so the runtime computes only the
/// nodes HjMl's batch scoring computes.
/// </summary>
public sealed class OnnxRuntimeScoring : IDisposable
{
    private readonly SessionOptions options;
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly OrtValue input;
    private readonly OrtValue output;
    private readonly string[] inputNames = [OnnxExport.FeaturesName];
    private readonly string[] outputNames = [OnnxExport.ScoreName];

    /// <summary>A session on <paramref name="model"/>'s graph over the first <paramref name="rows"/> rows of <paramref name="features"/>.</summary>
    public OnnxRuntimeScoring(HopfColeModel model, float[] features, int rows, int intraOpThreads)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        session = new InferenceSession(OnnxExport.ToBytes(model), options);
        Scores = new float[rows];
        input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(0, rows * model.InputDimension), [rows, model.InputDimension]);
        output = OrtValue.CreateTensorValueFromMemory(Scores, [rows]);
    }

    /// <summary>The scores of the last <see cref="Run"/>.</summary>
    public float[] Scores { get; }

    /// <summary>The ONNX Runtime build in use.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Scores the rows into <see cref="Scores"/>.</summary>
    public void Run() => session.Run(runOptions, inputNames, [input], outputNames, [output]);

    public void Dispose()
    {
        input.Dispose();
        output.Dispose();
        runOptions.Dispose();
        session.Dispose();
        options.Dispose();
    }
}
