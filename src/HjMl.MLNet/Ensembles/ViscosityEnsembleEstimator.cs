using System.Globalization;
using HjMl.Ensembles;
using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// Combines any ML.NET estimators of one task with the engine's viscosity ensemble rule (<see cref="EnsembleRule"/>,
/// the same weighting, eps search and pooling as <see cref="HjMl.Ensembles.ViscosityEnsemble"/>), applied to the members'
/// out-of-fold scores. The viscosity eps is the one knob: eps = 0 keeps the best member alone (winner takes all, the
/// tropical limit of THEORY.md section 2); large eps weighs the members alike.
/// Create it with <c>mlContext.{Regression,BinaryClassification,MulticlassClassification}.Trainers.ViscosityEnsemble(...)</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Input and Output Columns
/// The members' input columns (each member reads the original input), and the label (`Label` by default: Single or
/// Double for regression, Boolean for binary, a key for multiclass) the members' losses are measured on.
///
/// | Task | A member's score s_k (the engine's convention) | Output columns |
/// | -- | -- | -- |
/// | Regression | its `Score` | `Score` = the combined score |
/// | Binary | the margin log P_k - log(1 - P_k) of its `Probability` (members must be calibrated) | `Score` = the combined margin, `Probability` = sigmoid(Score), `PredictedLabel` = Score > 0 |
/// | Multiclass | log P_k(c) of its `Score` probabilities | `Score` = softmax of the combined class scores, `PredictedLabel` = the largest slot, as the members' key type |
///
/// Probabilities, and 1 - P, are floored at 1e-15 before the logarithm, so every score is finite.
///
/// ### Characteristics
/// | | |
/// | -- | -- |
/// | Does this estimator need training? | Yes: each member is fitted once per fold on the other folds and scores the fold; the rule is fitted on those out-of-fold scores; then each member is refitted on all rows |
/// | Exportable to ONNX | The combination is saved as a small ONNX graph in OnnxTransformer computing the same pooling; the members save as themselves |
///
/// ### Algorithm Details
/// L_k is member k's loss on its out-of-fold scores: the log-loss -log P(true class), or for regression the mean squared
/// error over the labels' variance, 1 - R^2. The two combinations (THEORY.md sections 1 to 3; the engine's
/// ViscosityEnsemble remarks give the reasons for each choice):
///
/// * **Gibbs weights, a logarithmic opinion pool.** alpha = softmax(-L / eps), the same on every row, and the combined
///   score sum_k alpha_k s_k(x). For classifiers this is the logarithmic opinion pool P(c | x) proportional to
///   prod_k P_k(c | x)^alpha_k (a weighted geometric mean of the members' probabilities), not the linear pool
///   sum_k alpha_k P_k. With alpha one-hot (eps = 0) the output is the best member's, bit for bit.
/// * **Log-sum-exp pooling.** Per row, each class's log-probabilities are pooled by the log-mean-exp
///   eps log (1/K) sum_k exp(log P_k(c | x) / eps): the most confident member at eps = 0, the logarithmic pool with equal
///   weights at large eps. Regression pools the predictions symmetrically, (softmax_eps + softmin_eps) / 2: the members'
///   midrange at eps = 0, their mean at large eps, eps in standard deviations of the labels.
///
/// eps is chosen as the engine chooses it: every eps of the grid (0 and 31 log-spaced values scaled to the spread of the
/// losses or of the pooled scores, or the user's `ViscosityCandidates`, or the one `Viscosity` given) is tried on the
/// out-of-fold scores and the least loss kept; both combinations are fitted and the one of lower loss kept (Gibbs
/// weights on a tie) unless `Combination` names one. With Gibbs weights the grid holds eps = 0, so the ensemble's
/// out-of-fold loss is never above the best member's.
///
/// **Robust members.** A member's weight is decided by F fits, each scoring the rows it did not see, not by one
/// held-out fit: a run that goes wrong (say, early stopping keeps epoch 1) weighs on its fold's rows only. A run that
/// does worse on its fold than the fold's prior (R^2 < 0, or a negative log-loss reduction), where the same member's
/// runs on most folds do not, has failed rather than measured the member: that fold's rows are left out of the rule's
/// fit (a warning in MLContext.Log names the member and fold), so the member whose refit on all rows is the best is
/// not discarded for it. A member that fails on most folds is measured as it is. The cost is F + 1 fits of every member.
/// ]]></format>
/// </remarks>
public sealed class ViscosityEnsembleEstimator : IEstimator<ViscosityEnsembleTransformer>
{
    /// <summary>The default number of folds, ML.NET's CrossValidate default.</summary>
    public const int DefaultNumberOfFolds = 5;

