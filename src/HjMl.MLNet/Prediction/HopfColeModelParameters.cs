using HjMl.Models;
using HjMl.Training;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// The learned state of a Hopf–Cole trainer: HjMl's <see cref="HopfColeModel"/> (standardisation, LSE heads, support
/// points and their training rows) and how training went. What <see cref="HopfColePredictionTransformer.Model"/> returns.
/// Immutable.
/// </summary>
public sealed class HopfColeModelParameters
{
    internal HopfColeModelParameters(HopfColeModel model, TrainingResult? training, int numberOfTrainingRows = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        NumberOfTrainingRows = numberOfTrainingRows;
        History = training?.History ?? [];
        BestEpoch = training?.BestEpoch ?? 0;
        ValidationMetric = training?.ValidationMetric ?? double.NaN;
    }

    /// <summary>The HjMl model; use it with HjMl's own APIs (ModelFile, OnnxExport, LseLayer explanations).</summary>
    public HopfColeModel Model { get; }

    /// <summary>The viscosity eps the model scores with.</summary>
    public double Viscosity => Model.Viscosity;

    /// <summary>Support points per head.</summary>
    public int NumberOfSupportPoints => Model.Layer.NumberOfPieces;

    /// <summary>LSE heads: 2 for regression and binary, one per class for multiclass.</summary>
    public int NumberOfHeads => Model.Layer.NumberOfHeads;

    /// <summary>Feature names (the feature column's slot names).</summary>
    public IReadOnlyList<string> FeatureNames => Model.FeatureNames;

    /// <summary>One report per epoch (empty for a model that was not trained here).</summary>
    public IReadOnlyList<TrainingProgress> History { get; }

    /// <summary>The epoch whose parameters the model holds.</summary>
    public int BestEpoch { get; }

    /// <summary>
    /// The rows the trainer read, held-out rows included (0 for a model not trained here). The support points' training
    /// rows (<see cref="HopfColeModel.SupportRows"/>, the GibbsAttribution transform's TopSupportRows) are 0-based
    /// positions among them, in the order the trainer read them.
    /// </summary>
    public int NumberOfTrainingRows { get; }

    /// <summary>Accuracy or R² on the held-out rows at the best epoch (NaN without a validation split).</summary>
    public double ValidationMetric { get; }
}
