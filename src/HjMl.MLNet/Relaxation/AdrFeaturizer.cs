using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Relaxation;

/// <summary>
/// Fits a relaxation network of advection–diffusion–reaction steps (THEORY.md section 10, arXiv:2502.06739) on an image or
/// signal column against the label, then writes each row's terminal state z_L: the features transported by L learned
/// ADR steps, for ML.NET's own trainers. Create it with <c>mlContext.Transforms.AdrFeaturizer(...)</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and Output Columns
/// | Column | Type | Description |
/// | -- | -- | -- |
/// | input (`Features`) | Known-sized vector of <xref:System.Single> in grid order | The image or signal. |
/// | label (`Label`) | Key, <xref:System.Single>, <xref:System.Double> (class ids 0, 1, ...) or <xref:System.Boolean> | What the steps are trained to separate (fit only). |
/// | output (`AdrFeatures`) | Vector of <xref:System.Single>, as many slots as the input | z_L, on the same grid. |
///
/// ### Characteristics
/// | | |
/// | -- | -- |
/// | Does this transform need training? | Yes: the moments of each step and a softmax read-out, by the discrete adjoint and Adam |
/// | Exportable to ONNX | Yes: Model.Save stores it as OnnxTransformer running HjMl's export (the stencil as Pad, Slice, Mul, Add) |
///
/// ### Algorithm Details
/// z_{k+1} = (1 - omega) z_k + omega sigma(W_k z_k), where W_k is the three-point stencil with reaction M0, advection M1
/// and diffusion M2 per axis (zero beyond the grid): 3 numbers a step on a line (5 on an image) when homogeneous, or that
/// many per site (per tile x tile patch) when heterogeneous, instead of N^2. The grid comes from GridHeight and
/// GridWidth, else from the column's image dimensions, else it is a line. A saved pipeline loads with plain ML.NET as the
/// OnnxTransformer stage, which computes the same column in float32; LoadWithHopfCole gives back this transformer
/// (HjMl's kernels, in double, the same parameters bit for bit).
/// ]]></format>
/// </remarks>
public sealed class AdrFeaturizerEstimator : IEstimator<AdrFeaturizerTransformer>
{
    internal AdrFeaturizerEstimator(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TrainerOptions(options, null).Validate();
        FeaturizerOptions = options;
    }

    /// <summary>The options.</summary>
    public Options FeaturizerOptions { get; }

    /// <summary>Trains the steps on <paramref name="input"/>'s features and labels.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, a value is not finite, or the grid does not fit (the message names the option).</exception>
    public AdrFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Options options = FeaturizerOptions;
        DataViewSchema.Column column = FeatureColumns.Require(input.Schema, options.InputColumnName);
        GridShape grid = GridColumns.Resolve(column, options.GridHeight, options.GridWidth);
        DataViewSchema.Column label = input.Schema.GetColumnOrNull(options.LabelColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(input), $"The label column '{options.LabelColumnName}' is not in the data (option LabelColumnName).");
        int n = grid.Length;
        var features = new List<double>();
        var labels = new List<double>();
        var row = new double[n];
        using (DataViewRowCursor cursor = input.GetRowCursor([column, label]))
        {
            ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(column);
            ValueGetter<double> getLabel = Labels.Getter(cursor, label);
            VBuffer<float> buffer = default;
            double value = 0;
            while (cursor.MoveNext())
            {
                getFeatures(ref buffer);
                FeatureColumns.Densify(buffer, row, column, cursor.Position);
                getLabel(ref value);
                features.AddRange(row);
                labels.Add(value);
            }
        }

        if (labels.Count == 0)
        {
            throw new ArgumentException("The data has no rows; the ADR featuriser needs labelled rows to train its steps.", nameof(input));
        }

