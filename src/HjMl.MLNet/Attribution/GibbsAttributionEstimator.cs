using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// Creates a <see cref="GibbsAttributionTransformer"/> for a trained Hopf–Cole model; fitting only checks the schema
/// (see the transformer for the columns). Create it with <c>mlContext.Transforms.GibbsAttribution(...)</c>.
/// </summary>
public sealed class GibbsAttributionEstimator : IEstimator<GibbsAttributionTransformer>
{
    /// <summary>The default number of support points listed per row.</summary>
    public const int DefaultTopSupportPoints = 5;

    internal GibbsAttributionEstimator(HopfColePredictionTransformer model, Options options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        Model = model;
        TransformerOptions = options;
        Transformer = new GibbsAttributionTransformer(model.Model, options.FeatureColumnName ?? model.FeatureColumnName, options.TopSupportPoints ?? Math.Min(DefaultTopSupportPoints, model.Model.NumberOfSupportPoints));
    }

    /// <summary>The prediction transformer whose model is explained.</summary>
    public HopfColePredictionTransformer Model { get; }

    /// <summary>The options.</summary>
    public Options TransformerOptions { get; }

    private GibbsAttributionTransformer Transformer { get; }

    /// <summary>Checks that <paramref name="input"/> has the feature column, and returns the transformer.</summary>
    public GibbsAttributionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Transformer.GetOutputSchema(input.Schema);
        return new GibbsAttributionTransformer(Transformer.Model, Transformer.FeatureColumnName, Transformer.TopSupportPoints, input.Schema);
    }

    /// <summary>The input shape with the attribution columns appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        FeatureColumns.Require(inputSchema, Transformer.FeatureColumnName);
        var added = new List<SchemaShape.Column>
        {
            MLNetConstruction.Vector(GibbsAttributionTransformer.TopSupportWeightsColumnName, NumberDataViewType.Single),
            MLNetConstruction.Vector(GibbsAttributionTransformer.TopSupportRowsColumnName, NumberDataViewType.Int64),
            MLNetConstruction.Scalar(GibbsAttributionTransformer.AttributionEntropyColumnName, NumberDataViewType.Single),
            MLNetConstruction.Vector(GibbsAttributionTransformer.FeatureContributionsColumnName, NumberDataViewType.Single),
        };
        if (Transformer.HasCertifiedRadius)
        {
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.CertifiedRadiusColumnName, NumberDataViewType.Single));
        }

        if (Transformer.HasOutOfSupport)
        {
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.OutOfSupportScoreColumnName, NumberDataViewType.Single));
            added.Add(MLNetConstruction.Scalar(GibbsAttributionTransformer.OutOfSupportColumnName, BooleanDataViewType.Instance));
        }

        return MLNetConstruction.Append(inputSchema, added);
    }

    /// <summary>Options of <see cref="GibbsAttributionEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>k, support points listed per row; null for min(5, support points per head).</summary>
        public int? TopSupportPoints { get; set; }

        /// <summary>The feature column; null for the one the model was trained on.</summary>
        public string? FeatureColumnName { get; set; }
    }
}
