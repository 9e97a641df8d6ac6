using System.Globalization;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Trainers;

/// <summary>
/// What a Hopf–Cole trainer tells <c>MLContext.Log</c>, as ML.NET's own trainers do through their channel: the run's
/// settings and seed when it starts (Info), every epoch's losses (Trace), and when it ends the optimiser that ran, why
/// it stopped and which epoch the model keeps (Info). It is also the engine's <see cref="IProgress{T}"/>, forwarding each
/// report to the user's <see cref="HopfColeTrainingOptions.Progress"/>.
/// </summary>
internal sealed class TrainingLog : IProgress<TrainingProgress>
{
    private readonly IChannel channel;
    private readonly IProgress<TrainingProgress>? user;
    private readonly string metric;

    public TrainingLog(IChannel channel, IProgress<TrainingProgress>? user, ModelKind kind)
    {
        this.channel = channel;
        this.user = user;
        metric = kind == ModelKind.Regression ? "R^2" : "accuracy";
    }

    /// <summary>One epoch's losses (Trace), then the user's progress.</summary>
    public void Report(TrainingProgress value)
    {
        string validation = double.IsNaN(value.ValidationLoss)
            ? string.Empty
            : Text($", validation loss {value.ValidationLoss:G6}, validation {metric} {value.ValidationMetric:G4}");
        channel.Trace(MessageSensitivity.None, Text($"Epoch {value.Epoch}/{value.MaximumEpochs}: training loss {value.TrainingLoss:G6}{validation}, eps {value.Viscosity:G4}."));
        user?.Report(value);
    }

    /// <summary>The run's data, settings and seed, before training.</summary>
    public void Start(Dataset data, HopfColeTrainerOptions options, string seedSource)
    {
        string split = options.ValidationFraction > 0
            ? Text($"{options.ValidationFraction * 100:G3}% of the rows held out for early stopping (patience {(options.Patience == 0 ? "Automatic" : options.Patience.ToString(CultureInfo.InvariantCulture))})")
            : "no validation split";
        string depth = options.Depth > 0 ? Text($", a Gibbs flow of depth {options.Depth}") : string.Empty;
        channel.Info(MessageSensitivity.None, Text($"Training a {options.Kind} Hopf–Cole model on {data.Rows} rows x {data.Columns} features: {options.NumberOfSupportPoints} support points per head, eps {options.Viscosity:G4} ({options.ViscosityMode}){depth}, at most {options.MaximumEpochs} epochs, {split}; seed {options.Seed} ({seedSource})."));
    }

    /// <summary>The optimiser that ran, why training stopped and what the model keeps.</summary>
    public void End(TrainingResult result, HopfColeTrainerOptions options)
    {
        string chosen = options.Optimizer == Optimizer.Automatic
            ? Text($"chosen by Optimizer.Automatic: L-BFGS while Adam would take fewer than {HopfColeTrainer.AutomaticAdamSteps} steps and rows x parameters x (depth + 1) <= {HopfColeTrainer.AutomaticLbfgsLimit:G3}, mini-batch Adam otherwise")
            : "as Options.Optimizer asked";
        channel.Info(MessageSensitivity.None, Text($"Optimizer: {(result.Optimizer == Optimizer.Lbfgs ? "L-BFGS" : "Adam")} ({chosen})."));
        string kept = double.IsNaN(result.ValidationMetric)
            ? Text($"the model keeps epoch {result.BestEpoch}")
            : Text($"the model keeps epoch {result.BestEpoch}, validation {metric} {result.ValidationMetric:G4}");
        channel.Info(MessageSensitivity.None, Text($"Stopped after {result.History.Count} of {options.MaximumEpochs} epochs: {StopReason(result, options)}; {kept}."));
    }

    // The engine reports only divergence itself; the other endings are read from the history.
    private static string StopReason(TrainingResult result, HopfColeTrainerOptions options)
    {
        IReadOnlyList<TrainingProgress> history = result.History;
        if (result.StopReason is { } reason)
        {
            return reason.TrimEnd('.');
        }

        if (history.Count == 0)
        {
            return "MaximumEpochs is 0, so the model is the untrained Hopf–Cole construction on training rows";
        }

        if (history[^1].Epoch >= options.MaximumEpochs)
        {
            return "the epoch limit (MaximumEpochs)";
        }

        int validationsSinceBest = history.Count(report => report.Epoch > result.BestEpoch && !double.IsNaN(report.ValidationLoss));
        int patience = result.Patience != 0 ? result.Patience : options.Patience;
        return validationsSinceBest >= patience
            ? Text($"early stopping, the validation loss did not improve in {validationsSinceBest} validations (Patience {patience})")
            : "the optimiser converged (the training loss no longer moved at double precision)";
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
