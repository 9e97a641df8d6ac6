using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// Appends, per row, why a Hopf–Cole model predicted what it did (THEORY.md sections 3–6): which support points
/// (training rows) carried the prediction and with what Gibbs weight, how spread that attribution is, each feature's
/// exact share of the score, how far the input can move before the prediction changes, and whether the input lies
/// outside the support the model was trained on. Computed natively in double.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and Output Columns
/// | Input Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | the model's feature column | Known-sized vector of <xref:System.Single> | The features the model scores. |
///
/// | Output Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `TopSupportWeights` | Vector of <xref:System.Single>, k slots | The k largest Gibbs weights pi_j(x) of the explained head, largest first (section 3). |
/// | `TopSupportRows` | Vector of <xref:System.Int64>, k slots; with `IdColumnName`, a vector of the id column's type (k values, its size undeclared, as the value mapping of a saved model gives it) | The training rows of those support points: 0-based positions in the order the trainer read them (-1 if unknown), or, with `IdColumnName`, the values of that column of the training data at those rows (empty text or NaN if unknown). |
/// | `AttributionEntropy` | <xref:System.Single> | H(pi) in nats, in [0, log N]; exp(H) is the effective number of support points (section 4). |
/// | `FeatureContributions` | Vector of <xref:System.Single>, d slots, slot names copied from the features | Each standardised feature's term z_k (E_pi[w])_k of the exact decomposition (section 4): of the margin f_0 - f_1 (binary), of Score - LabelMean (regression, times LabelScale), of the predicted class's head (multiclass). With a flow (Depth > 0): each feature's integrated gradient along the straight path from the training means (section 9) of the same value (regression: of Score), which with the value at the means and a quadrature remainder (below 1e-6 of it on the tested models) sums to it. |
/// | `ExplainedScore` | <xref:System.Single> | The value FeatureContributions decompose: `Score` for regression and binary classification (the margin), the predicted class's head f_p(x) for multiclass (whose `Score` slot p is softmax(f)_p, so log Score[p] = f_p - log sum_c exp f_c). |
/// | `ScoreTerms` | Vector of <xref:System.Single>, 4 slots named `Baseline`, `Bias`, `Entropy`, `Remainder` | The rest of the exact decomposition: ExplainedScore = sum(FeatureContributions) + sum(ScoreTerms). Baseline: LabelMean for regression, 0 for classifiers (with a flow: the value at the training means); Bias: E_pi[b] of the explained value (LabelScale times the heads' difference for regression, the heads' difference for binary); Entropy: eps H(pi) likewise; Remainder: 0 for a single layer, the flow's quadrature remainder with a flow (Bias and Entropy are then 0). |
/// | `CertifiedRadius` | <xref:System.Single> | Classifiers with eps > 0: no change of the standardised features shorter than this changes the prediction (section 5; with a flow, the read-out's radius at z_L over the flow's Lipschitz bound, section 9). |
/// | `OutOfSupportScore` | <xref:System.Single> | eps > 0: distance to the nearest support point over the in-support radius, the diffusion radius sqrt(2 eps t) or the model's calibrated coverage radius where larger (section 6). |
/// | `OutOfSupport` | <xref:System.Boolean> | eps > 0: OutOfSupportScore > 1. |
///
/// Per row, Score (regression, binary) or ExplainedScore (all three) equals sum(FeatureContributions) + sum(ScoreTerms)
/// to float rounding: the tests check 1e-6 of the terms' magnitude on diabetes, breast_cancer and iris, in process and
/// after Model.Save and Model.Load (ONNX Runtime, float32), and with a flow or an embedding 1e-5 after them.
///
/// The explained head is the predicted class's head for classifiers and head 0 for regression. Distances and radii are
/// in the model's standardised feature space: the space after the pipeline's featurisers and HjMl's own standardisation.
/// With a flow, the support weights, entropy and out-of-support score are the read-out's, at the flow's terminal state z_L.
///
/// ### Characteristics
/// | | |
/// | -- | -- |
/// | Does this transform need training? | No: it reads a trained Hopf–Cole model of any depth, given to it or found at Fit on the Score column of a HopfCole trainer earlier in the chain; with `IdColumnName` its Fit also reads the training rows' ids |
/// | Exportable to ONNX | Yes, at every depth and with a feature embedding: HjMl's exporter with explanation outputs; Model.Save stores the transform through it, Model.Load runs it in ONNX Runtime (float32) and LoadWithHopfCole gives this transform back. Through a flow the graph integrates the contributions on the engine's first rule (32 Gauss–Legendre nodes) and reports its own remainder in ScoreTerms (about 1e-6 of the score in float32) |
/// ]]></format>
/// </remarks>
public sealed class GibbsAttributionTransformer : ITransformer
{
    /// <summary>The column of top Gibbs weights.</summary>
    public const string TopSupportWeightsColumnName = "TopSupportWeights";

