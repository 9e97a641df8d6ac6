using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// Scores rows with a trained Hopf–Cole model, natively (HjMl's double-precision engine, not ONNX), and appends ML.NET's
/// prediction columns: <c>Score</c> for regression; <c>Score</c> (the margin), <c>Probability</c> and
/// <c>PredictedLabel</c> (Boolean) for binary classification; <c>Score</c> (a vector of class probabilities whose slot
/// names are the label's key values) and <c>PredictedLabel</c> (the label's key type) for multiclass classification.
/// </summary>
/// <remarks>
/// <para>It is an <see cref="ISingleFeaturePredictionTransformer{TModel}"/>, so <c>Evaluate</c>,
/// <c>CreatePredictionEngine</c>, transformer chains and <c>PermutationFeatureImportance</c> take it like any ML.NET
/// trainer's transformer (for ML.NET's non-generic PFI overload and CalculateFeatureContribution, which need internal
/// interfaces, see <see cref="HopfColeExplainabilityCatalog"/>).</para>
/// <para><b>The Score column names its model.</b> Score carries an annotation ("HjMl.HopfColeModel") whose value is this
/// transformer, so that a GibbsAttribution estimator later in the same estimator chain finds the model at Fit (ML.NET
/// passes an estimator nothing but the data). A saved-and-loaded pipeline's Score does not have it.</para>
/// <para><b>Saving.</b> ML.NET has no public hook for saving third-party transformers, so <see cref="Save"/> writes, in
/// this transformer's place, ML.NET's own <c>OnnxTransformer</c> running HjMl's ONNX export of the model (and for
/// multiclass a value mapping that turns the predicted class back into the label's key). A saved pipeline therefore
/// loads with plain ML.NET and Microsoft.ML.OnnxTransformer, without HjMl, and scores in ONNX Runtime in float32
/// (within 1e-5 of the native scores); see the README's ML.NET section for what survives the round trip. Saving needs
/// ONNX Runtime's native library (the Microsoft.ML.OnnxRuntime package), because OnnxTransformer opens the graph.</para>
/// </remarks>
public sealed class HopfColePredictionTransformer : ISingleFeaturePredictionTransformer<HopfColeModelParameters>
{
    internal HopfColePredictionTransformer(HopfColeModelParameters model, string featureColumnName, LabelKeys? labelKeys)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(featureColumnName);
        if (model.Model.Kind == ModelKind.MulticlassClassification && labelKeys is null)
        {
            throw new ArgumentException("A multiclass transformer needs the label's key type.", nameof(labelKeys));
        }

        Model = model;
        FeatureColumnName = featureColumnName;
        FeatureColumnType = new VectorDataViewType(NumberDataViewType.Single, model.Model.InputDimension);
        LabelKeys = labelKeys;
    }

    /// <summary>The learned model.</summary>
    public HopfColeModelParameters Model { get; }

    /// <summary>The feature column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>A vector of <see cref="float"/> with one slot per model feature.</summary>
    public DataViewType FeatureColumnType { get; }

    /// <summary>What the model predicts.</summary>
    public ModelKind Kind => Model.Model.Kind;

    /// <summary>Always true: every output is computed from its own row.</summary>
    public bool IsRowToRowMapper => true;

    internal LabelKeys? LabelKeys { get; }

    /// <summary>The schema <see cref="Transform"/> produces from <paramref name="inputSchema"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing or of the wrong type or size.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new PredictionMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends the prediction columns to <paramref name="input"/>; rows are scored lazily as cursors read them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new PredictionMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new PredictionMapping(inputSchema, this);

    /// <summary>Saves, in this transformer's place, ML.NET's OnnxTransformer running HjMl's ONNX graph (see remarks).</summary>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = PredictionSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }
}
