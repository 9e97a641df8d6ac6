using BenchmarkDotNet.Attributes;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// Scoring over the grid: single-row latency (batch 1, through <see cref="HopfColeModel.Score(ReadOnlySpan{float}, Span{float})"/>
/// and its double twin) and batch throughput (batches of 1000 and 100000 rows, through ScoreBatch), in float32 (what
/// ONNX Runtime computes) and double. One operation scores the whole batch.
/// </summary>
[Config(typeof(GridConfig))]
public class ScoringBenchmarks
{
    private HopfColeModel model = null!;
    private float[] singleFeatures = null!;
    private double[] features = null!;
    private float[] singleScores = null!;
    private double[] scores = null!;

    public static IEnumerable<int> Dimensions => BenchmarkGrid.Dimensions;

    public static IEnumerable<int> PiecesPerHead => BenchmarkGrid.Pieces;

    public static IEnumerable<int> Batches => BenchmarkGrid.Batches;

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; }

    [ParamsSource(nameof(PiecesPerHead))]
    public int N { get; set; }

    [ParamsSource(nameof(Batches))]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        model = BenchmarkGrid.Model(D, N);
        features = BenchmarkGrid.Features(D).AsSpan(0, Batch * D).ToArray();
        singleFeatures = BenchmarkGrid.SingleFeatures(D).AsSpan(0, Batch * D).ToArray();
        singleScores = new float[Batch];
        scores = new double[Batch];
    }

    /// <summary>Float32: one row through Score, or the batch through ScoreBatch.</summary>
    [Benchmark]
    public float Float32()
    {
        if (Batch == 1)
        {
            model.Score(singleFeatures, singleScores);
        }
        else
        {
            model.ScoreBatch(singleFeatures, singleScores);
        }

        return singleScores[0];
    }

    /// <summary>Double: one row through Score, or the batch through ScoreBatch.</summary>
    [Benchmark]
    public double Float64()
    {
        if (Batch == 1)
        {
            model.Score(features, scores);
        }
        else
        {
            model.ScoreBatch(features, scores);
        }

        return scores[0];
    }
}
