using BenchmarkDotNet.Attributes;

namespace HjMl.Benchmarks;

/// <summary>
/// The scoring anchor (issue 20): ONNX Runtime's C# API in this process on HjMl's exported graph of every grid model, on
/// the same float32 rows <see cref="ScoringBenchmarks"/> scores, with 1 and 2 intra-op threads (HjMl's batches use every
/// core, 2 here). One operation scores the whole batch through one <c>Run</c> over tensors bound once
/// (<see cref="OnnxRuntimeScoring"/>).
/// </summary>
[Config(typeof(GridConfig))]
public class OnnxRuntimeScoringBenchmarks : IDisposable
{
    private OnnxRuntimeScoring runtime = null!;

    public static IEnumerable<int> Dimensions => BenchmarkGrid.Dimensions;

    public static IEnumerable<int> PiecesPerHead => BenchmarkGrid.Pieces;

    public static IEnumerable<int> Batches => BenchmarkGrid.Batches;

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; }

    [ParamsSource(nameof(PiecesPerHead))]
    public int N { get; set; }

    [ParamsSource(nameof(Batches))]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup() => runtime = new OnnxRuntimeScoring(BenchmarkGrid.Model(D, N), BenchmarkGrid.SingleFeatures(D), Batch, Threads);

    [GlobalCleanup]
    public void Cleanup() => runtime.Dispose();

    /// <summary>Releases ONNX Runtime's session (BenchmarkDotNet calls <see cref="Cleanup"/>; this is for other callers).</summary>
    public void Dispose()
    {
        runtime?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The batch through the session.</summary>
    [Benchmark]
    public float Score()
    {
        runtime.Run();
        return runtime.Scores[0];
    }
}
