using HjMl.Data;
using HjMl.Layers;
using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Featurization;

/// <summary>What <see cref="HopfColeFeaturizerEstimator"/> writes per row.</summary>
public enum HopfColeFeatures
{
    /// <summary>
    /// The N Gibbs weights pi_j(x) of the support points (THEORY.md section 3): a soft assignment of the row to the
    /// support points, proportional to the heat kernel exp(-|z - y_j|^2 / (4 t eps)); they sum to 1.
    /// </summary>
    GibbsWeights,

    /// <summary>
    /// The N log-weights eps log pi_j(x) = z_j(x) - f(x) (each logit less the log-sum-exp, all &lt;= 0, computed without
    /// taking a logarithm of a vanishing weight), then f(x) itself: N + 1 slots. A linear model on them is log-linear in
    /// the Gibbs weights.
    /// </summary>
    LogSumExp,
}

/// <summary>
/// Fits a Hopf–Cole LSE layer without labels, its support points placed on training rows by k-means++ seeding on
/// standardised features (the Hopf–Cole construction of THEORY.md section 1 with zero initial data: w_j = y_j / (2t),
/// b_j = -|y_j|^2 / (4t)), and writes each row's Gibbs weights or log-sum-exp features for ML.NET's own trainers.
/// Create it with <c>mlContext.Transforms.HopfColeFeaturizer(...)</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and Output Columns
/// | Column | Type | Description |
/// | -- | -- | -- |
/// | input (`Features`) | Known-sized vector of <xref:System.Single> | The features. |
/// | output (`HopfColeFeatures`) | Vector of <xref:System.Single>: N slots (Gibbs weights) or N + 1 (log-sum-exp) | Slot names "support row r" (the training row each support point sits on), then "log-sum-exp". |
///
/// ### Characteristics
/// | | |
/// | -- | -- |
/// | Does this transform need training? | Yes: it places support points on the rows it is fitted on (unsupervised, seeded) |
/// | Exportable to ONNX | Yes: HjMl's exporter; Model.Save stores the transform through it |
///
/// eps must be &gt; 0. Small eps makes the weights nearly one-hot (nearest support point); large eps spreads them.
/// ]]></format>
/// </remarks>
public sealed class HopfColeFeaturizerEstimator : IEstimator<HopfColeFeaturizerTransformer>
{
    internal HopfColeFeaturizerEstimator(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EngineOptions(options);
        FeaturizerOptions = options;
    }

    /// <summary>The options.</summary>
    public Options FeaturizerOptions { get; }

    /// <summary>Places the support points on rows of <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">The input column is missing or of the wrong type, or a value is not finite.</exception>
    public HopfColeFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Options options = FeaturizerOptions;
        DataViewSchema.Column column = FeatureColumns.Require(input.Schema, options.InputColumnName);
        int d = ((VectorDataViewType)column.Type).Size;
        var values = new List<double>();
        var row = new double[d];
        using (DataViewRowCursor cursor = input.GetRowCursor([column]))
        {
            ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> buffer = default;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                FeatureColumns.Densify(buffer, row, column, cursor.Position);
                values.AddRange(row);
            }
        }

        int rows = values.Count / d;
        if (rows < options.NumberOfSupportPoints)
        {
            throw new ArgumentException($"The data has {rows} rows but the featuriser places {options.NumberOfSupportPoints} support points on distinct rows; use fewer support points.", nameof(input));
        }

        var data = new Dataset([.. values], new double[rows], FeatureColumns.Names(column));
        HopfColeModel model = new HopfColeTrainer(EngineOptions(options)).Fit(data);
        return new HopfColeFeaturizerTransformer(model, options.InputColumnName, options.OutputColumnName, options.Output);
    }

    /// <summary>The input shape with the output column appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        FeatureColumns.Require(inputSchema, FeaturizerOptions.InputColumnName);
        var slotNames = MLNetConstruction.Annotations((AnnotationNames.SlotNames, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Vector));
        return MLNetConstruction.Append(inputSchema, [MLNetConstruction.Vector(FeaturizerOptions.OutputColumnName, NumberDataViewType.Single, slotNames)]);
    }

    // The Hopf–Cole construction on all rows (regression with zero labels: both heads identical, initial data 0).
    private static HopfColeTrainerOptions EngineOptions(Options options)
    {
        var engine = new HopfColeTrainerOptions
        {
            Kind = ModelKind.Regression,
            NumberOfSupportPoints = options.NumberOfSupportPoints,
            Viscosity = options.Viscosity,
            Time = options.Time,
            MaximumEpochs = 0,
            ValidationFraction = 0,
            Seed = options.Seed,
        };
        engine.Validate();
        return engine;
    }

    /// <summary>Options of <see cref="HopfColeFeaturizerEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>The column written. Default "HopfColeFeatures".</summary>
        public string OutputColumnName { get; set; } = "HopfColeFeatures";

        /// <summary>The features read. Default "Features".</summary>
        public string InputColumnName { get; set; } = DefaultColumnNames.Features;

        /// <summary>N, the support points.</summary>
        public int NumberOfSupportPoints { get; set; } = 16;

        /// <summary>eps &gt; 0.</summary>
        public double Viscosity { get; set; } = 1.0;

        /// <summary>t of the Hopf–Cole reading, or null for d/4.</summary>
        public double? Time { get; set; }

        /// <summary>What to write.</summary>
        public HopfColeFeatures Output { get; set; } = HopfColeFeatures.GibbsWeights;

        /// <summary>The seed of the support point placement.</summary>
        public int Seed { get; set; }
    }
}

