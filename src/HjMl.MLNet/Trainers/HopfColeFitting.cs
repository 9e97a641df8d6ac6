using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Trainers;

/// <summary>What the three Hopf–Cole trainers share: reading the data, training, and their output shape.</summary>
internal static class HopfColeFitting
{
    /// <summary>
    /// Trains on <paramref name="input"/> with <paramref name="options"/>: the seed is Options.Seed, else the MLContext's
    /// seed (<paramref name="contextSeed"/>), else one drawn from <paramref name="host"/>'s random source, as ML.NET's
    /// trainers draw theirs from an unseeded context; the run's settings, epochs and ending go to the host's channel,
    /// hence to MLContext.Log.
    /// </summary>
    public static HopfColePredictionTransformer Fit(IHost host, int? contextSeed, IDataView input, HopfColeTrainingOptions options, ModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(input);
        int seed = options.Seed ?? contextSeed ?? host.Rand.Next();
        string seedSource = options.Seed.HasValue ? "Options.Seed" : contextSeed.HasValue ? "the MLContext's seed" : "drawn at random: neither Options.Seed nor the MLContext has one";
        HopfColeTrainerOptions engineOptions = options.ToEngineOptions(kind, seed);
        TrainingData data = TrainingData.Read(input, options, kind);
        using IChannel channel = host.Start("Training");
        var log = new TrainingLog(channel, options.Progress, kind);
        log.Start(data.Dataset, engineOptions, seedSource);
        TrainingResult result = new HopfColeTrainer(engineOptions).Train(data.Dataset, data.Weights, log, options.Cancellation);
        log.End(result, engineOptions);
        return new HopfColePredictionTransformer(new HopfColeModelParameters(result.Model, result, data.Dataset.Rows), options.FeatureColumnName, data.Keys);
    }

    public static SchemaShape OutputSchema(SchemaShape input, HopfColeTrainingOptions options, ModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(input);
        FeatureColumns.Require(input, options.FeatureColumnName);
        SchemaShape.Column label = input.FirstOrDefault(column => column.Name == options.LabelColumnName);
        if (label.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(input), $"The label column '{options.LabelColumnName}' is not in the input.");
        }

        string scoreKind = PredictionMapping.ScoreKind(kind);
        SchemaShape Kinds(params (string Name, DataViewType Type, SchemaShape.Column.VectorKind Kind)[] extra)
            => MLNetConstruction.Annotations(
                [(AnnotationNames.ScoreColumnKind, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Scalar),
                 (AnnotationNames.ScoreValueKind, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Scalar), .. extra]);

        // Score also carries the model (ModelAnnotation), for a GibbsAttribution estimator later in the chain.
        (string, DataViewType, SchemaShape.Column.VectorKind) model = ModelAnnotation.Shape(kind, smooth: true, options.FeatureColumnName);
        SchemaShape.Column[] added = kind switch
        {
            ModelKind.Regression => [MLNetConstruction.Scalar(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds(model))],
            ModelKind.BinaryClassification =>
            [
                MLNetConstruction.Scalar(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds(model)),
                MLNetConstruction.Scalar(DefaultColumnNames.Probability, NumberDataViewType.Single, Kinds()),
                MLNetConstruction.Scalar(DefaultColumnNames.PredictedLabel, BooleanDataViewType.Instance, Kinds()),
            ],
            _ =>
            [
                MLNetConstruction.Vector(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds((AnnotationNames.SlotNames, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Vector), model)),
                MLNetConstruction.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, label.Annotations is { Count: > 0 } annotations ? new SchemaShape(annotations.Where(a => a.Name == AnnotationNames.KeyValues).Concat(Kinds())) : Kinds()),
            ],
        };
        return MLNetConstruction.Append(input, added);
    }
}
