using HjMl.Ensembles;
using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Numerics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// Combines any ML.NET estimators of one task by Gibbs weights over their held-out losses:
/// pi_i = exp(-L_i / eps) / sum_k exp(-L_k / eps), the Hopf–Cole weights of THEORY.md section 3 with the members as
/// support points and their losses as logits. The viscosity eps is the one knob: eps -> 0 keeps the best member alone
/// (winner takes all, the tropical limit of section 2); large eps averages all members equally.
/// Create it with <c>mlContext.{Regression,BinaryClassification,MulticlassClassification}.Trainers.ViscosityEnsemble(...)</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and Output Columns
/// The members' input columns (each member reads the original input), and a `Label` column for the held-out losses.
///
/// | Task | Loss L_i on the held-out rows | Output columns |
/// | -- | -- | -- |
/// | Regression | mean squared error / label variance (1 - R²) | `Score` = sum_i pi_i Score_i |
/// | Binary | log-loss of the members' `Probability` (members must be calibrated) | `Probability` = sum_i pi_i Probability_i, `Score` = Probability - 1/2, `PredictedLabel` = Score > 0 |
/// | Multiclass | log-loss of the members' `Score` probabilities | `Score` = sum_i pi_i Score_i, `PredictedLabel` = the largest slot, as the members' key type |
///
/// ### Characteristics
/// | | |
/// | -- | -- |
/// | Does this estimator need training? | Yes: each member is fitted on 1 - f of the rows, scored on the held-out f, then refitted on all rows |
/// | Exportable to ONNX | The combination is saved through a small ONNX graph in OnnxTransformer; the members save as themselves |
/// ]]></format>
/// </remarks>
public sealed class ViscosityEnsembleEstimator : IEstimator<ViscosityEnsembleTransformer>
{
    private readonly MLContext context;

    internal ViscosityEnsembleEstimator(MLContext context, ModelKind kind, IEnumerable<IEstimator<ITransformer>> estimators, double viscosity, string labelColumnName, double validationFraction, int seed)
        : this(context, kind, new Options { Estimators = estimators?.ToList()!, Viscosity = viscosity, LabelColumnName = labelColumnName, ValidationFraction = validationFraction, Seed = seed })
    {
    }

    internal ViscosityEnsembleEstimator(MLContext context, ModelKind kind, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Estimators, nameof(options.Estimators));
        ArgumentNullException.ThrowIfNull(options.LabelColumnName, nameof(options.LabelColumnName));
        Members = [.. options.Estimators];
        if (Members.Count == 0 || Members.Any(member => member is null))
        {
            throw new ArgumentException("estimators is empty or holds null; an ensemble needs at least one member.", nameof(options));
        }