/// <summary>Writes a fitted <see cref="HopfColeFeaturizerEstimator"/>'s features (see it for the columns).</summary>
public sealed class HopfColeFeaturizerTransformer : ITransformer
{
    internal HopfColeFeaturizerTransformer(HopfColeModel model, string inputColumnName, string outputColumnName, HopfColeFeatures output)
    {
        Model = model;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        Output = output;
    }

    /// <summary>The HjMl model holding the support points (head 0 is the featuriser's layer).</summary>
    public HopfColeModel Model { get; }

    /// <summary>The features read.</summary>
    public string InputColumnName { get; }

    /// <summary>The column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>What is written.</summary>
    public HopfColeFeatures Output { get; }

    /// <summary>The slots written: N, or N + 1 for <see cref="HopfColeFeatures.LogSumExp"/>.</summary>
    public int OutputSize => Model.Layer.NumberOfPieces + (Output == HopfColeFeatures.LogSumExp ? 1 : 0);

    /// <summary>Always true.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The schema <see cref="Transform"/> produces.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new FeaturizerMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends the features column.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new FeaturizerMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new FeaturizerMapping(inputSchema, this);

    /// <summary>Saves, in this transform's place, ML.NET's OnnxTransformer running HjMl's ONNX graph of the layer.</summary>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = FeaturizerSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }

    internal string[] SlotNames()
    {
        string[] names = Model.SupportRows.Take(Model.Layer.NumberOfPieces).Select(row => $"support row {row}").ToArray();
        return Output == HopfColeFeatures.LogSumExp ? [.. names, "log-sum-exp"] : names;
    }
}

/// <summary>The featuriser's column over one input schema.</summary>
internal sealed class FeaturizerMapping : RowMapping
{
    private readonly HopfColeFeaturizerTransformer transformer;
    private readonly int featureIndex;

    public FeaturizerMapping(DataViewSchema inputSchema, HopfColeFeaturizerTransformer transformer)
        : base(inputSchema, [Output(transformer)], [Feature(inputSchema, transformer)])
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

        HopfColeModel model = transformer.Model;
        LseLayer<double> layer = model.Layer;
        DataViewSchema.Column column = input.Schema[featureIndex];
        ValueGetter<VBuffer<float>> getFeatures = input.GetGetter<VBuffer<float>>(column);
        var raw = new double[model.InputDimension];
        var standardised = new double[model.InputDimension];
        var logits = new double[layer.NumberOfPieces * layer.NumberOfHeads];
        var weights = new double[layer.NumberOfPieces];
        VBuffer<float> buffer = default;
        return
        [
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                getFeatures(ref buffer);
                FeatureColumns.Densify(buffer, raw, column, input.Position);
                try
                {
                    model.ValidateFeatures(raw);
                }
                catch (ArgumentException exception)
                {
                    throw new InvalidOperationException($"Row {input.Position + 1}, column '{column.Name}': {exception.Message}", exception);
                }

                model.Scaling.Apply(raw, standardised);
                double lse = layer.GibbsWeights(standardised, 0, weights);
                VBufferEditor<float> editor = VBufferEditor.Create(ref value, transformer.OutputSize);
                if (transformer.Output == HopfColeFeatures.GibbsWeights)
                {
                    for (int j = 0; j < weights.Length; j++)
                    {
                        editor.Values[j] = (float)weights[j];
                    }
                }
                else
                {
                    layer.Logits(standardised, logits);
                    for (int j = 0; j < weights.Length; j++)
                    {
                        editor.Values[j] = (float)(logits[j] - lse);
                    }

                    editor.Values[weights.Length] = (float)lse;
                }

                value = editor.Commit();
            }),
        ];
    }

    private static int Feature(DataViewSchema schema, HopfColeFeaturizerTransformer transformer)
        => FeatureColumns.Require(schema, transformer.InputColumnName, transformer.Model.InputDimension).Index;

    private static DataViewSchema.DetachedColumn Output(HopfColeFeaturizerTransformer transformer)
    {
        string[] names = transformer.SlotNames();
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add(AnnotationNames.SlotNames, new VectorDataViewType(TextDataViewType.Instance, names.Length), (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names.Select(name => name.AsMemory()).ToArray()));
        return new(transformer.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, transformer.OutputSize), annotations.ToAnnotations());
    }
}
