using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Trainers;

/// <summary>What the three Hopf–Cole trainers share: reading the data, training, and their output shape.</summary>
internal static class HopfColeFitting
{
    public static HopfColePredictionTransformer Fit(IDataView input, HopfColeTrainingOptions options, ModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(input);
        HopfColeTrainerOptions engineOptions = options.ToEngineOptions(kind);
        TrainingData data = TrainingData.Read(input, options, kind);
        TrainingResult result = new HopfColeTrainer(engineOptions).Train(data.Dataset, data.Weights, options.Progress, options.Cancellation);
        return new HopfColePredictionTransformer(new HopfColeModelParameters(result.Model, result), options.FeatureColumnName, data.Keys);
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

        SchemaShape.Column[] added = kind switch
        {
            ModelKind.Regression => [MLNetConstruction.Scalar(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds())],
            ModelKind.BinaryClassification =>
            [
                MLNetConstruction.Scalar(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds()),
                MLNetConstruction.Scalar(DefaultColumnNames.Probability, NumberDataViewType.Single, Kinds()),
                MLNetConstruction.Scalar(DefaultColumnNames.PredictedLabel, BooleanDataViewType.Instance, Kinds()),
            ],
            _ =>
            [
                MLNetConstruction.Vector(DefaultColumnNames.Score, NumberDataViewType.Single, Kinds((AnnotationNames.SlotNames, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Vector))),
                MLNetConstruction.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, label.Annotations is { Count: > 0 } annotations ? new SchemaShape(annotations.Where(a => a.Name == AnnotationNames.KeyValues).Concat(Kinds())) : Kinds()),
            ],
        };
        return MLNetConstruction.Append(input, added);
    }
}
