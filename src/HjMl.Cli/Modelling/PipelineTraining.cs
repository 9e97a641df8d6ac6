using HjMl.Cli.Data;
using HjMl.MLNet;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Cli.Modelling;

/// <summary>
/// Trains the ML.NET pipeline <c>hjml train --out m.zip</c> saves: the fitted featurisers, the Hopf–Cole trainer of the
/// task with the engine options the command line (or the search) chose, and the stage that names the predicted class.
/// The trainer reads the same featurised rows in the same order with the same options and seed as the engine would,
/// so the model is the one the search scored.
/// </summary>
internal static class PipelineTraining
{
    /// <summary>The trained pipeline and the prediction stage inside it.</summary>
    /// <param name="Pipeline">Featurisers, prediction and the predicted-class stage.</param>
    /// <param name="Prediction">The Hopf–Cole stage (its model, history and best epoch).</param>
    internal sealed record Trained(ITransformer Pipeline, HopfColePredictionTransformer Prediction);

    /// <summary>Fits the trainer on <paramref name="featurised"/> (rows from <paramref name="featurizer"/>) and appends the tail.</summary>
    public static Trained Fit(MLContext ml, ITransformer featurizer, IDataView featurised, LabelColumn label, HopfColeTrainerOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
    {
        HopfColePredictionTransformer prediction = options.Kind switch
        {
            ModelKind.Regression => ml.Regression.Trainers.HopfCole(Copy(options, new HopfColeRegressionTrainer.Options { Loss = options.RegressionLoss, HuberDelta = options.HuberDelta }, label.Name, progress, cancellation)).Fit(featurised),
            ModelKind.BinaryClassification => ml.BinaryClassification.Trainers.HopfCole(Copy(options, new HopfColeBinaryTrainer.Options(), label.Name, progress, cancellation)).Fit(featurised),
            _ => ml.MulticlassClassification.Trainers.HopfCole(Copy(options, new HopfColeMulticlassTrainer.Options(), label.Name, progress, cancellation)).Fit(featurised),
        };
        ITransformer pipeline = new TransformerChain<ITransformer>(featurizer, prediction);
        if (Featurization.Tail(ml, label) is { } tail)
        {
            IDataView predicted = prediction.Transform(featurised);
            pipeline = new TransformerChain<ITransformer>(featurizer, prediction, tail.Fit(predicted));
        }

        return new Trained(pipeline, prediction);
    }

    private static T Copy<T>(HopfColeTrainerOptions engine, T options, string labelName, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
        where T : HopfColeTrainingOptions
    {
        options.FeatureColumnName = Featurization.FeaturesColumn;
        options.LabelColumnName = labelName;
        options.NumberOfSupportPoints = engine.NumberOfSupportPoints;
        options.Viscosity = engine.Viscosity;
        options.ViscosityMode = engine.ViscosityMode;
        options.FinalViscosity = engine.FinalViscosity;
        options.Time = engine.Time;
        options.Initialization = engine.Initialisation;
        options.Optimizer = engine.Optimizer;
        options.BatchSize = engine.BatchSize;
        options.LearningRate = engine.LearningRate;
        options.MaximumEpochs = engine.MaximumEpochs;
        options.ValidationFraction = engine.ValidationFraction;
        options.Patience = engine.Patience;
        options.L2Regularization = engine.L2Regularisation;
        options.Depth = engine.Depth;
        options.FlowWidth = engine.FlowWidth;
        options.FlowSupportPoints = engine.FlowSupportPoints;
        options.FlowHorizon = engine.FlowHorizon;
        options.FlowViscosity = engine.FlowViscosity;
        options.SharedFlowControls = engine.SharedFlowControls;
        options.FeatureEmbedding = engine.FeatureEmbedding;
        options.EmbeddingFrequencies = engine.EmbeddingFrequencies;
        options.EmbeddingWidth = engine.EmbeddingWidth;
        options.EmbeddingScale = engine.EmbeddingScale;
        options.Seed = engine.Seed;
        options.MaximumDegreeOfParallelism = engine.MaximumDegreeOfParallelism;
        options.Progress = progress;
        options.Cancellation = cancellation;
        return options;
    }
}
