using BenchmarkDotNet.Attributes;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;
using System.Numerics.Tensors;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 20's training bar, one iteration at a time: the paper's problem as `hjml train` runs it (scripts/peers/paper) —
/// |x|_2 on [-2, 2]^2, 4000 rows, regression on two heads of 100 pieces placed by the Hopf–Cole construction, eps
/// 0.0707, full-batch Adam at learning rate 0.006, 2 threads — so 4000 x 200 = 800,000 float32 exponentials per
/// iteration, against the floor those exponentials set (TensorPrimitives.Exp over as many floats on as many threads,
/// measured in the same run). A whole `hjml train` adds start-up, the CSV and the model file to 3000 of these.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class TrainingIterationBenchmarks
{
    private const int Rows = 4000;
    private const int Width = 100;
    private const int Threads = 2;
    private const int Iterations = 20;
    private Dataset data = null!;
    private HopfColeTrainerOptions options = null!;
    private float[][] exponents = null!;
    private float[][] exponentials = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var features = new double[Rows * 2];
        var labels = new double[Rows];
        for (int row = 0; row < Rows; row++)
        {
            double x = (4 * random.NextDouble()) - 2, y = (4 * random.NextDouble()) - 2;
            features[2 * row] = x;
            features[(2 * row) + 1] = y;
            labels[row] = Math.Sqrt((x * x) + (y * y));
        }

        data = new Dataset(features, labels, ["x1", "x2"]);
        options = new HopfColeTrainerOptions
        {
            Kind = ModelKind.Regression,
            NumberOfSupportPoints = Width,
            Viscosity = 0.0707,
            Optimizer = Optimizer.Adam,
            BatchSize = 0,
            LearningRate = 0.006,
            MaximumEpochs = Iterations,
            ValidationFraction = 0,
            L2Regularisation = 0,
            MaximumDegreeOfParallelism = Threads,
        };

        // Each thread's share of an iteration's exponentials, with arguments spread as a max-shifted LSE's are.
        exponents = Enumerable.Range(0, Threads).Select(_ => Enumerable.Range(0, Rows * 2 * Width / Threads).Select(_ => -20f * random.NextSingle()).ToArray()).ToArray();
        exponentials = Enumerable.Range(0, Threads).Select(_ => new float[Rows * 2 * Width / Threads]).ToArray();
    }

    /// <summary>One full-batch Adam iteration (fused float32 forward, exact gradient, update), averaged over 20 with the set-up of a run.</summary>
    [Benchmark(OperationsPerInvoke = Iterations)]
    public HopfColeModel FullBatchAdamIteration() => new HopfColeTrainer(options).Fit(data);

    /// <summary>The exponential floor: the 800,000 float32 exp an iteration must compute, vectorised, on as many threads.</summary>
    [Benchmark]
    public void ExponentialFloor() => Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread => TensorPrimitives.Exp(exponents[thread], exponentials[thread]));
}
