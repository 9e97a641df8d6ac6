using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.PaperChecks;

/// <summary>One width of a <see cref="WidthScaling"/> run.</summary>
/// <param name="Width">N, support points per head.</param>
/// <param name="Viscosity">eps = N^(-1/d).</param>
/// <param name="Error">Largest absolute error over the test points (the sup-norm approximation error the law is about).</param>
/// <param name="RootMeanSquaredError">Root mean squared error over the test points, for comparison.</param>
public sealed record WidthScalingPoint(int Width, double Viscosity, double Error, double RootMeanSquaredError);

/// <summary>
/// The paper's width-scaling experiment (paper a; THEORY.md section 7): fit f(x) = ||x||_2 on [-2, 2]^d with
/// eps = N^(-1/d) at several widths N, measure the test error, and fit error ~ C N^(-alpha); the law says alpha = 1/d.
/// The model is the Hopf–Cole construction itself, the quadrature the law is about: N support points sampled from
/// the data, initial data g from the target, time t = eps = N^(-1/d), no optimisation. Its error is bounded by
/// eps log N (smoothing, THEORY.md section 2) + L h (the spacing h ~ N^(-1/d) of support points) + L^2 t (the
/// Hopf–Lax envelope), all of order N^(-1/d) up to the logarithm. The error is the sup norm over test points.
/// Trained models (the train argument) usually do better than the law, because the optimiser also moves the points.
/// </summary>
public static class WidthScaling
{
    /// <summary>The widths the issue asks for, 10 to 500.</summary>
    public static IReadOnlyList<int> DefaultWidths { get; } = [10, 20, 50, 100, 200, 500];

    /// <summary>Runs the experiment in dimension <paramref name="dimension"/>; deterministic for a seed.</summary>
    /// <param name="dimension">d.</param>
    /// <param name="widths">The widths N.</param>
    /// <param name="train">Whether to optimise the construction (L-BFGS) before measuring.</param>
    /// <param name="trainingRows">Rows the support points are sampled from.</param>
    /// <param name="testRows">Rows the error is measured on.</param>
    /// <param name="seed">Seed of the samples and the support points.</param>
    /// <param name="progress">Receives each width's result.</param>
    /// <param name="cancellation">Stops the run.</param>
    public static (IReadOnlyList<WidthScalingPoint> Points, ScalingFit Fit) Run(int dimension, IReadOnlyList<int> widths, bool train = false, int trainingRows = 4000, int testRows = 4000, int seed = 1, IProgress<WidthScalingPoint>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (dimension < 1)
        {
            throw new ArgumentException($"dimension is {dimension}; it must be at least 1.", nameof(dimension));
        }

        Dataset training = Sample(dimension, trainingRows, seed);
        Dataset test = Sample(dimension, testRows, seed + 1);
        var points = new List<WidthScalingPoint>();
        foreach (int width in widths)
        {
            var options = new HopfColeTrainerOptions
            {
                Kind = ModelKind.Regression,
                NumberOfSupportPoints = width,
                ViscosityMode = ViscosityMode.WidthScaling,
                Time = HopfColeTrainer.WidthScaledViscosity(width, dimension),
                Optimizer = Optimizer.Lbfgs,
                Initialisation = SupportInitialisation.Sampled,
                MaximumEpochs = train ? 300 : 0,
                ValidationFraction = 0,
                L2Regularisation = 0,
                Seed = seed,
            };
            HopfColeModel model = new HopfColeTrainer(options).Fit(training, cancellation: cancellation);
            var scores = new double[test.Rows];
            model.ScoreBatch(test.Features, scores);
            double largest = 0;
            for (int row = 0; row < test.Rows; row++)
            {
                largest = Math.Max(largest, Math.Abs(scores[row] - test.Labels[row]));
            }

            var point = new WidthScalingPoint(width, model.Viscosity, largest, ModelMetrics.Evaluate(model, test).RootMeanSquaredError);
            points.Add(point);
            progress?.Report(point);
        }

        return (points, ScalingFit.Fit(points.Select(p => (double)p.Width).ToArray(), points.Select(p => p.Error).ToArray()));
    }

    private static Dataset Sample(int dimension, int rows, int seed)
    {
        var random = new Random(seed);
        var features = new double[rows * dimension];
        var labels = new double[rows];
        for (int row = 0; row < rows; row++)
        {
            double squared = 0;
            for (int k = 0; k < dimension; k++)
            {
                double value = (4 * random.NextDouble()) - 2;
                features[(row * dimension) + k] = value;
                squared += value * value;
            }

            labels[row] = Math.Sqrt(squared);
        }

        return new Dataset(features, labels, Enumerable.Range(1, dimension).Select(k => $"x{k}").ToArray(), "norm");
    }
}
