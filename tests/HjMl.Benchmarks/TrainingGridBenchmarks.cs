using BenchmarkDotNet.Attributes;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// One training iteration over the grid: the loss and its exact gradient over a batch of 1000 rows (the fused forward
/// and backward pass of Objective: in double, two matrix products and the Gibbs weights per tile; in float32,
/// GradientKernel where d allows, else the same double path), which is all of a full-batch
/// iteration but the optimiser's O(parameters) update. Batch 1000 only: at 100000 rows the largest cases take tens
/// of seconds per iteration in double, beyond the suite's time budget.
/// </summary>
[Config(typeof(GridConfig))]
public class TrainingGridBenchmarks
{
    private const int Rows = 1000;
    private Objective objective = null!;
    private double[] parameters = null!;
    private double[] inputs = null!;
    private double[] targets = null!;
    private double[] gradient = null!;

    public static IEnumerable<int> Dimensions => BenchmarkGrid.Dimensions;

    public static IEnumerable<int> PiecesPerHead => BenchmarkGrid.Pieces;

    [ParamsSource(nameof(Dimensions))]
    public int D { get; set; }

    [ParamsSource(nameof(PiecesPerHead))]
    public int N { get; set; }

    /// <summary>The fused float32 path Adam trains on (only up to d = <see cref="Objective.SinglePrecisionDimension"/>), or double.</summary>
    [Params(false, true)]
    public bool Float32 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        HopfColeModel model = BenchmarkGrid.Model(D, N);
        objective = new Objective(ModelKind.BinaryClassification, D, BenchmarkGrid.Heads, N, Environment.ProcessorCount, 1e-4, RegressionLoss.Squared, 1.0, learnViscosity: false) { SinglePrecision = Float32 };
        parameters = [.. model.Layer.Weights, .. model.Layer.Biases];
        gradient = new double[objective.ParameterCount(learnEps: false)];
        inputs = new double[Rows * objective.Stride];
        targets = new double[Rows];
        double[] raw = BenchmarkGrid.Features(D);
        var standardised = new double[D];
        var scores = new double[1];
        for (int row = 0; row < Rows; row++)
        {
            ReadOnlySpan<double> features = raw.AsSpan(row * D, D);
            model.Scaling.Apply(features, standardised);
            Objective.Augment(standardised, inputs.AsSpan(row * objective.Stride, objective.Stride));
            model.Score(features, scores);
            targets[row] = (scores[0] > 0) == (row % 5 != 0) ? 1 : 0;
        }
    }

    /// <summary>Loss and gradient over 1000 rows.</summary>
    [Benchmark]
    public double LossAndGradient() => objective.Evaluate(parameters, BenchmarkGrid.Viscosity, inputs, targets, null, Rows, gradient, out _);
}