        if (options.Viscosity is double fixedViscosity && (!(fixedViscosity > 0) || !double.IsFinite(fixedViscosity)))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Viscosity is {fixedViscosity}; eps must be finite and > 0 (or null, to choose it on the held-out rows).");
        }

        ArgumentNullException.ThrowIfNull(options.ViscosityCandidates, nameof(options.ViscosityCandidates));
        if (options.Viscosity is null && (options.ViscosityCandidates.Count == 0 || options.ViscosityCandidates.Any(candidate => !(candidate > 0) || !double.IsFinite(candidate))))
        {
            throw new ArgumentException($"ViscosityCandidates is [{string.Join(", ", options.ViscosityCandidates)}]; choosing eps needs at least one candidate, each finite and > 0.", nameof(options));
        }

        if (!(options.ValidationFraction > 0 && options.ValidationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"ValidationFraction is {options.ValidationFraction}; it must lie in (0, 1).");
        }

        this.context = context;
        Kind = kind;
        Viscosity = options.Viscosity;
        ViscosityCandidates = [.. options.ViscosityCandidates];
        LabelColumnName = options.LabelColumnName;
        ValidationFraction = options.ValidationFraction;
        Seed = options.Seed;
    }

    /// <summary>The members.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Members { get; }

    /// <summary>The task.</summary>
    public ModelKind Kind { get; }

    /// <summary>eps, or null when it is chosen on the held-out rows from <see cref="ViscosityCandidates"/>.</summary>
    public double? Viscosity { get; }

    /// <summary>The eps values tried when <see cref="Viscosity"/> is null.</summary>
    public IReadOnlyList<double> ViscosityCandidates { get; }

    /// <summary>The label column the held-out losses are measured on.</summary>
    public string LabelColumnName { get; }

    /// <summary>The fraction of rows held out to measure the members' losses.</summary>
    public double ValidationFraction { get; }

    /// <summary>The seed of the held-out split.</summary>
    public int Seed { get; }

    /// <summary>
    /// Fits the members on 1 - f of the rows and measures their losses on the held-out f; when <see cref="Viscosity"/>
    /// is null, tries every eps of <see cref="ViscosityCandidates"/> on those held-out rows and keeps the one whose
    /// combined prediction has the least loss (the first on a tie); then refits the members on all rows.
    /// </summary>
    public ViscosityEnsembleTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(input, ValidationFraction, seed: Seed);
        var losses = new double[Members.Count];
        var held = new ITransformer[Members.Count];
        for (int i = 0; i < Members.Count; i++)
        {
            held[i] = Members[i].Fit(split.TrainSet);
            losses[i] = Loss(held[i].Transform(split.TestSet), $"Member {i} ({Members[i].GetType().Name})").Loss;
        }

        double viscosity;
        var search = new List<ViscosityCandidate>();
        if (Viscosity is double given)
        {
            viscosity = given;
        }
        else
        {
            // The combination the transformer applies, scored on the held-out rows by the members fitted without them.
            foreach (double candidate in ViscosityCandidates)
            {
                var trial = new ViscosityEnsembleTransformer(Kind, held, GibbsWeights(losses, candidate), losses, candidate, [], input.Schema);
                (double loss, double metric) = Loss(trial.Transform(split.TestSet), $"The ensemble at eps = {candidate}");
                search.Add(new ViscosityCandidate(candidate, loss, metric));
            }

            viscosity = search.MinBy(candidate => candidate.ValidationLoss)!.Viscosity;
        }

        ITransformer[] members = Members.Select(member => member.Fit(input)).ToArray();
        return new ViscosityEnsembleTransformer(Kind, members, GibbsWeights(losses, viscosity), losses, viscosity, search, input.Schema);
    }

    /// <summary>The first member's output shape (the ensemble writes the same prediction columns).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => Members[0].GetOutputSchema(inputSchema);

    // pi = softmax(-L / eps) with the max shift of every HjMl kernel.
    private static double[] GibbsWeights(double[] losses, double viscosity)
    {
        var weights = new double[losses.Length];
        LogSumExp.GibbsWeights<double>(losses.Select(loss => -loss).ToArray(), viscosity, weights);
        return weights;
    }

    // The held-out loss of a scored view (1 - R^2, or log-loss) and the task's headline metric (R^2, accuracy, micro accuracy).
    private (double Loss, double Metric) Loss(IDataView scored, string what)
    {
        try
        {
            switch (Kind)
            {
                case ModelKind.Regression:
                    RegressionMetrics regression = context.Regression.Evaluate(scored, LabelColumnName);
                    return (1 - regression.RSquared, regression.RSquared);
                case ModelKind.BinaryClassification:
                    CalibratedBinaryClassificationMetrics binary = context.BinaryClassification.Evaluate(scored, LabelColumnName);
                    return (binary.LogLoss, binary.Accuracy);
                default:
                    MulticlassClassificationMetrics multiclass = context.MulticlassClassification.Evaluate(scored, LabelColumnName);
                    return (multiclass.LogLoss, multiclass.MicroAccuracy);
            }
        }
        catch (ArgumentException exception)
        {
            string need = Kind == ModelKind.BinaryClassification ? " (binary members must output Probability: calibrate them)" : string.Empty;
            throw new ArgumentException($"{what} could not be evaluated on the held-out rows{need}: {exception.Message}", nameof(scored), exception);
        }
    }

    /// <summary>Settings of a <see cref="ViscosityEnsembleEstimator"/> (the simple catalog methods set the same ones).</summary>
    public sealed class Options
    {
        /// <summary>The members: any ML.NET estimators (pipelines) of the task, each reading the same input.</summary>
        public IList<IEstimator<ITransformer>> Estimators { get; set; } = [];

        /// <summary>eps &gt; 0; null (the default) chooses it on the held-out rows from <see cref="ViscosityCandidates"/>.</summary>
        public double? Viscosity { get; set; }

        /// <summary>The eps values tried when <see cref="Viscosity"/> is null: 10^-3 to 10^3 in half decades by default.</summary>
        public IList<double> ViscosityCandidates { get; set; } = [.. Enumerable.Range(0, 13).Select(i => Math.Pow(10, -3 + (0.5 * i)))];

        /// <summary>The label the held-out losses are measured on.</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>The fraction of rows held out to measure the losses.</summary>
        public double ValidationFraction { get; set; } = 0.2;

        /// <summary>The seed of the held-out split.</summary>
        public int Seed { get; set; }
    }
}

