using HjMl.Models;
using HjMl.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace HjMl.Benchmarks;

/// <summary>
/// ONNX Runtime's C# API in process on the graph <see cref="OnnxExport"/> writes for a model: one session (CPU provider,
/// default graph optimisations, the given intra-op threads, sequential execution), input and output tensors bound once
/// over managed arrays, so that a timed <see cref="Run"/> is the session's work on the rows and nothing else. Only
/// <see cref="OnnxExport.ClassScoresName"/> is fetched: the K head scores <see cref="HopfColeModel.ScoreBatch(ReadOnlySpan{float}, Span{float})"/> writes.
/// </summary>
public sealed class FlowOnnxRuntime : IDisposable
{
    private readonly SessionOptions options;
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly OrtValue input;
    private readonly OrtValue output;
    private readonly string[] inputNames = [OnnxExport.FeaturesName];
    private readonly string[] outputNames = [OnnxExport.ClassScoresName];

    /// <summary>A session on <paramref name="model"/>'s graph over the first <paramref name="rows"/> rows of <paramref name="features"/>.</summary>
    public FlowOnnxRuntime(HopfColeModel model, float[] features, int rows, int intraOpThreads)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        session = new InferenceSession(OnnxExport.ToBytes(model), options);
        Scores = new float[rows * model.OutputLength];
        input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(0, rows * model.InputDimension), [rows, model.InputDimension]);
        output = OrtValue.CreateTensorValueFromMemory(Scores, [rows, model.OutputLength]);
    }

    /// <summary>The class scores of the last <see cref="Run"/>, row-major.</summary>
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
