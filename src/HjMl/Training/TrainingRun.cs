using System.Diagnostics;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Training.Optimizers;

namespace HjMl.Training;

/// <summary>
/// What surrounds one optimisation: the viscosity schedule, validation and early stopping on the held-out rows, the
/// best parameters so far, and progress reports. The optimisers update <c>parameters</c> in place and call back here.
/// </summary>
internal sealed class TrainingRun : IEpochSchedule
{
    private readonly HopfColeTrainerOptions options;
    private readonly TrainingObjective objective;
    private readonly TrainingBlock? validation;
    private readonly double[] parameters;
    private readonly int dimension;
    private readonly double[] classIndices;
    private readonly Stopwatch stopwatch;
    private readonly IProgress<TrainingProgress>? progress;
    private int sinceImprovement;

    public TrainingRun(HopfColeTrainerOptions options, TrainingObjective objective, TrainingBlock? validation, double[] parameters, int dimension, Stopwatch stopwatch, IProgress<TrainingProgress>? progress)
    {
        this.options = options;
        this.objective = objective;
        this.validation = validation;
        this.parameters = parameters;
        this.dimension = dimension;
        this.stopwatch = stopwatch;
        this.progress = progress;

        // Validation targets are class indices (binary: 0 negative, 1 positive), so the metric reads them as the labels.
        classIndices = options.Kind == ModelKind.Regression ? [] : Enumerable.Range(0, objective.Heads).Select(c => (double)c).ToArray();
    }

    public List<TrainingProgress> History { get; } = [];

    /// <summary>The parameters of the best validation epoch, or null for the final ones (no validation split).</summary>
    public double[]? BestParameters { get; private set; }

    public double BestViscosity { get; private set; } = double.NaN;

    public int BestEpoch { get; private set; }

    public double BestValidationLoss { get; private set; } = double.NaN;

    public double BestValidationMetric { get; private set; } = double.NaN;

    /// <summary>No optimisation: the model is the Hopf–Cole construction.</summary>
    public void KeepConstruction()
    {
        BestViscosity = ViscosityAt(1);
        BestEpoch = 0;
    }

    /// <inheritdoc/>
    public double ViscosityAt(int epoch) => options.ViscosityMode switch
    {
        ViscosityMode.Learned => Math.Exp(parameters[^1]),
        ViscosityMode.Annealed => options.Viscosity * Math.Pow(options.FinalViscosity / options.Viscosity, (epoch - 1) / (double)Math.Max(1, options.MaximumEpochs - 1)),
        ViscosityMode.WidthScaling => HopfColeTrainer.WidthScaledViscosity(options.NumberOfSupportPoints, dimension),
        _ => options.Viscosity,
    };

    /// <summary>Validates when due, keeps the best parameters, reports progress; returns true to stop early.</summary>
    public bool EndEpoch(int epoch, double trainingLoss)
    {
        double viscosity = ViscosityAt(epoch);
        double validationLoss = double.NaN, metric = double.NaN;
        bool stop = false;
        if (validation is null)
        {
            BestParameters = null;
            BestViscosity = viscosity;
            BestEpoch = epoch;
        }
        else if (epoch % options.ValidationFrequency == 0 || epoch == options.MaximumEpochs)
        {
            validationLoss = objective.Loss(parameters, viscosity, validation);
            metric = Metric(validation, viscosity);
            if (BestParameters is null || validationLoss < BestValidationLoss)
            {
                BestParameters = (double[])parameters.Clone();
                BestViscosity = viscosity;
                BestEpoch = epoch;
                BestValidationLoss = validationLoss;
                BestValidationMetric = metric;
                sinceImprovement = 0;
            }
            else
            {
                stop = ++sinceImprovement >= options.Patience;
            }
        }

        var report = new TrainingProgress(epoch, options.MaximumEpochs, trainingLoss, validationLoss, metric, viscosity, stopwatch.Elapsed);
        History.Add(report);
        progress?.Report(report);
        return stop;
    }

    // Accuracy (classifiers) or R^2 (regression, in standardised units, which R^2 does not depend on) on the validation rows.
    private double Metric(TrainingBlock rows, double viscosity)
    {
        var scores = new double[rows.Rows * ScoreInterpretation.OutputLength(options.Kind, classIndices.Length)];
        objective.Score(parameters, viscosity, rows, scores);
        return ModelMetrics.FromScores(options.Kind, classIndices, scores, rows.Targets.AsSpan(0, rows.Rows)).Primary;
    }
}