        RelaxationFit fit = new RelaxationTrainer(TrainerOptions(options, grid)).Fit([.. features], n, [.. labels]);
        return new AdrFeaturizerTransformer(fit.Network, options.InputColumnName, options.OutputColumnName);
    }

    /// <summary>The input shape with the output column appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        FeatureColumns.Require(inputSchema, FeaturizerOptions.InputColumnName);
        return MLNetConstruction.Append(inputSchema, [MLNetConstruction.Vector(FeaturizerOptions.OutputColumnName, NumberDataViewType.Single)]);
    }

    private static RelaxationTrainerOptions TrainerOptions(Options options, GridShape? grid) => new()
    {
        Depth = options.Depth,
        Mixing = options.Heterogeneous ? RelaxationMixing.HeterogeneousAdr : RelaxationMixing.HomogeneousAdr,
        MomentTile = options.MomentTile,
        Grid = grid,
        Activation = options.Activation,
        Viscosity = options.Viscosity,
        RelaxationFactor = options.RelaxationFactor,
        LearnRelaxationFactor = options.LearnRelaxationFactor,
        Readout = RelaxationReadout.Softmax,
        Epochs = options.Epochs,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Seed = options.Seed,
    };

    /// <summary>Options of <see cref="AdrFeaturizerEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>The column written. Default "AdrFeatures".</summary>
        public string OutputColumnName { get; set; } = "AdrFeatures";

        /// <summary>The image or signal read. Default "Features".</summary>
        public string InputColumnName { get; set; } = DefaultColumnNames.Features;

        /// <summary>The label the steps are trained on. Default "Label".</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>Rows of the grid; null to take it from <see cref="GridWidth"/> or the column's image dimensions.</summary>
        public int? GridHeight { get; set; }

        /// <summary>Sites per grid row; null to take it from <see cref="GridHeight"/> or the column's image dimensions.</summary>
        public int? GridWidth { get; set; }

        /// <summary>L, the ADR steps. Default 2.</summary>
        public int Depth { get; set; } = 2;

        /// <summary>Moments per site (or per <see cref="MomentTile"/> patch) instead of one set a step. Default false.</summary>
        public bool Heterogeneous { get; set; }

        /// <summary>Heterogeneous steps: the side of the patch sharing moments. Default 1.</summary>
        public int MomentTile { get; set; } = 1;

        /// <summary>sigma. Default softplus.</summary>
        public RelaxationActivation Activation { get; set; } = RelaxationActivation.Softplus;

        /// <summary>eps of softplus. Default 1.</summary>
        public double Viscosity { get; set; } = 1.0;

        /// <summary>omega &gt; 0. Default 1.</summary>
        public double RelaxationFactor { get; set; } = 1.0;

        /// <summary>Whether omega is learned. Default false.</summary>
        public bool LearnRelaxationFactor { get; set; }

        /// <summary>Training epochs. Default 10.</summary>
        public int Epochs { get; set; } = 10;

        /// <summary>Rows per Adam step. Default 128.</summary>
        public int BatchSize { get; set; } = 128;

        /// <summary>Adam's step size. Default 0.01.</summary>
        public double LearningRate { get; set; } = 0.01;

        /// <summary>Seed of the initialisation and the batches.</summary>
        public int Seed { get; set; }
    }
}

/// <summary>Writes a fitted <see cref="AdrFeaturizerEstimator"/>'s terminal states (see it for the columns).</summary>
public sealed class AdrFeaturizerTransformer : ITransformer
{
    internal AdrFeaturizerTransformer(RelaxationNetwork network, string inputColumnName, string outputColumnName)
    {
        Network = network;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
    }

    /// <summary>The trained relaxation network (its read-out was the training target; the column is its terminal state).</summary>
    public RelaxationNetwork Network { get; }

    /// <summary>The features read.</summary>
    public string InputColumnName { get; }

    /// <summary>The column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>Always true.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The schema <see cref="Transform"/> produces.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new AdrFeaturizerMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends the terminal state column.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new AdrFeaturizerMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new AdrFeaturizerMapping(inputSchema, this);

    /// <summary>Saves, in this transform's place, ML.NET's OnnxTransformer running HjMl's ONNX graph of the steps.</summary>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = AdrFeaturizerSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }
}

/// <summary>The featuriser's column over one input schema.</summary>
internal sealed class AdrFeaturizerMapping : RowMapping
{
    private readonly AdrFeaturizerTransformer transformer;
    private readonly int featureIndex;

    public AdrFeaturizerMapping(DataViewSchema inputSchema, AdrFeaturizerTransformer transformer)
        : base(inputSchema, [new(transformer.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, transformer.Network.InputDimension))], [Feature(inputSchema, transformer)])
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

        RelaxationNetwork network = transformer.Network;
        int n = network.InputDimension;
        DataViewSchema.Column column = input.Schema[featureIndex];
        ValueGetter<VBuffer<float>> getFeatures = input.GetGetter<VBuffer<float>>(column);
        var raw = new double[n];
        var terminal = new double[n];
        (double[] states, double[] arguments) = network.TransportWorkspace();
        VBuffer<float> buffer = default;
        return
        [
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                getFeatures(ref buffer);
                FeatureColumns.Densify(buffer, raw, column, input.Position);
                try
                {
                    Guard.Finite<double>(raw, "features");
                    network.Transport(raw, terminal, states, arguments);
                }
                catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
                {
                    throw new InvalidOperationException($"Row {input.Position + 1}, column '{column.Name}': {exception.Message}", exception);
                }

                VBufferEditor<float> editor = VBufferEditor.Create(ref value, n);
                for (int q = 0; q < n; q++)
                {
                    editor.Values[q] = (float)terminal[q];
                }

                value = editor.Commit();
            }),
        ];
    }

    private static int Feature(DataViewSchema schema, AdrFeaturizerTransformer transformer)
        => FeatureColumns.Require(schema, transformer.InputColumnName, transformer.Network.InputDimension).Index;
}