    private readonly IHost host;
    private readonly int? contextSeed;

    internal ViscosityEnsembleEstimator(IHostEnvironment environment, ModelKind kind, Options options)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Estimators, nameof(options.Estimators));
        ArgumentNullException.ThrowIfNull(options.LabelColumnName, nameof(options.LabelColumnName));
        Members = [.. options.Estimators];
        if (Members.Count == 0 || Members.Any(member => member is null))
        {
            throw new ArgumentException("Estimators is empty or holds null; an ensemble needs at least one member.", nameof(options));
        }

        if (options.Viscosity is double fixedViscosity && (!(fixedViscosity >= 0) || !double.IsFinite(fixedViscosity)))
        {
            throw new ArgumentOutOfRangeException(nameof(options), string.Create(CultureInfo.InvariantCulture, $"Viscosity is {fixedViscosity}; eps must be finite and >= 0 (0 keeps the best member alone), or null to choose it on the out-of-fold scores."));
        }

        if (options.ViscosityCandidates is { } candidates && (candidates.Count == 0 || candidates.Any(candidate => !(candidate >= 0) || !double.IsFinite(candidate))))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"ViscosityCandidates is [{string.Join(", ", candidates)}]; choosing eps needs at least one candidate, each finite and >= 0 (or null for the automatic grid)."), nameof(options));
        }

        if (options.NumberOfFolds < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"NumberOfFolds is {options.NumberOfFolds}; out-of-fold scores need at least 2 folds.");
        }

        host = environment.Register(nameof(ViscosityEnsembleEstimator));
        contextSeed = CatalogEnvironment.Seed(environment);
        Kind = kind;
        Viscosity = options.Viscosity;
        ViscosityCandidates = options.ViscosityCandidates is null ? null : [.. options.ViscosityCandidates];
        Combination = options.Combination;
        LabelColumnName = options.LabelColumnName;
        NumberOfFolds = options.NumberOfFolds;
        Seed = options.Seed;
    }

    /// <summary>The members.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Members { get; }

    /// <summary>The task.</summary>
    public ModelKind Kind { get; }

    /// <summary>eps &gt;= 0, or null when it is chosen on the out-of-fold scores.</summary>
    public double? Viscosity { get; }

    /// <summary>The eps values tried when <see cref="Viscosity"/> is null; null for the engine's automatic grid.</summary>
    public IReadOnlyList<double>? ViscosityCandidates { get; }

    /// <summary>The combination to use; null fits both and keeps the one of lower out-of-fold loss.</summary>
    public EnsembleCombination? Combination { get; }

    /// <summary>The label column the members' losses are measured on.</summary>
    public string LabelColumnName { get; }

    /// <summary>F, the folds of the out-of-fold scores.</summary>
    public int NumberOfFolds { get; }

    /// <summary>The seed of the fold assignment: this, else the MLContext's seed, else one drawn from the context.</summary>
    public int? Seed { get; }

    /// <summary>
    /// For each of the F folds fits every member on the other folds and scores the fold; fits the engine's
    /// <see cref="EnsembleRule"/> on those out-of-fold scores (the eps and combination of least loss, see the remarks);
    /// then refits every member on all rows. The members' per-fold losses, the rule and its eps go to MLContext.Log.
    /// </summary>
    /// <exception cref="ArgumentException">The label column is missing or of the wrong type, the data have fewer rows than folds, or no row has a label.</exception>
    /// <exception cref="InvalidOperationException">A member writes no prediction column, drops rows, or writes a NaN or infinite value.</exception>
    public ViscosityEnsembleTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int seed = Seed ?? contextSeed ?? host.Rand.Next();
        using IChannel channel = host.Start("Fitting");
        var folds = new Folds(input, NumberOfFolds, seed);
        string seedSource = Seed.HasValue ? "Options.Seed" : contextSeed.HasValue ? "the MLContext's seed" : "drawn at random";
        channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture, $"Viscosity ensemble of {Members.Count} {Kind} members: {NumberOfFolds} folds of {folds.Rows} rows, seed {seed} ({seedSource})."));
        HeldOutScores held = HeldOutScores.Collect(Kind, Members, input, LabelColumnName, folds, channel);
        EnsembleRule rule = FitRule(held);
        channel.Info(MessageSensitivity.None, Describe(rule));

        var members = new ITransformer[Members.Count];
        for (int k = 0; k < members.Length; k++)
        {
            members[k] = Members[k].Fit(input);
        }

        return new ViscosityEnsembleTransformer(Kind, members, rule, input.Schema);
    }

    /// <summary>
    /// The input shape with the task's prediction columns (Score; binary also Probability and PredictedLabel; multiclass
    /// PredictedLabel) typed as the first member writes them; every member must write them alike.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The label column is missing, or a member does not write the prediction columns alike.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!inputSchema.Any(column => column.Name == LabelColumnName))
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{LabelColumnName}' is not in the input; the members' losses are measured on it.");
        }

        SchemaShape[] shapes = [.. Members.Select(member => member.GetOutputSchema(inputSchema))];
        var added = new List<SchemaShape.Column>();
        foreach (string name in ViscosityEnsembleTransformer.PredictionColumns(Kind))
        {
            SchemaShape.Column first = shapes[0].FirstOrDefault(column => column.Name == name);
            if (first.Name is null)
            {
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{HeldOutScores.Describe(Members, 0)} writes no '{name}' column; every member of a {Kind} ensemble writes {string.Join(", ", ViscosityEnsembleTransformer.PredictionColumns(Kind))}.");
            }

            for (int k = 1; k < shapes.Length; k++)
            {
                SchemaShape.Column other = shapes[k].FirstOrDefault(column => column.Name == name);
                if (other.Name is null || other.Kind != first.Kind || !other.ItemType.Equals(first.ItemType) || other.IsKey != first.IsKey)
                {
                    throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{HeldOutScores.Describe(Members, k)} writes '{name}' unlike member 0 ({first.ItemType}); every member must write the prediction columns alike.");
                }
            }

            IEnumerable<SchemaShape.Column> kept = first.Annotations.Where(annotation => annotation.Name is AnnotationNames.SlotNames or AnnotationNames.KeyValues);
            SchemaShape annotations = new(kept.Concat(MLNetConstruction.Annotations(
                (AnnotationNames.ScoreColumnKind, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Scalar),
                (AnnotationNames.ScoreValueKind, TextDataViewType.Instance, SchemaShape.Column.VectorKind.Scalar))));
            added.Add(MLNetConstruction.Column(name, first.Kind, first.ItemType, first.IsKey, annotations));
        }

        return MLNetConstruction.Append(inputSchema, added);
    }

    private EnsembleRule FitRule(HeldOutScores held)
    {
        IReadOnlyList<double>? grid = Viscosity is double given ? [given] : ViscosityCandidates;
        return Combination is EnsembleCombination combination
            ? EnsembleRule.Fit(Kind, held.ClassLabels, Members.Count, held.Scores, held.Labels, combination, grid)
            : EnsembleRule.Fit(Kind, held.ClassLabels, Members.Count, held.Scores, held.Labels, grid);
    }

    private static string Describe(EnsembleRule rule)
    {
        string losses = string.Join(", ", rule.ValidationLosses.Select(loss => loss.ToString("G4", CultureInfo.InvariantCulture)));
        string weights = string.Join(", ", rule.GlobalWeights.Select(weight => weight.ToString("G4", CultureInfo.InvariantCulture)));
        return string.Create(CultureInfo.InvariantCulture, $"Out-of-fold losses {losses} (best: member {rule.BestMember}); {rule.Combination} at eps {rule.Viscosity:G4} (of {rule.Search.Count} tried), out-of-fold loss {rule.ValidationLoss:G4}; global weights {weights}.");
    }

    /// <summary>Settings of a <see cref="ViscosityEnsembleEstimator"/> (the simple catalog methods set the same ones).</summary>
    public sealed class Options
    {
        /// <summary>The members: any ML.NET estimators (pipelines) of the task, each reading the same input; binary members must be calibrated.</summary>
        public IList<IEstimator<ITransformer>> Estimators { get; set; } = [];

        /// <summary>eps &gt;= 0 (0 keeps the best member alone); null (the default) chooses it on the out-of-fold scores.</summary>
        public double? Viscosity { get; set; }

        /// <summary>The eps values tried when <see cref="Viscosity"/> is null; null (the default) for the engine's automatic grid.</summary>
        public IList<double>? ViscosityCandidates { get; set; }

        /// <summary>Gibbs weights or log-sum-exp pooling; null (the default) fits both and keeps the one of lower out-of-fold loss.</summary>
        public EnsembleCombination? Combination { get; set; }

        /// <summary>The label the members' losses are measured on.</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>F &gt;= 2, the folds of the out-of-fold scores.</summary>
        public int NumberOfFolds { get; set; } = DefaultNumberOfFolds;

        /// <summary>The seed of the fold assignment; null uses the MLContext's seed (or draws one from it).</summary>
        public int? Seed { get; set; }
    }
}
