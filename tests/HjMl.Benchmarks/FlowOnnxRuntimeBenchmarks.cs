using BenchmarkDotNet.Attributes;
using HjMl.Onnx;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 15's scoring bar, the peer's side: ONNX Runtime's C# API (Microsoft.ML.OnnxRuntime, in process) on the graph
/// OnnxExport writes for the same model, the same float32 rows, one row and 10000 rows, 1 and 2 intra-op threads.
/// Before timing, the set-up checks ONNX Runtime's class scores against HjMl's double scores of the same rows
/// (within <see cref="Tolerance"/> of max(1, |score|)) and refuses to time a graph that disagrees.
/// </summary>
[Config(typeof(FlowConfig))]
public class FlowOnnxRuntimeBenchmarks : IDisposable
{
    /// <summary>The largest relative difference the check accepts (float32 graph against the double model).</summary>
    public const double Tolerance = 1e-4;

    private OnnxRuntimeScoring runtime = null!;

    [Params(1, FlowCase.ScoringRows)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = FlowCase.ScoringModel;
        float[] rows = FlowCase.SingleFeatures;
        runtime = new OnnxRuntimeScoring(model, rows, Batch, Threads, OnnxExport.ClassScoresName);
        runtime.Run();
        var expected = new double[Batch * model.OutputLength];
        model.ScoreBatch(Array.ConvertAll(rows[..(Batch * model.InputDimension)], value => (double)value), expected);
        double worst = runtime.WorstDifference(expected);
        if (!(worst <= Tolerance))
        {
            throw new InvalidOperationException($"ONNX Runtime's class scores differ from HjMl's by {worst} (relative to max(1, |score|)), more than {Tolerance}; not timing a graph that disagrees.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => runtime.Dispose();

    /// <summary>Releases ONNX Runtime's session (BenchmarkDotNet calls <see cref="Cleanup"/>; this is for other callers).</summary>
    public void Dispose()
    {
        runtime?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>session.Run over the bound rows.</summary>
    [Benchmark]
    public float Run()
    {
        runtime.Run();
        return runtime.Scores[0];
    }
}
