namespace HjMl.Training;

/// <summary>One epoch's report, sent through <see cref="IProgress{T}"/> while a trainer runs.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="MaximumEpochs">The epoch limit.</param>
/// <param name="TrainingLoss">Mean training loss of the epoch (mini-batch average for mini-batch Adam).</param>
/// <param name="ValidationLoss">Loss on the held-out rows, or NaN when this epoch did not validate.</param>
/// <param name="ValidationMetric">Accuracy (classifiers) or R^2 (regression) on the held-out rows, or NaN.</param>
/// <param name="Viscosity">eps at the end of the epoch.</param>
/// <param name="Elapsed">Time since training started.</param>
public readonly record struct TrainingProgress(int Epoch, int MaximumEpochs, double TrainingLoss, double ValidationLoss, double ValidationMetric, double Viscosity, TimeSpan Elapsed);
