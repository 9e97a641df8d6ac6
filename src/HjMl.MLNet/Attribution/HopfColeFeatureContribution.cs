using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// ML.NET's <c>CalculateFeatureContribution</c> for Hopf–Cole models: creates a <see cref="HopfColeFeatureContributionTransformer"/>
/// (fitting only checks the schema). Create it with <c>mlContext.Transforms.CalculateFeatureContribution(model, ...)</c>.
/// </summary>
public sealed class HopfColeFeatureContributionEstimator : IEstimator<HopfColeFeatureContributionTransformer>
{
    private readonly HopfColeFeatureContributionTransformer transformer;

    internal HopfColeFeatureContributionEstimator(HopfColePredictionTransformer model, int numberOfPositiveContributions, int numberOfNegativeContributions, bool normalize)
    {
        ArgumentNullException.ThrowIfNull(model);
        transformer = new HopfColeFeatureContributionTransformer(model.Model, model.FeatureColumnName, numberOfPositiveContributions, numberOfNegativeContributions, normalize);
    }

    /// <summary>Checks that <paramref name="input"/> has the model's feature column and returns the transformer.</summary>
    public HopfColeFeatureContributionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        transformer.GetOutputSchema(input.Schema);
        return new HopfColeFeatureContributionTransformer(transformer.Model, transformer.FeatureColumnName, transformer.NumberOfPositiveContributions, transformer.NumberOfNegativeContributions, transformer.Normalize, input.Schema);
    }

    /// <summary>The input shape with <c>FeatureContributions</c> appended (with the features' slot names, if they have them).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        FeatureColumns.Require(inputSchema, transformer.FeatureColumnName);
        SchemaShape.Column features = inputSchema.First(column => column.Name == transformer.FeatureColumnName);
        SchemaShape? names = features.Annotations.Any(annotation => annotation.Name == AnnotationNames.SlotNames)
            ? MLNetConstruction.Annotations((AnnotationNames.SlotNames, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Vector))
            : null;
        return MLNetConstruction.Append(inputSchema, [MLNetConstruction.Vector(GibbsAttributionTransformer.FeatureContributionsColumnName, NumberDataViewType.Single, names)]);
    }
}

/// <summary>
/// Appends ML.NET's <c>FeatureContributions</c> column for a Hopf–Cole model: per row, each feature's term of the exact
/// decomposition GibbsAttribution writes (THEORY.md section 4; its FeatureContributions column), of which ML.NET's
/// feature contribution calculator keeps the <see cref="NumberOfPositiveContributions"/> largest positive and
/// <see cref="NumberOfNegativeContributions"/> most negative (the others 0, a sparse vector) and, with
/// <see cref="Normalize"/>, divides them by the largest magnitude kept, into [-1, 1].
/// </summary>
/// <remarks>
/// <para><b>Why not ML.NET's own transformer.</b> ML.NET's <c>CalculateFeatureContribution</c> takes a model whose
/// parameters implement <c>ICalculateFeatureContribution</c>, whose only member returns a <c>FeatureContributionCalculator</c>
/// that has an internal constructor over the internal interface <c>IFeatureContributionMapper</c>, which the transformer
/// casts the parameters to. A component outside ML.NET can implement neither, so this transformer does the same job
/// with the same column, options, defaults and semantics, and <c>mlContext.Transforms.CalculateFeatureContribution(model)</c>
/// resolves to it for a Hopf–Cole model. Ties are kept lower feature index first. The values are exact: with
/// <c>numberOfPositiveContributions</c> and <c>numberOfNegativeContributions</c> at least the feature count and
/// <c>normalize: false</c>, the column equals GibbsAttribution's FeatureContributions, which with its ScoreTerms sum to
/// the explained score.</para>
/// <para><b>Saving.</b> Model.Save stores, in its place, ML.NET's OnnxTransformer running HjMl's ONNX graph with the
/// explanation outputs and the selection and scaling above (TopK, ScatterElements, ReduceMax), at every depth and with a
/// feature embedding (the contributions through a flow integrated in the graph, as with GibbsAttribution).</para>
/// </remarks>
public sealed class HopfColeFeatureContributionTransformer : ITransformer
{
    internal HopfColeFeatureContributionTransformer(HopfColeModelParameters model, string featureColumnName, int numberOfPositiveContributions, int numberOfNegativeContributions, bool normalize, DataViewSchema? fitSchema = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(numberOfPositiveContributions);
        ArgumentOutOfRangeException.ThrowIfNegative(numberOfNegativeContributions);
        Model = model;
        FeatureColumnName = featureColumnName;
        NumberOfPositiveContributions = numberOfPositiveContributions;
        NumberOfNegativeContributions = numberOfNegativeContributions;
        Normalize = normalize;
        FitSchema = fitSchema;
    }

    /// <summary>The model explained.</summary>
    public HopfColeModelParameters Model { get; }

    /// <summary>The feature column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>How many of the largest positive contributions are kept.</summary>
    public int NumberOfPositiveContributions { get; }

    /// <summary>How many of the most negative contributions are kept.</summary>
    public int NumberOfNegativeContributions { get; }

    /// <summary>Whether the kept contributions are divided by the largest magnitude among them.</summary>
    public bool Normalize { get; }