    /// <summary>The column of the top support points' training rows.</summary>
    public const string TopSupportRowsColumnName = "TopSupportRows";

    /// <summary>The attribution entropy column.</summary>
    public const string AttributionEntropyColumnName = "AttributionEntropy";

    /// <summary>The feature contributions column.</summary>
    public const string FeatureContributionsColumnName = "FeatureContributions";

    /// <summary>The column of the value the feature contributions decompose.</summary>
    public const string ExplainedScoreColumnName = "ExplainedScore";

    /// <summary>The column of the decomposition's other terms (slots <see cref="ScoreTermNames"/>).</summary>
    public const string ScoreTermsColumnName = "ScoreTerms";

    /// <summary>The certified radius column.</summary>
    public const string CertifiedRadiusColumnName = "CertifiedRadius";

    /// <summary>The out-of-support score column.</summary>
    public const string OutOfSupportScoreColumnName = "OutOfSupportScore";

    /// <summary>The out-of-support flag column.</summary>
    public const string OutOfSupportColumnName = "OutOfSupport";

    internal GibbsAttributionTransformer(HopfColeModelParameters model, string featureColumnName, int topSupportPoints, DataViewSchema? fitSchema = null, SupportIdentifiers? supportIdentifiers = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(featureColumnName);
        int pieces = model.NumberOfSupportPoints;
        if (topSupportPoints < 1 || topSupportPoints > pieces)
        {
            throw new ArgumentOutOfRangeException(nameof(topSupportPoints), $"topSupportPoints is {topSupportPoints}; it must lie in [1, {pieces}], the support points per head.");
        }

        Model = model;
        FeatureColumnName = featureColumnName;
        TopSupportPoints = topSupportPoints;
        FitSchema = fitSchema;
        SupportIdentifiers = supportIdentifiers;
    }

    /// <summary>The slot names of <see cref="ScoreTermsColumnName"/>, in order.</summary>
    public static IReadOnlyList<string> ScoreTermNames { get; } = ["Baseline", "Bias", "Entropy", "Remainder"];

    /// <summary>The model being explained.</summary>
    public HopfColeModelParameters Model { get; }

    /// <summary>The feature column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>k, the support points listed per row.</summary>
    public int TopSupportPoints { get; }

    /// <summary>The id column of the training data whose values TopSupportRows reports, or null for positions.</summary>
    public string? IdColumnName => SupportIdentifiers?.ColumnName;

    /// <summary>The ids TopSupportRows reports, or null for positions.</summary>
    internal SupportIdentifiers? SupportIdentifiers { get; }

    /// <summary>Whether the model has a certified radius column (classifiers with eps &gt; 0).</summary>
    public bool HasCertifiedRadius => Model.Model.Kind != ModelKind.Regression && Model.Viscosity > 0;

    /// <summary>Whether the model has the out-of-support columns (eps &gt; 0).</summary>
    public bool HasOutOfSupport => Model.Viscosity > 0;

    /// <summary>Always true.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The schema the estimator was fitted on (what saving keeps the column order of), if any.</summary>
    internal DataViewSchema? FitSchema { get; }

    /// <summary>The schema <see cref="Transform"/> produces.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new AttributionMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends the attribution columns; rows are explained lazily as cursors read them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new AttributionMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new AttributionMapping(inputSchema, this);

    /// <summary>
    /// Saves, in this transform's place, ML.NET's OnnxTransformer running HjMl's ONNX graph with explanation outputs, at
    /// every depth and with a feature embedding (the contributions through a flow integrated in the graph, section 9).
    /// </summary>
    /// <exception cref="NotSupportedException">A parameter of the model is beyond float32's range (the message names it).</exception>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = AttributionSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }
}

/// <summary>The attribution columns over one input schema.</summary>
internal sealed class AttributionMapping : RowMapping
{
    private readonly GibbsAttributionTransformer transformer;
    private readonly int featureIndex;

    public AttributionMapping(DataViewSchema inputSchema, GibbsAttributionTransformer transformer)
        : base(inputSchema, Outputs(inputSchema, transformer), [Feature(inputSchema, transformer)])
    {
        this.transformer = transformer;
        featureIndex = Feature(inputSchema, transformer);
    }

