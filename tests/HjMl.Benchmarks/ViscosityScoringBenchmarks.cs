using BenchmarkDotNet.Attributes;
using HjMl.Data;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// Single-row scoring of one trained model rescaled to a smooth and to a sharp viscosity: the cost per row should not
/// depend on eps. At small eps most shifted logits (z - m) / eps fall below -708, where the runtime's vector double
/// exp recomputes the whole vector with scalar exp; the kernels keep their arguments above that floor
/// (VectorExponential.DoubleFloor), and this benchmark checks that they do.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class ViscosityScoringBenchmarks
{
    private HopfColeModel model = null!;
    private Dataset data = null!;
    private double[] scores = null!;

    [Params("breast_cancer", "digits")]
    public string Set { get; set; } = "breast_cancer";

    [Params(0.5, 0.005)]
    public double Viscosity { get; set; } = 0.5;

    [GlobalSetup]
    public void Setup()
    {
        (HopfColeModel trained, data) = RepositoryData.TrainedModel(Set);
        model = trained.WithViscosity(Viscosity);
        scores = new double[model.OutputLength];
    }

    [Benchmark]
    public double Score()
    {
        double sum = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            model.Score(data.Row(row), scores);
            sum += scores[0];
        }

        return sum;
    }
}