    /// <summary>Always true.</summary>
    public bool IsRowToRowMapper => true;

    internal DataViewSchema? FitSchema { get; }

    /// <summary>The schema <see cref="Transform"/> produces.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new ContributionMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends <c>FeatureContributions</c>; rows are explained lazily as cursors read them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ContributionMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new ContributionMapping(inputSchema, this);

    /// <summary>Saves, in this transform's place, ML.NET's OnnxTransformer running HjMl's ONNX graph (see remarks).</summary>
    /// <exception cref="NotSupportedException">A parameter of the model is beyond float32's range (the message names it).</exception>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = FeatureContributionSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }

    /// <summary>
    /// ML.NET's selection and scaling of feature contributions: from <paramref name="values"/>, keeps in
    /// <paramref name="destination"/> the <paramref name="top"/> largest positive and <paramref name="bottom"/> most
    /// negative values (ties: lower index first, as ONNX TopK), zeroes the rest and, with <paramref name="normalize"/>,
    /// multiplies the kept ones by 1 / their largest magnitude (as ML.NET's VectorUtils.SparsifyNormalize).
    /// <paramref name="order"/> is scratch of the same length.
    /// </summary>
    internal static void Sparsify(ReadOnlySpan<float> values, Span<int> order, int top, int bottom, bool normalize, Span<float> destination)
    {
        destination.Clear();
        float largest = 0;
        float[] source = values.ToArray();
        for (int pass = 0; pass < 2; pass++)
        {
            bool positive = pass == 0;
            int count = Math.Min(positive ? top : bottom, order.Length);
            for (int k = 0; k < order.Length; k++)
            {
                order[k] = k;
            }

            order.Sort((a, b) =>
            {
                int byValue = positive ? source[b].CompareTo(source[a]) : source[a].CompareTo(source[b]);
                return byValue != 0 ? byValue : a.CompareTo(b);
            });
            for (int i = 0; i < count; i++)
            {
                float value = source[order[i]];
                if (positive ? value > 0 : value < 0)
                {
                    destination[order[i]] = value;
                    largest = Math.Max(largest, Math.Abs(value));
                }
            }
        }

        if (normalize && largest != 0)
        {
            float ratio = 1 / largest;
            for (int k = 0; k < destination.Length; k++)
            {
                destination[k] *= ratio;
            }
        }
    }
}

/// <summary>The FeatureContributions column over one input schema.</summary>
internal sealed class ContributionMapping : RowMapping
{
    private readonly HopfColeFeatureContributionTransformer transformer;
    private readonly int featureIndex;

    public ContributionMapping(DataViewSchema inputSchema, HopfColeFeatureContributionTransformer transformer)
        : base(inputSchema, Outputs(inputSchema, transformer), [Feature(inputSchema, transformer)])
    {
        this.transformer = transformer;
        featureIndex = Feature(inputSchema, transformer);
    }

    public override Delegate?[] CreateGetters(DataViewRow input, bool[] activeOutputs)
    {
        if (!activeOutputs[0])
        {
            return [null];
        }

        HopfColeModel model = transformer.Model.Model;
        var explainer = new RowExplainer(model, 1);
        DataViewSchema.Column column = input.Schema[featureIndex];
        ValueGetter<VBuffer<float>> getFeatures = input.GetGetter<VBuffer<float>>(column);
        var features = new double[model.InputDimension];
        var contributions = new float[model.InputDimension];
        var kept = new float[model.InputDimension];
        var order = new int[model.InputDimension];
        VBuffer<float> buffer = default;
        return
        [
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
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

                ReadOnlySpan<double> exact = explainer.Contributions;
                for (int k = 0; k < contributions.Length; k++)
                {
                    contributions[k] = (float)exact[k];
                }

                HopfColeFeatureContributionTransformer.Sparsify(contributions, order, transformer.NumberOfPositiveContributions, transformer.NumberOfNegativeContributions, transformer.Normalize, kept);

                // A sparse vector of the kept values, as ML.NET's calculator writes.
                int count = kept.Count(contribution => contribution != 0);
                VBufferEditor<float> editor = VBufferEditor.Create(ref value, kept.Length, count, requireIndicesOnDense: true);
                int next = 0;
                for (int k = 0; k < kept.Length; k++)
                {
                    if (kept[k] != 0)
                    {
                        editor.Indices[next] = k;
                        editor.Values[next++] = kept[k];
                    }
                }

                value = editor.Commit();
            }),
        ];
    }

    private static int Feature(DataViewSchema schema, HopfColeFeatureContributionTransformer transformer)
        => FeatureColumns.Require(schema, transformer.FeatureColumnName, transformer.Model.Model.InputDimension).Index;

    private static DataViewSchema.DetachedColumn[] Outputs(DataViewSchema schema, HopfColeFeatureContributionTransformer transformer)
    {
        DataViewSchema.Column features = schema[Feature(schema, transformer)];
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add(features.Annotations, name => name == AnnotationNames.SlotNames);
        return [new(GibbsAttributionTransformer.FeatureContributionsColumnName, new VectorDataViewType(NumberDataViewType.Single, transformer.Model.Model.InputDimension), annotations.ToAnnotations())];
    }
}
