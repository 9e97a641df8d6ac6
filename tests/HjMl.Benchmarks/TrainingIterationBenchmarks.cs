using BenchmarkDotNet.Attributes;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;
using System.Numerics.Tensors;

namespace HjMl.Benchmarks;

/// <summary>
/// The training issue's speed target: full-batch Adam on 4000 rows, d = 2, N = 200 support points per head (binary,
/// so two heads: 4000 x 2 x 200 = 1.6 million exponentials per iteration), against the floor those exponentials set on
/// this machine (TensorPrimitives.Exp over the same count, measured in the same run).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class TrainingIterationBenchmarks
{
    private const int Rows = 4000;
    private const int Dimension = 2;
    private const int Pieces = 200;
    private const int Iterations = 20;
    private Dataset data = null!;
    private HopfColeTrainerOptions options = null!;
    private double[] exponents = null!;
    private double[] exponentials = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var features = new double[Rows * Dimension];
        var labels = new double[Rows];
        for (int row = 0; row < Rows; row++)
        {
            double x = (4 * random.NextDouble()) - 2, y = (4 * random.NextDouble()) - 2;
            features[2 * row] = x;
            features[(2 * row) + 1] = y;
            labels[row] = (x * x) + (y * y) < 2 ? 1 : 0;
        }

        data = new Dataset(features, labels, ["x", "y"]);
        options = new HopfColeTrainerOptions
        {
            Kind = ModelKind.BinaryClassification,
            NumberOfSupportPoints = Pieces,
            Optimizer = Optimizer.Adam,
            BatchSize = 0,
            MaximumEpochs = Iterations,
            ValidationFraction = 0,
            Initialisation = SupportInitialisation.Sampled,
            Seed = 1,
        };
        exponents = new double[Rows * 2 * Pieces];
        exponentials = new double[exponents.Length];
        for (int i = 0; i < exponents.Length; i++)
        {
            exponents[i] = -10 * random.NextDouble();
        }
    }

    /// <summary>One full-batch Adam iteration (fused forward, exact gradient, update), averaged over 20.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public HopfColeModel FullBatchAdamIteration() => new HopfColeTrainer(options).Fit(data);

    /// <summary>The exponential floor: the 1.6 million exp an iteration must compute, vectorised.</summary>
    [Benchmark]
    public void ExponentialFloor() => TensorPrimitives.Exp(exponents, exponentials);
}
