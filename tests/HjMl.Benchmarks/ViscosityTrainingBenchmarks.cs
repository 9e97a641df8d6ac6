using BenchmarkDotNet.Attributes;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 20's second bar: a training iteration costs the same per piece at every eps in [1e-3, 10], in d = 1 and d = 2.
/// One full-batch loss and gradient (Objective.Evaluate, the whole of an iteration but the optimiser's O(parameters)
/// update) on the paper's rows, |x| on [-2, 2]^d (4000 rows, standardised), regression with two heads of 100 pieces
/// placed by the Hopf–Cole construction on training rows, as the trainer starts them. Both paths: float32 (what Adam
/// trains on) and double (L-BFGS). At eps = 1e-3 nearly every exponential underflows; before issue 20 the double path
/// then fell to the runtime's scalar exp, three to six times slower. The report divides by rows x pieces.
/// </summary>
[Config(typeof(GridConfig))]
public class ViscosityTrainingBenchmarks
{
    private const int Rows = 4000;
    private const int Pieces = 100;
    private const int Heads = 2;
    private Objective objective = null!;
    private double[] parameters = null!;
    private double[] inputs = null!;
    private double[] targets = null!;
    private double[] gradient = null!;

    [Params(1, 2)]
    public int D { get; set; }

    [Params(0.001, 0.01, 0.1, 1.0, 10.0)]
    public double Viscosity { get; set; }

    [Params(true, false)]
    public bool Float32 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        objective = new Objective(ModelKind.Regression, D, Heads, Pieces, Environment.ProcessorCount, 0, RegressionLoss.Squared, 1.0, learnViscosity: false) { SinglePrecision = Float32 };
        int stride = objective.Stride;
        inputs = new double[Rows * stride];
        targets = new double[Rows];
        var x = new double[D];
        for (int row = 0; row < Rows; row++)
        {
            double norm = 0;
            for (int k = 0; k < D; k++)
            {
                x[k] = (4 * random.NextDouble()) - 2;
                norm += x[k] * x[k];
            }

            // Uniform on [-2, 2] has standard deviation 2 / sqrt(3); the label's mean and scale are about 1.5 and 0.6.
            for (int k = 0; k < D; k++)
            {
                x[k] /= 2 / Math.Sqrt(3);
            }

            Objective.Augment(x, inputs.AsSpan(row * stride, stride));
            targets[row] = (Math.Sqrt(norm) - 1.5) / 0.6;
        }

        // Hopf–Cole placement (THEORY.md section 1): w_j = y_j / (2t), b_j = -g_j - |y_j|^2 / (4t), t = d / 4, g = -+ target / 2.
        double time = D / 4.0;
        int all = Heads * Pieces;
        parameters = new double[objective.ParameterCount(learnEps: false)];
        for (int j = 0; j < Pieces; j++)
        {
            int row = random.Next(Rows);
            double squared = 0;
            for (int k = 0; k < D; k++)
            {
                double y = inputs[(row * stride) + k];
                parameters[(j * D) + k] = parameters[((Pieces + j) * D) + k] = y / (2 * time);
                squared += y * y;
            }

            parameters[(all * D) + j] = (0.5 * targets[row]) - (squared / (4 * time));
            parameters[(all * D) + Pieces + j] = (-0.5 * targets[row]) - (squared / (4 * time));
        }

        gradient = new double[parameters.Length];

        // The first case of the run would otherwise also pay for tiered compilation and the thread pool's growth, which
        // BenchmarkDotNet's short warm-up does not absorb: run half a second first, then let the background JIT finish.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 0.5)
        {
            LossAndGradient();
        }

        Thread.Sleep(200);
    }

    /// <summary>Loss and gradient over the 4000 rows at eps.</summary>
    [Benchmark]
    public double LossAndGradient() => objective.Evaluate(parameters, Viscosity, inputs, targets, null, Rows, gradient, out _);
}
