using BenchmarkDotNet.Attributes;
using HjMl.Attribution;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// Per-row explanations over the grid (batch 1): attribution (Gibbs weights, top support points, entropy, exact
/// feature contributions) and the certified radius, beside plain single-row scoring of the same row as the baseline.
/// </summary>
[Config(typeof(GridConfig))]
public class ExplanationGridBenchmarks
{
    private HopfColeModel model = null!;
    private ModelExplainer explainer = null!;
    private Explanation explanation = null!;
    private double[] row = null!;
    private double[] scores = null!;

    public static IEnumerable<int> Dimensions => BenchmarkGrid.Dimensions;

    public static IEnumerable<int> PiecesPerHead => BenchmarkGrid.Pieces;

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; }

    [ParamsSource(nameof(PiecesPerHead))]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        model = BenchmarkGrid.Model(D, N);
        explainer = new ModelExplainer(model);
        explanation = new Explanation(model, top: 3);
        row = BenchmarkGrid.Features(D).AsSpan(0, D).ToArray();
        scores = new double[1];
    }

    /// <summary>Single-row scoring in double, the baseline.</summary>
    [Benchmark(Baseline = true)]
    public double Score()
    {
        model.Score(row, scores);
        return scores[0];
    }

    /// <summary>One row's attribution.</summary>
    [Benchmark]
    public double Attribution()
    {
        explainer.Explain(row, explanation);
        return explanation.Entropy;
    }

    /// <summary>One row's certified radius.</summary>
    [Benchmark]
    public double CertifiedRadius() => explainer.Certify(row).Radius;
}