/// <summary>A fitted viscosity ensemble: the refitted members and their Gibbs weights (see <see cref="ViscosityEnsembleEstimator"/>).</summary>
public sealed class ViscosityEnsembleTransformer : ITransformer
{
    private readonly ITransformer[] members;
    private readonly double[] weights;
    private readonly double[] losses;

    internal ViscosityEnsembleTransformer(ModelKind kind, ITransformer[] members, double[] weights, double[] losses, double viscosity, IReadOnlyList<ViscosityCandidate> search, DataViewSchema fitSchema)
    {
        Kind = kind;
        this.members = members;
        this.weights = weights;
        this.losses = losses;
        Viscosity = viscosity;
        Search = search;
        FitSchema = fitSchema;
    }

    /// <summary>The task.</summary>
    public ModelKind Kind { get; }

    /// <summary>The members, fitted on all rows.</summary>
    public IReadOnlyList<ITransformer> Members => members;

    /// <summary>The Gibbs weights pi_i of the members.</summary>
    public IReadOnlyList<double> Weights => weights;

    /// <summary>The members' held-out losses L_i.</summary>
    public IReadOnlyList<double> Losses => losses;

    /// <summary>The eps the weights were formed with: the one given, or the one chosen on the held-out rows.</summary>
    public double Viscosity { get; }

    /// <summary>Every eps tried when it was chosen on the held-out rows, with the combined prediction's held-out loss and metric; empty when eps was given.</summary>
    public IReadOnlyList<ViscosityCandidate> Search { get; }

    /// <summary>Always true when every member is.</summary>
    public bool IsRowToRowMapper => members.All(member => member.IsRowToRowMapper);

    internal DataViewSchema FitSchema { get; }

    /// <summary>The schema <see cref="Transform"/> produces.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => new EnsembleMapping(inputSchema, this).OutputSchema;

    /// <summary>Appends the combined prediction columns.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new EnsembleMapping(input.Schema, this).Apply(input);
    }

    /// <summary>The row-to-row mapper prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new EnsembleMapping(inputSchema, this);

    /// <summary>Saves the members as themselves and the combination through a small ONNX graph in OnnxTransformer.</summary>
    public void Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using TransformerChain<ITransformer> saved = EnsembleSaveChain.For(this);
        ((ICanSaveModel)saved).Save(ctx);
    }
}

/// <summary>The combined columns over one input schema: each member maps the original input row.</summary>
internal sealed class EnsembleMapping : RowMapping
{
    private readonly ViscosityEnsembleTransformer ensemble;
    private readonly IRowToRowMapper[] mappers;

    public EnsembleMapping(DataViewSchema inputSchema, ViscosityEnsembleTransformer ensemble)
        : this(inputSchema, ensemble, ensemble.Members.Select(member => member.GetRowToRowMapper(inputSchema)).ToArray())
    {
    }

    private EnsembleMapping(DataViewSchema inputSchema, ViscosityEnsembleTransformer ensemble, IRowToRowMapper[] mappers)
        : base(inputSchema, Outputs(ensemble, mappers), Dependencies(mappers))
    {
        this.ensemble = ensemble;
        this.mappers = mappers;
    }

