using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// Creates a <see cref="GibbsAttributionTransformer"/> (see it for the columns). Create it with
/// <c>mlContext.Transforms.GibbsAttribution(...)</c>: given no model, it follows a HopfCole trainer in the same chain
/// and finds the model at Fit; given a fitted model, fitting only checks the schema (and reads ids, if asked).
/// </summary>
/// <remarks>
/// <para><b>Why the model is found on the Score column.</b> ML.NET's <c>EstimatorChain</c> fits each estimator on the
/// output of the transformers fitted before it and passes nothing else, so an estimator that follows a trainer can only
/// learn about the trained model from the data it is fitted on. A Hopf–Cole transformer therefore annotates the Score
/// column it writes with itself, and this estimator, given no model, reads the model from the Score column of its
/// input at Fit. So <c>trainer.Append(mlContext.Transforms.GibbsAttribution())</c> is one estimator that fits, scores and
/// explains, and it works wherever an estimator does: <c>Fit</c>, <c>CrossValidate</c> (each fold explains its own model),
/// AutoML sweeps. Stages between the trainer and this one are fine as long as Score passes through them (ML.NET's
/// transforms keep a column's annotations, and Platt calibration leaves Score alone). A wrapper such as
/// <c>HopfCole(...).WithAttribution()</c> was the alternative; it would have returned a chain instead of the trainer's
/// own transformer, hiding <c>LastTransformer.Model</c> and the PFI and Evaluate entry points behind one more level.</para>
/// </remarks>
public sealed class GibbsAttributionEstimator : IEstimator<GibbsAttributionTransformer>
{
    /// <summary>The default number of support points listed per row.</summary>
    public const int DefaultTopSupportPoints = 5;

    internal GibbsAttributionEstimator(HopfColePredictionTransformer? model, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ScoreColumnName, nameof(options.ScoreColumnName));
        if (options.TopSupportPoints < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"topSupportPoints is {options.TopSupportPoints}; it must be at least 1.");
        }

        Model = model;
        TransformerOptions = options;
        if (model is not null)
        {
            // Checks k against the width now, where the model is known.
            _ = Transformer(model);
        }
    }

    /// <summary>The prediction transformer whose model is explained, or null when it is found at Fit (see remarks).</summary>
    public HopfColePredictionTransformer? Model { get; }

    /// <summary>The options.</summary>
    public Options TransformerOptions { get; }

    /// <summary>
    /// Finds the model (given, or on the input's Score column), checks that <paramref name="input"/> has its feature
    /// column, reads the support points' ids when <see cref="Options.IdColumnName"/> is set, and returns the transformer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No model was given and Score was not written by a Hopf–Cole trainer; a column is missing or of the wrong type; or the id column cannot be read (the message says why).</exception>
    public GibbsAttributionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        HopfColePredictionTransformer model = Model ?? ModelAnnotation.Require(input.Schema, TransformerOptions.ScoreColumnName, "GibbsAttribution");
        GibbsAttributionTransformer transformer = Transformer(model);
        transformer.GetOutputSchema(input.Schema);
        SupportIdentifiers? ids = TransformerOptions.IdColumnName is { } idColumn ? SupportIdentifiers.Read(input, idColumn, model.Model) : null;
        return new GibbsAttributionTransformer(transformer.Model, transformer.FeatureColumnName, transformer.TopSupportPoints, input.Schema, ids);
    }

    /// <summary>The input shape with the attribution columns appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        (ModelKind kind, bool smooth, string trainedOn) = Model is { } model
            ? (model.Kind, model.Model.Viscosity > 0, model.FeatureColumnName)
            : Described(ModelAnnotation.Require(inputSchema, TransformerOptions.ScoreColumnName, "GibbsAttribution"));
        FeatureColumns.Require(inputSchema, TransformerOptions.FeatureColumnName ?? trainedOn);
        SchemaShape.Column rows = MLNetConstruction.Vector(GibbsAttributionTransformer.TopSupportRowsColumnName, NumberDataViewType.Int64);
        if (TransformerOptions.IdColumnName is { } idColumn)
        {
            SchemaShape.Column id = inputSchema.FirstOrDefault(column => column.Name == idColumn);
            rows = id.Name is not null && id.Kind == SchemaShape.Column.VectorKind.Scalar && id.ItemType is TextDataViewType or NumberDataViewType
                ? MLNetConstruction.Column(GibbsAttributionTransformer.TopSupportRowsColumnName, SchemaShape.Column.VectorKind.VariableVector, id.ItemType, false)
                : throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The id column '{idColumn}' (IdColumnName) must be a scalar column of text or numbers in the input; it is {(id.Name is null ? "missing" : $"{id.Kind} of {id.ItemType}")}.");
        }

        var added = new List<SchemaShape.Column>
        {
            MLNetConstruction.Vector(GibbsAttributionTransformer.TopSupportWeightsColumnName, NumberDataViewType.Single),
            rows,
            MLNetConstruction.Scalar(GibbsAttributionTransformer.AttributionEntropyColumnName, NumberDataViewType.Single),
            MLNetConstruction.Vector(GibbsAttributionTransformer.FeatureContributionsColumnName, NumberDataViewType.Single),
            MLNetConstruction.Scalar(GibbsAttributionTransformer.ExplainedScoreColumnName, NumberDataViewType.Single),
            MLNetConstruction.Vector(GibbsAttributionTransformer.ScoreTermsColumnName, NumberDataViewType.Single, MLNetConstruction.Annotations((AnnotationNames.SlotNames, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Vector))),
        };
        if (kind != ModelKind.Regression && smooth)
        {
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.CertifiedRadiusColumnName, NumberDataViewType.Single));
        }

        if (smooth)
        {
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.OutOfSupportScoreColumnName, NumberDataViewType.Single));
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.OutOfSupportColumnName, BooleanDataViewType.Instance));
        }

        return MLNetConstruction.Append(inputSchema, added);
    }

    private static (ModelKind Kind, bool Smooth, string FeatureColumnName) Described(ModelAnnotationType model) => (model.Kind, model.Smooth, model.FeatureColumnName);

    private GibbsAttributionTransformer Transformer(HopfColePredictionTransformer model)
        => new(model.Model, TransformerOptions.FeatureColumnName ?? model.FeatureColumnName, TransformerOptions.TopSupportPoints ?? Math.Min(DefaultTopSupportPoints, model.Model.NumberOfSupportPoints));

    /// <summary>Options of <see cref="GibbsAttributionEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>k, support points listed per row; null for min(5, support points per head).</summary>
        public int? TopSupportPoints { get; set; }

        /// <summary>The feature column; null for the one the model was trained on.</summary>
        public string? FeatureColumnName { get; set; }

        /// <summary>
        /// Given no model: the column whose annotation names it, the Score column of the HopfCole trainer earlier in the
        /// chain. Default "Score".
        /// </summary>
        public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;

        /// <summary>
        /// A column of the training data (text or numbers) whose values TopSupportRows reports instead of row positions;
        /// null (the default) for positions. Fit reads it by position, so the estimator must be fitted on the training
        /// data in the order the trainer read it: automatic when it follows the trainer in one chain (CrossValidate
        /// included, each fold with its own rows); with a fitted model, pass its training data to Fit (a different row
        /// count is refused). A support point that did not start on a training row gets empty text or NaN; integer ids,
        /// which have no missing value, are refused for such models.
        /// </summary>
        public string? IdColumnName { get; set; }
    }
}
