using System.Diagnostics;
using System.Numerics.Tensors;
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
    private readonly Stopwatch stopwatch;
    private readonly IProgress<TrainingProgress>? progress;
    private int sinceImprovement;

    // The parameters at the end of the last epoch whose training loss was finite (kept without a validation split).
    private double[]? lastFinite;
    private int lastFiniteEpoch;

    public TrainingRun(HopfColeTrainerOptions options, TrainingObjective objective, TrainingBlock? validation, double[] parameters, int dimension, Stopwatch stopwatch, IProgress<TrainingProgress>? progress)
    {
        this.options = options;
        this.objective = objective;
        this.validation = validation;
        this.parameters = parameters;
        this.dimension = dimension;
        this.stopwatch = stopwatch;
        this.progress = progress;
    }

    public List<TrainingProgress> History { get; } = [];

    /// <summary>The parameters of the best validation epoch, or null for the final ones (no validation split).</summary>
    public double[]? BestParameters { get; private set; }

    public double BestViscosity { get; private set; } = double.NaN;

    public int BestEpoch { get; private set; }

    public double BestValidationLoss { get; private set; } = double.NaN;

    public double BestValidationMetric { get; private set; } = double.NaN;

    /// <summary>
    /// The one-pass validation of an embedding alone before the read-out (<see cref="EmbeddedValidation.For"/>), or null
    /// for <see cref="TrainingObjective.Validate"/>: the same loss bit for bit, and the metric from that pass's scores.
    /// </summary>
    public EmbeddedValidation? FusedValidation { get; init; }

    /// <summary>Why training stopped before its last epoch for a reason other than early stopping, or null.</summary>
    public string? StopReason { get; private set; }

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
        // The loss is taken before an epoch's last step, so the parameters that step left are checked too.
        if (!double.IsFinite(trainingLoss) || !double.IsFinite(TensorPrimitives.Sum<double>(parameters) * 0))
        {
            return StopOnNonFiniteLoss(epoch, trainingLoss);
        }

        double viscosity = ViscosityAt(epoch);
        double validationLoss = double.NaN, metric = double.NaN;
        bool stop = false;
        if (validation is null)
        {
            BestParameters = null;
            BestViscosity = viscosity;
            BestEpoch = epoch;
            lastFinite ??= new double[parameters.Length];
            parameters.CopyTo(lastFinite, 0);
            lastFiniteEpoch = epoch;
        }
        else if (epoch % options.ValidationFrequency == 0 || epoch == options.MaximumEpochs)
        {
            (validationLoss, metric) = FusedValidation?.Validate(parameters, viscosity, validation) ?? objective.Validate(parameters, viscosity, validation);
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

    // A loss that is no longer finite ends the run: the model keeps the best validated parameters, or without a
    // validation split the last epoch whose loss was finite; with neither there is no model to keep.
    private bool StopOnNonFiniteLoss(int epoch, double trainingLoss)
    {
        if (validation is null)
        {
            if (lastFinite is null)
            {
                throw new InvalidOperationException($"Training diverged in epoch {epoch} (training loss {trainingLoss}, or parameters no longer finite), before any epoch ended with a finite loss, so there is no model to keep; lower LearningRate (now {options.LearningRate}) or raise L2Regularisation.");
            }

            BestParameters = lastFinite;
            BestEpoch = lastFiniteEpoch;
        }
        else if (BestParameters is null)
        {
            throw new InvalidOperationException($"Training diverged in epoch {epoch} (training loss {trainingLoss}, or parameters no longer finite), before any validation, so there is no model to keep; lower LearningRate (now {options.LearningRate}) or raise L2Regularisation.");
        }

        StopReason = $"stopped in epoch {epoch}: training diverged (training loss {trainingLoss}, or parameters no longer finite); the model keeps epoch {BestEpoch}, the {(validation is null ? "last with a finite loss" : "best validated")}.";
        return true;
    }

    /// <summary>Accuracy (classifiers) or R^2 (regression) of theta <paramref name="at"/> on <paramref name="rows"/>.</summary>
    public static double Metric(TrainingObjective objective, ModelKind kind, double[] at, TrainingBlock rows, double viscosity)
    {
        // Validation targets are class indices (binary: 0 negative, 1 positive), so the metric reads them as the labels; R^2
        // is taken in standardised units, which it does not depend on.
        double[] classes = objective.Classes();
        var scores = new double[rows.Rows * ScoreInterpretation.OutputLength(kind, classes.Length)];
        objective.Score(at, viscosity, rows, scores);
        return ModelMetrics.FromScores(kind, classes, scores, rows.Targets.AsSpan(0, rows.Rows)).Primary;
    }
}
