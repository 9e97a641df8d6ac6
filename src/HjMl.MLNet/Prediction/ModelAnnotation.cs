using HjMl.MLNet.DataView;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// The annotation a Hopf–Cole prediction transformer puts on its <c>Score</c> column: the transformer itself. ML.NET's
/// EstimatorChain fits each estimator on the previous stages' output and hands it nothing else, so this is how an
/// estimator later in the same chain (the GibbsAttribution transform) finds, at Fit time, the model that wrote the
/// scores. Its type carries what an output shape needs before any Fit (<see cref="ModelAnnotationType"/>), and the
/// trainers declare it in their output shape too. It lives as long as the schema: transforms that pass a column on keep
/// its annotations, and a saved-and-loaded pipeline does not have it (its scores come from ONNX Runtime).
/// </summary>
internal static class ModelAnnotation
{
    /// <summary>The annotation's name.</summary>
    public const string Name = "HjMl.HopfColeModel";

    /// <summary>Adds the annotation for <paramref name="transformer"/> to <paramref name="builder"/>.</summary>
    public static void Add(DataViewSchema.Annotations.Builder builder, HopfColePredictionTransformer transformer)
        => builder.Add(Name, ModelAnnotationType.Of(transformer), (ref HopfColePredictionTransformer value) => value = transformer);

    /// <summary><paramref name="annotations"/> and the annotation for <paramref name="transformer"/>.</summary>
    public static DataViewSchema.Annotations With(DataViewSchema.Annotations annotations, HopfColePredictionTransformer transformer)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(annotations, _ => true);
        Add(builder, transformer);
        return builder.ToAnnotations();
    }

    /// <summary>The annotation's shape, for a trainer's output shape.</summary>
    public static (string Name, DataViewType Type, SchemaShape.Column.VectorKind Kind) Shape(ModelKind kind, bool smooth, string featureColumnName)
        => (Name, new ModelAnnotationType(kind, smooth, featureColumnName), SchemaShape.Column.VectorKind.Scalar);

    /// <summary>The transformer that wrote <paramref name="column"/>, or null if no Hopf–Cole transformer did.</summary>
    public static HopfColePredictionTransformer? Find(DataViewSchema.Column column)
    {
        if (column.Annotations.Schema.GetColumnOrNull(Name) is not { Type: ModelAnnotationType })
        {
            return null;
        }

        HopfColePredictionTransformer? transformer = null;
        column.Annotations.GetValue(Name, ref transformer);
        return transformer;
    }

    /// <summary>What the annotation on <paramref name="column"/>'s shape says about its model, or null without one.</summary>
    public static ModelAnnotationType? Find(SchemaShape.Column column)
        => column.Annotations is { } annotations && annotations.FirstOrDefault(annotation => annotation.Name == Name) is { Name: not null } found
            ? found.ItemType as ModelAnnotationType
            : null;

    /// <summary>
    /// The Hopf–Cole transformer that wrote <paramref name="scoreColumnName"/> in <paramref name="schema"/>, or an
    /// exception saying what the column is instead and what to do.
    /// </summary>
    public static HopfColePredictionTransformer Require(DataViewSchema schema, string scoreColumnName, string reader)
    {
        DataViewSchema.Column column = schema.GetColumnOrNull(scoreColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{reader} was given no model, so it reads the model from the '{scoreColumnName}' column a Hopf–Cole trainer writes, but the data has no such column; put it after a HopfCole trainer in the chain, or pass the fitted model.");
        return Find(column)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{reader} was given no model, so it reads the model from the '{scoreColumnName}' column, but that column was not written by a Hopf–Cole trainer in this pipeline (a loaded model's scores come from ONNX Runtime and carry no model); pass the fitted model instead.");
    }

    /// <summary>The same on an output shape: what the annotation says, or an exception.</summary>
    public static ModelAnnotationType Require(SchemaShape shape, string scoreColumnName, string reader)
    {
        SchemaShape.Column column = shape.FirstOrDefault(c => c.Name == scoreColumnName);
        return (column.Name is null ? null : Find(column))
            ?? throw new ArgumentOutOfRangeException(nameof(shape), $"{reader} was given no model, so it needs the '{scoreColumnName}' column of a Hopf–Cole trainer earlier in the chain, but {(column.Name is null ? "the input has no such column" : "the input's was not written by a Hopf–Cole trainer")}; put it after a HopfCole trainer, or pass the fitted model.");
    }
}

/// <summary>
/// The type of <see cref="ModelAnnotation"/>: its value is the <see cref="HopfColePredictionTransformer"/>, and the type
/// itself says what the model's explanation columns are, so an estimator's output shape can be known before Fit.
/// </summary>
internal sealed class ModelAnnotationType : StructuredDataViewType
{
    public ModelAnnotationType(ModelKind kind, bool smooth, string featureColumnName)
        : base(typeof(HopfColePredictionTransformer))
    {
        Kind = kind;
        Smooth = smooth;
        FeatureColumnName = featureColumnName;
    }

    /// <summary>What the model predicts.</summary>
    public ModelKind Kind { get; }

    /// <summary>Whether eps &gt; 0 (every trained model; a model at eps = 0 has no out-of-support or radius columns).</summary>
    public bool Smooth { get; }

    /// <summary>The feature column the model reads.</summary>
    public string FeatureColumnName { get; }

    public static ModelAnnotationType Of(HopfColePredictionTransformer transformer)
        => new(transformer.Kind, transformer.Model.Viscosity > 0, transformer.FeatureColumnName);

    public override bool Equals(DataViewType? other)
        => other is ModelAnnotationType type && type.Kind == Kind && type.Smooth == Smooth && type.FeatureColumnName == FeatureColumnName;

    public override bool Equals(object? obj) => obj is DataViewType type && Equals(type);

    public override int GetHashCode() => HashCode.Combine(Kind, Smooth, FeatureColumnName);

    public override string ToString() => $"HopfColeModel<{Kind}>";
}
