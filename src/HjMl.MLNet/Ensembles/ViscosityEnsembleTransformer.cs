using System.Numerics.Tensors;
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
/// A fitted viscosity ensemble: the members refitted on all rows and the engine's <see cref="EnsembleRule"/> fitted on
/// their out-of-fold scores (see <see cref="ViscosityEnsembleEstimator"/>). Each row's member outputs are read in the
/// rule's convention and combined by <see cref="EnsembleRule.Combine"/>, which allocates nothing per row.
/// </summary>
public sealed class ViscosityEnsembleTransformer : ITransformer
{
    private readonly ITransformer[] members;

    internal ViscosityEnsembleTransformer(ModelKind kind, ITransformer[] members, EnsembleRule rule, DataViewSchema fitSchema)
    {
        Kind = kind;
        this.members = members;
        Rule = rule;
        FitSchema = fitSchema;
    }

    /// <summary>The task.</summary>
    public ModelKind Kind { get; }

    /// <summary>The members, fitted on all rows.</summary>
    public IReadOnlyList<ITransformer> Members => members;

    /// <summary>How the members' scores are combined: the engine's rule, with its losses, eps search and weights.</summary>
    public EnsembleRule Rule { get; }

    /// <summary>Gibbs weights (a logarithmic opinion pool) or log-sum-exp pooling.</summary>
    public EnsembleCombination Combination => Rule.Combination;

    /// <summary>The eps of the combination: the one given, or the one chosen on the out-of-fold scores.</summary>
    public double Viscosity => Rule.Viscosity;

    /// <summary>
    /// The global Gibbs weights softmax(-L / eps) of <see cref="EnsembleCombination.GibbsWeights"/>; for
    /// <see cref="EnsembleCombination.LogSumExpPooling"/> the uniform prior 1/K (its weights differ row by row).
    /// </summary>
    public IReadOnlyList<double> Weights => Rule.GlobalWeights;

    /// <summary>The members' out-of-fold losses L_k (log-loss, or 1 - R^2 for regression).</summary>
    public IReadOnlyList<double> Losses => Rule.ValidationLosses;

    /// <summary>Every eps tried (the one given, when eps was given) with the combination's out-of-fold loss and metric there.</summary>
    public IReadOnlyList<ViscosityCandidate> Search => Rule.Search;

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

    /// <summary>The columns an ensemble of <paramref name="kind"/> writes, in order.</summary>
    internal static string[] PredictionColumns(ModelKind kind) => kind switch
    {
        ModelKind.Regression => [DefaultColumnNames.Score],
        ModelKind.BinaryClassification => [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel],
        _ => [DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel],
    };
}

/// <summary>The combined columns over one input schema: each member maps the original input row.</summary>
internal sealed class EnsembleMapping : RowMapping
{
    private readonly ViscosityEnsembleTransformer ensemble;
    private readonly IRowToRowMapper[] mappers;

    public EnsembleMapping(DataViewSchema inputSchema, ViscosityEnsembleTransformer ensemble)
        : this(inputSchema, ensemble, [.. ensemble.Members.Select(member => member.GetRowToRowMapper(inputSchema))])
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

        var row = new CombinedRow(ensemble, mappers, input);
        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)row.Current()[0]);
                break;
            case ModelKind.BinaryClassification:
                // Score is the combined margin; ML.NET's PredictedLabel is Score > 0 on the float Score.
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)row.Current()[0]);
                getters[1] = (ValueGetter<float>)((ref float value) => value = (float)(1 / (1 + Math.Exp(-row.Current()[0]))));
                getters[2] = (ValueGetter<bool>)((ref bool value) => value = (float)row.Current()[0] > 0);
                break;
            default:
                getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    ReadOnlySpan<float> probabilities = row.Probabilities();
                    VBufferEditor<float> editor = VBufferEditor.Create(ref value, probabilities.Length);
                    probabilities.CopyTo(editor.Values);
                    value = editor.Commit();
                });
                getters[1] = (ValueGetter<uint>)((ref uint value) => value = (uint)TensorPrimitives.IndexOfMax(row.Probabilities()) + 1);
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
        string[] names = ViscosityEnsembleTransformer.PredictionColumns(ensemble.Kind);
        int outputs = ensemble.Rule.OutputLength;
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

        if (first[DefaultColumnNames.Score].Type is VectorDataViewType { Size: var size } && size != outputs)
        {
            throw new ArgumentException($"The members write a Score of {size} classes but the ensemble was fitted with {outputs}.");
        }

        string kind = PredictionMapping.ScoreKind(ensemble.Kind);
        return [.. names.Select(name =>
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.Add(first[name].Annotations, annotation => annotation is AnnotationNames.SlotNames or AnnotationNames.KeyValues);
            annotations.Add(PredictionMapping.ScoreAnnotations(kind, name), _ => true);
            return new DataViewSchema.DetachedColumn(name, first[name].Type, annotations.ToAnnotations());
        })];
    }

    /// <summary>One cursor's combination of the current row, computed once however many columns are read.</summary>
    private sealed class CombinedRow
    {
        private readonly ViscosityEnsembleTransformer ensemble;
        private readonly DataViewRow input;
        private readonly MemberScores[] readers;
        private readonly double[] memberScores;
        private readonly double[] combined;
        private readonly double[] softmax;
        private readonly float[] probabilities;
        private long position = -1;
        private long softmaxPosition = -1;

        public CombinedRow(ViscosityEnsembleTransformer ensemble, IRowToRowMapper[] mappers, DataViewRow input)
        {
            this.ensemble = ensemble;
            this.input = input;
            string source = MemberScores.SourceColumn(ensemble.Kind);
            readers = new MemberScores[mappers.Length];
            for (int k = 0; k < mappers.Length; k++)
            {
                DataViewSchema.Column column = mappers[k].OutputSchema[source];
                readers[k] = new MemberScores(ensemble.Kind, mappers[k].GetRow(input, [column]), $"member {k} ({ensemble.Members[k].GetType().Name.Split('`')[0]})");
            }

            int outputs = ensemble.Rule.OutputLength;
            memberScores = new double[mappers.Length * outputs];
            combined = new double[outputs];
            softmax = new double[outputs];
            probabilities = new float[outputs];
        }

        /// <summary>The rule's combined scores of the current row.</summary>
        public double[] Current()
        {
            if (position != input.Position)
            {
                int outputs = combined.Length;
                for (int k = 0; k < readers.Length; k++)
                {
                    readers[k].Read(memberScores.AsSpan(k * outputs, outputs));
                }

                ensemble.Rule.Combine(memberScores, combined);
                position = input.Position;
            }

            return combined;
        }

        /// <summary>Multiclass: softmax of the combined class scores (the class probabilities), in float.</summary>
        public ReadOnlySpan<float> Probabilities()
        {
            double[] scores = Current();
            if (softmaxPosition != position)
            {
                // softmax(s) is the Gibbs weights of the class scores at eps = 1, with the engine's max shift.
                LogSumExp.GibbsWeights<double>(scores, 1.0, softmax);
                for (int c = 0; c < scores.Length; c++)
                {
                    probabilities[c] = (float)softmax[c];
                }

                softmaxPosition = position;
            }

            return probabilities;
        }
    }
}