    public override Delegate?[] CreateGetters(DataViewRow input, bool[] activeOutputs)
    {
        var getters = new Delegate?[OutputColumns.Count];
        if (!activeOutputs.Any(active => active))
        {
            return getters;
        }

        HopfColeModel model = transformer.Model.Model;
        var explainer = new RowExplainer(model, transformer.TopSupportPoints);
        DataViewSchema.Column column = input.Schema[featureIndex];
        ValueGetter<VBuffer<float>> getFeatures = input.GetGetter<VBuffer<float>>(column);
        var features = new double[model.InputDimension];
        VBuffer<float> buffer = default;
        long position = -1;
        RowExplainer Current()
        {
            if (position != input.Position)
            {
                getFeatures(ref buffer);
                FeatureColumns.Densify(buffer, features, column, input.Position);
                try
                {
                    explainer.Explain(features);
                }
                catch (ArgumentException exception)
                {
                    throw new InvalidOperationException($"Row {input.Position + 1}, column '{column.Name}': {exception.Message}", exception);
                }

                position = input.Position;
            }

            return explainer;
        }

        var all = new List<Delegate>
        {
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => Fill(ref value, Current().TopWeights)),
            transformer.SupportIdentifiers?.Getter(() => Current().TopPieces) ?? (ValueGetter<VBuffer<long>>)((ref VBuffer<long> value) =>
            {
                long[] rows = Current().TopRows;
                VBufferEditor<long> editor = VBufferEditor.Create(ref value, rows.Length);
                rows.CopyTo(editor.Values);
                value = editor.Commit();
            }),
            (ValueGetter<float>)((ref float value) => value = (float)Current().Entropy),
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => Fill(ref value, Current().Contributions)),
            (ValueGetter<float>)((ref float value) => value = (float)Current().ExplainedScore),
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                (double baseline, double bias, double entropy, double remainder) = Current().Terms;
                Fill(ref value, [baseline, bias, entropy, remainder]);
            }),
        };
        if (transformer.HasCertifiedRadius)
        {
            all.Add((ValueGetter<float>)((ref float value) => value = (float)Current().CertifiedRadius));
        }

        if (transformer.HasOutOfSupport)
        {
            all.Add((ValueGetter<float>)((ref float value) => value = (float)Current().OutOfSupportScore));
            all.Add((ValueGetter<bool>)((ref bool value) => value = (float)Current().OutOfSupportScore > 1));
        }

        for (int i = 0; i < getters.Length; i++)
        {
            getters[i] = activeOutputs[i] ? all[i] : null;
        }

        return getters;
    }

    private static void Fill(ref VBuffer<float> value, ReadOnlySpan<double> source)
    {
        VBufferEditor<float> editor = VBufferEditor.Create(ref value, source.Length);
        for (int i = 0; i < source.Length; i++)
        {
            editor.Values[i] = (float)source[i];
        }

        value = editor.Commit();
    }

    private static DataViewSchema.Annotations TermNames()
    {
        var builder = new DataViewSchema.Annotations.Builder();
        ReadOnlyMemory<char>[] names = GibbsAttributionTransformer.ScoreTermNames.Select(name => name.AsMemory()).ToArray();
        builder.Add(AnnotationNames.SlotNames, new VectorDataViewType(TextDataViewType.Instance, names.Length), (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
        return builder.ToAnnotations();
    }

    private static int Feature(DataViewSchema schema, GibbsAttributionTransformer transformer)
        => FeatureColumns.Require(schema, transformer.FeatureColumnName, transformer.Model.Model.InputDimension).Index;

    private static DataViewSchema.DetachedColumn[] Outputs(DataViewSchema schema, GibbsAttributionTransformer transformer)
    {
        DataViewSchema.Column features = schema[Feature(schema, transformer)];
        int k = transformer.TopSupportPoints;
        var contributionAnnotations = new DataViewSchema.Annotations.Builder();
        contributionAnnotations.Add(features.Annotations, name => name == AnnotationNames.SlotNames);
        var columns = new List<DataViewSchema.DetachedColumn>
        {
            new(GibbsAttributionTransformer.TopSupportWeightsColumnName, new VectorDataViewType(NumberDataViewType.Single, k)),
            new(GibbsAttributionTransformer.TopSupportRowsColumnName, transformer.SupportIdentifiers is { } ids ? ids.VectorType : new VectorDataViewType(NumberDataViewType.Int64, k)),
            new(GibbsAttributionTransformer.AttributionEntropyColumnName, NumberDataViewType.Single),
            new(GibbsAttributionTransformer.FeatureContributionsColumnName, new VectorDataViewType(NumberDataViewType.Single, transformer.Model.Model.InputDimension), contributionAnnotations.ToAnnotations()),
            new(GibbsAttributionTransformer.ExplainedScoreColumnName, NumberDataViewType.Single),
            new(GibbsAttributionTransformer.ScoreTermsColumnName, new VectorDataViewType(NumberDataViewType.Single, GibbsAttributionTransformer.ScoreTermNames.Count), TermNames()),
        };
        if (transformer.HasCertifiedRadius)
        {
            columns.Add(new(GibbsAttributionTransformer.CertifiedRadiusColumnName, NumberDataViewType.Single));
        }

        if (transformer.HasOutOfSupport)
        {
            columns.Add(new(GibbsAttributionTransformer.OutOfSupportScoreColumnName, NumberDataViewType.Single));
            columns.Add(new(GibbsAttributionTransformer.OutOfSupportColumnName, BooleanDataViewType.Instance));
        }

        return [.. columns];
    }
}
