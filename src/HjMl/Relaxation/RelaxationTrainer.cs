using System.Globalization;
using HjMl.Training.Optimizers;

namespace HjMl.Relaxation;

/// <summary>One finished epoch of a relaxation training run.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Loss">The epoch's mean training loss.</param>
/// <param name="RelaxationFactor">omega after the epoch (changes only when learned).</param>
public readonly record struct RelaxationEpoch(int Epoch, double Loss, double RelaxationFactor);

/// <summary>A trained network and how its training went.</summary>
/// <param name="Network">The network (after the last finite epoch).</param>
/// <param name="Epochs">Every finished epoch.</param>
/// <param name="Diverged">Whether an epoch's loss left the finite numbers; the network is then the one before it.</param>
public sealed record RelaxationFit(RelaxationNetwork Network, IReadOnlyList<RelaxationEpoch> Epochs, bool Diverged);

/// <summary>
/// Trains a <see cref="RelaxationNetwork"/> on rows of N features: the loss of <see cref="RelaxationReadout"/> and its
/// exact gradient by the discrete adjoint, minimised by the engine's Adam (or L-BFGS). Initialisation: ADR moments at the
/// identity kernel (M0 = 1, M1 = M2 = 0) plus N(0, 0.01^2) noise, dense W ~ N(0, 1/N), b = 0, read-out V ~ N(0, 0.01/N).
/// </summary>
public sealed class RelaxationTrainer
{
    private const double MomentNoise = 0.01;

    /// <summary>Creates a trainer; the options are validated here.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public RelaxationTrainer(RelaxationTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The options.</summary>
    public RelaxationTrainerOptions Options { get; }

    /// <summary>
    /// Fits a network to <paramref name="inputs"/> (rows x <paramref name="inputDimension"/>, row-major) and
    /// <paramref name="targets"/>: one class index a row for softmax, K values a row for a linear read-out, N for the state.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, a value is not finite, a class index is out of range, or the grid does not fit (the message names the option, row or value).</exception>
    public RelaxationFit Fit(double[] inputs, int inputDimension, double[] targets, IProgress<RelaxationEpoch>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        RelaxationTrainerOptions options = Options;
        if (inputDimension < 1 || inputs.Length == 0 || inputs.Length % inputDimension != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"inputs has {inputs.Length} values, not a positive whole number of rows of {inputDimension}."), nameof(inputs));
        }

        int rows = inputs.Length / inputDimension;
        Guard.Finite<double>(inputs, nameof(inputs));
        Guard.Finite<double>(targets, nameof(targets));
        int outputs = Outputs(options, targets, rows, inputDimension);
        var shape = new RelaxationShape(inputDimension, options.Depth, options.Mixing, options.Grid, options.MomentTile, options.Readout, outputs);
        var random = new Random(options.Seed);
        int threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
        var objective = new RelaxationObjective(shape, options.Activation, options.Viscosity, options.RelaxationFactor, options.LearnRelaxationFactor, inputs, targets, rows, threads);
        double[] theta = new double[objective.ParameterCount];
        Initialise(shape, theta, random);
        if (options.LearnRelaxationFactor)
        {
            theta[shape.ParameterCount] = Math.Log(options.RelaxationFactor);
        }

        var schedule = new Schedule(objective, theta, options.Viscosity, progress);
        if (options.Epochs > 0)
        {
            if (options.Optimizer == RelaxationOptimizer.Adam)
            {
                Adam.Minimize(objective, schedule, theta, new AdamSettings(options.Epochs, options.BatchSize, options.LearningRate, CosineDecay: true), random, cancellation);
            }
            else
            {
                Lbfgs.Minimize(objective, schedule, theta, options.Epochs, cancellation);
            }
        }

        double[] final = schedule.Final();
        var network = new RelaxationNetwork(shape, options.Activation, options.Viscosity, objective.Omega(final), final[..shape.ParameterCount]);
        return new RelaxationFit(network, schedule.Epochs, schedule.Diverged);
    }

    private static int Outputs(RelaxationTrainerOptions options, double[] targets, int rows, int inputDimension)
    {
        switch (options.Readout)
        {
            case RelaxationReadout.State:
                RequireTargets(targets, rows * inputDimension, $"{rows} rows of {inputDimension} target states");
                return inputDimension;
            case RelaxationReadout.Linear:
                int width = options.Outputs > 0 ? options.Outputs : targets.Length / rows;
                RequireTargets(targets, rows * Math.Max(1, width), $"{rows} rows of {width} targets");
                return width;
            default:
                RequireTargets(targets, rows, $"{rows} rows of one class index");
                int largest = 0;
                for (int row = 0; row < rows; row++)
                {
                    double label = targets[row];
                    if (label < 0 || label != Math.Floor(label) || (options.Outputs > 0 && label >= options.Outputs))
                    {
                        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Row {row + 1}'s class is {label}; classes are whole numbers 0 to {(options.Outputs > 0 ? options.Outputs - 1 : int.MaxValue)} (option Outputs)."), nameof(targets));
                    }

                    largest = Math.Max(largest, (int)label);
                }

                return options.Outputs > 0 ? options.Outputs : Math.Max(2, largest + 1);
        }
    }

    private static void RequireTargets(double[] targets, int expected, string what)
    {
        if (targets.Length != expected)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"targets has {targets.Length} values but {what} need {expected}."), nameof(targets));
        }
    }

    private static void Initialise(RelaxationShape shape, Span<double> theta, Random random)
    {
        int n = shape.InputDimension;
        for (int layer = 0; layer < shape.Depth; layer++)
        {
            Span<double> weights = theta.Slice(shape.LayerOffset(layer), shape.LayerLength);
            if (shape.Mixing == RelaxationMixing.Dense)
            {
                Gaussian(weights[..(n * n)], 1 / Math.Sqrt(n), random);
                weights.Slice(n * n, n).Clear();
            }
            else
            {
                shape.Stencil!.Identity(weights);
                for (int i = 0; i < weights.Length; i++)
                {
                    weights[i] += MomentNoise * Normal(random);
                }
            }
        }

        if (shape.ReadoutLength > 0)
        {
            Gaussian(theta.Slice(shape.ReadoutOffset, shape.Outputs * n), 0.1 / Math.Sqrt(n), random);
        }
    }

    private static void Gaussian(Span<double> values, double scale, Random random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = scale * Normal(random);
        }
    }

    // Box–Muller.
    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    // Records the epochs; keeps the last parameters whose epoch loss was finite and stops when one is not.
    private sealed class Schedule(RelaxationObjective objective, double[] theta, double viscosity, IProgress<RelaxationEpoch>? progress) : IEpochSchedule
    {
        private readonly double[] lastFinite = (double[])theta.Clone();

        public List<RelaxationEpoch> Epochs { get; } = [];

        public bool Diverged { get; private set; }

        public double ViscosityAt(int epoch) => viscosity;

        public bool EndEpoch(int epoch, double trainingLoss)
        {
            bool finite = double.IsFinite(trainingLoss) && theta.All(double.IsFinite);
            if (!finite)
            {
                Diverged = true;
                return true;
            }

            theta.CopyTo(lastFinite, 0);
            var record = new RelaxationEpoch(epoch, trainingLoss, objective.Omega(theta));
            Epochs.Add(record);
            progress?.Report(record);
            return false;
        }

        public double[] Final() => Diverged || !theta.All(double.IsFinite) ? lastFinite : theta;
    }
}
