using HjMl.Models;
using HjMl.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace HjMl.Benchmarks;

/// <summary>
/// ONNX Runtime's C# API in process on the graph <see cref="OnnxExport"/> writes for a model: one session (CPU provider,
/// all graph optimisations, the given intra-op threads, one inter-op thread, sequential execution), the input and output
/// tensors created once over pinned managed arrays, so that a timed <see cref="Run"/> is the session's work on the rows
/// and nothing else. One output is fetched, so the runtime computes only the nodes HjMl's batch scoring computes:
/// <see cref="OnnxExport.ScoreName"/> by default (one score a row, what
/// <see cref="HopfColeModel.ScoreBatch(ReadOnlySpan{float}, Span{float})"/> writes for the grid's binary models), or
/// <see cref="OnnxExport.ClassScoresName"/> (the K head scores a row, what it writes for the flows' multiclass models).
/// </summary>
public sealed class OnnxRuntimeScoring : IDisposable
{
    private readonly SessionOptions options;
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly OrtValue input;
    private readonly OrtValue output;
    private readonly string[] inputNames = [OnnxExport.FeaturesName];
    private readonly string[] outputNames;

    /// <summary>
    /// A session on <paramref name="model"/>'s graph over the first <paramref name="rows"/> rows of
    /// <paramref name="features"/>, fetching <paramref name="outputName"/> (<see cref="OnnxExport.ScoreName"/> or
    /// <see cref="OnnxExport.ClassScoresName"/>).
    /// </summary>
    public OnnxRuntimeScoring(HopfColeModel model, float[] features, int rows, int intraOpThreads, string outputName = OnnxExport.ScoreName)
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
        outputNames = [outputName];
        input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(0, rows * model.InputDimension), [rows, model.InputDimension]);
        if (outputName == OnnxExport.ClassScoresName)
        {
            Scores = new float[rows * model.OutputLength];
            output = OrtValue.CreateTensorValueFromMemory(Scores, [rows, model.OutputLength]);
        }
        else
        {
            Scores = new float[rows];
            output = OrtValue.CreateTensorValueFromMemory(Scores, [rows]);
        }
    }

    /// <summary>The scores of the last <see cref="Run"/>, row-major.</summary>
    public float[] Scores { get; }

    /// <summary>The ONNX Runtime build in use.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Scores the rows into <see cref="Scores"/>.</summary>
    public void Run() => session.Run(runOptions, inputNames, [input], outputNames, [output]);

    /// <summary>
    /// The largest difference between <see cref="Scores"/> and <paramref name="expected"/>, relative to max(1, |expected|)
    /// (the ONNX tests' measure).
    /// </summary>
    public double WorstDifference(ReadOnlySpan<double> expected)
    {
        double worst = 0;
        for (int i = 0; i < Scores.Length; i++)
        {
            double error = Math.Abs(Scores[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i]));
            worst = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(worst, error);
        }

        return worst;
    }

    public void Dispose()
    {
        input.Dispose();
        output.Dispose();
        runOptions.Dispose();
        session.Dispose();
        options.Dispose();
    }
}