    public override Delegate?[] CreateGetters(DataViewRow input, bool[] activeOutputs)
    {
        var getters = new Delegate?[OutputColumns.Count];
        if (!activeOutputs.Any(active => active))
        {
            return getters;
        }

        string source = ensemble.Kind == ModelKind.BinaryClassification ? DefaultColumnNames.Probability : DefaultColumnNames.Score;
        var memberGetters = new List<Delegate>();
        foreach (IRowToRowMapper mapper in mappers)
        {
            DataViewSchema.Column column = mapper.OutputSchema[source];
            DataViewRow row = mapper.GetRow(input, [column]);
            memberGetters.Add(ensemble.Kind == ModelKind.MulticlassClassification ? row.GetGetter<VBuffer<float>>(column) : row.GetGetter<float>(column));
        }

        int size = ensemble.Kind == ModelKind.MulticlassClassification ? ((VectorDataViewType)mappers[0].OutputSchema[DefaultColumnNames.Score].Type).Size : 1;
        var combined = new double[size];
        long position = -1;
        VBuffer<float> buffer = default;
        double[] Current()
        {
            if (position == input.Position)
            {
                return combined;
            }

            Array.Clear(combined);
            for (int i = 0; i < memberGetters.Count; i++)
            {
                double weight = ensemble.Weights[i];
                if (memberGetters[i] is ValueGetter<float> scalar)
                {
                    float value = 0;
                    scalar(ref value);
                    combined[0] += weight * value;
                }
                else
                {
                    ((ValueGetter<VBuffer<float>>)memberGetters[i])(ref buffer);
                    int k = 0;
                    foreach (float value in buffer.DenseValues())
                    {
                        combined[k++] += weight * value;
                    }
                }
            }

            position = input.Position;
            return combined;
        }

        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)Current()[0]);
                break;
            case ModelKind.BinaryClassification:
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)Current()[0] - 0.5f);
                getters[1] = (ValueGetter<float>)((ref float value) => value = (float)Current()[0]);
                getters[2] = (ValueGetter<bool>)((ref bool value) => value = (float)Current()[0] - 0.5f > 0);
                break;
            default:
                getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    double[] scores = Current();
                    VBufferEditor<float> editor = VBufferEditor.Create(ref value, scores.Length);
                    for (int k = 0; k < scores.Length; k++)
                    {
                        editor.Values[k] = (float)scores[k];
                    }

                    value = editor.Commit();
                });
                getters[1] = (ValueGetter<uint>)((ref uint value) =>
                {
                    double[] scores = Current();
                    var single = scores.Select(score => (float)score).ToArray();
                    value = (uint)Array.IndexOf(single, single.Max()) + 1;
                });
                break;
        }

        for (int i = 0; i < getters.Length; i++)
        {
            getters[i] = activeOutputs[i] ? getters[i] : null;
        }

        return getters;
    }

    private static IEnumerable<int> Dependencies(IRowToRowMapper[] mappers)
    {
        DataViewSchema input = mappers[0].InputSchema;
        return mappers.SelectMany(mapper => mapper.GetDependencies(mapper.OutputSchema)).Select(column => column.Index).Where(index => index < input.Count);
    }

    private static DataViewSchema.DetachedColumn[] Outputs(ViscosityEnsembleTransformer ensemble, IRowToRowMapper[] mappers)
    {
        DataViewSchema first = mappers[0].OutputSchema;
        string[] names = ensemble.Kind switch
        {
            ModelKind.Regression => [DefaultColumnNames.Score],
            ModelKind.BinaryClassification => [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel],
            _ => [DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel],
        };
        foreach (IRowToRowMapper mapper in mappers)
        {
            foreach (string name in names)
            {
                if (mapper.OutputSchema.GetColumnOrNull(name) is not { } column || !column.Type.Equals(first[name].Type))
                {
                    throw new ArgumentException($"Every member must output '{name}' of type {first.GetColumnOrNull(name)?.Type}; one outputs {mapper.OutputSchema.GetColumnOrNull(name)?.Type.ToString() ?? "no such column"}.");
                }
            }
        }

        string kind = PredictionMapping.ScoreKind(ensemble.Kind);
        return names.Select(name =>
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.Add(first[name].Annotations, annotation => annotation is AnnotationNames.SlotNames or AnnotationNames.KeyValues);
            annotations.Add(PredictionMapping.ScoreAnnotations(kind, name), _ => true);
            return new DataViewSchema.DetachedColumn(name, first[name].Type, annotations.ToAnnotations());
        }).ToArray();
    }
}
