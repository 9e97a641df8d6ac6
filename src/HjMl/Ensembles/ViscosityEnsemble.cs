using System.Buffers;
using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Numerics;

namespace HjMl.Ensembles;

/// <summary>
/// A viscosity-controlled ensemble of fitted members (<see cref="EnsembleMember"/>: HjMl models or any scoring function
/// with the same output convention). The viscosity eps plays the part it plays in a layer (THEORY.md sections 2 and 3):
/// eps = 0 is hard selection, large eps uniform averaging, and every prediction reports Gibbs weights over the members
/// saying which carried it.
/// </summary>
/// <remarks>
/// <para>
/// <b>Validation loss.</b> L_k is member k's mean loss on the validation rows: the log-loss -log P(true class) for
/// classifiers (binary P = sigmoid(margin), multiclass P = softmax(class scores), computed with the max-shifted
/// log-sum-exp), and for regression the mean squared error over the labels' variance, 1 - R^2, so that eps is on the
/// same scale whatever the labels' units.
/// </para>
/// <para>
/// <b>Gibbs weights</b> (<see cref="EnsembleCombination.GibbsWeights"/>). alpha = softmax(-L / eps) over members, the
/// Gibbs weights of THEORY.md section 3 with logits -L_k; by the variational form of section 2 alpha maximises
/// -sum_k alpha_k L_k + eps H(alpha): the best member, regularised by entropy. eps = 0 selects the member of least
/// loss exactly (ties split equally), eps -&gt; infinity averages uniformly. The ensemble's score is
/// sum_k alpha_k s_k(x) for every kind: for regression the weighted mean prediction; for a binary margin and for class
/// scores it is the logarithmic opinion pool P(c | x) proportional to prod_k P_k(c | x)^alpha_k, since softmax of a
/// weighted sum of class scores normalises that product. Combining scores rather than probabilities keeps eps = 0
/// exact: with alpha one-hot the ensemble's scores are the best member's scores, bit for bit.
/// </para>
/// <para>
/// <b>Log-sum-exp pooling</b> (<see cref="EnsembleCombination.LogSumExpPooling"/>). Per row, the members' scores are
/// pooled by the log-mean-exp eps log (1/K) sum_k exp(q_k / eps) (THEORY.md section 1, max-shifted, with per-row Gibbs
/// weights pi_k = softmax(q / eps)), which runs from the maximum over members at eps = 0 to their mean as
/// eps -&gt; infinity. What is pooled depends on the kind:
/// classifiers pool each class's log-probability log P_k(c | x) (the members' probabilities' logits, per class), so
/// class c's pooled score is at eps = 0 the most confident member's log-probability for c and at large eps the mean
/// log-probability (the uniform logarithmic pool); the binary margin is the pooled positive minus the pooled negative
/// log-probability. Raw class scores would not do: a member whose scores carry a large constant offset would win every
/// class. The row's member weights are the Gibbs weights of the predicted class's pool.
/// Regression pools the prediction symmetrically: (softmax_eps + softmin_eps) / 2 =
/// (eps log sum_k exp(s_k / eps) - eps log sum_k exp(-s_k / eps)) / 2, the midrange of the members at eps = 0 and their
/// mean at large eps, because a one-sided soft maximum would be biased upward by up to eps log K and at eps = 0 would
/// follow the most extreme member. Its member weights (pi+ + pi-) / 2 are the derivative of the pooled value by each
/// member's prediction. For regression eps is in standard deviations of the validation labels.
/// </para>
/// <para>
/// <b>Choosing eps.</b> <see cref="Fit(IReadOnlyList{EnsembleMember}, Dataset, EnsembleCombination, IReadOnlyList{double}?)"/>
/// evaluates the combination on held-out rows at every eps of a grid (by default 0 and 31 values spaced evenly in
/// log eps from 1e-3 to 1e3 times the spread of the losses, or of the pooled quantities) and keeps the eps of least
/// validation loss (the smallest on ties). Deterministic. With Gibbs weights the grid includes eps = 0, the best member
/// alone, so the chosen ensemble's validation loss is never above the best member's.
/// </para>
/// <para>Immutable and thread-safe. Single-row scoring allocates nothing (scratch on the stack, or rented for very large ensembles).</para>
/// </remarks>
public sealed class ViscosityEnsemble
{
    // Scratch up to this many doubles lives on the stack; beyond, it is rented.
    private const int StackLimit = 1024;

    private readonly EnsembleMember[] members;

    private ViscosityEnsemble(EnsembleMember[] members, EnsembleRule rule)
    {
        this.members = members;
        Rule = rule;
    }

    /// <summary>The members, in the order given.</summary>
    public IReadOnlyList<EnsembleMember> Members => members;

    /// <summary>How the members' scores are combined: combination, eps, losses and weights (shared with the ML.NET plug-in's ensemble).</summary>
    public EnsembleRule Rule { get; }

    /// <summary>K, the number of members.</summary>
    public int NumberOfMembers => members.Length;

    /// <summary>How the members are combined.</summary>
    public EnsembleCombination Combination => Rule.Combination;

    /// <summary>eps.</summary>
    public double Viscosity => Rule.Viscosity;

    /// <summary>What the ensemble predicts (every member's kind).</summary>
    public ModelKind Kind => members[0].Kind;

    /// <summary>d, raw features per row.</summary>
    public int InputDimension => members[0].InputDimension;

    /// <summary>Scores per row: K for multiclass, 1 otherwise (the members' convention).</summary>
    public int OutputLength => members[0].OutputLength;

    /// <summary>Class label values (binary: negative, positive); empty for regression.</summary>
    public IReadOnlyList<double> ClassLabels => Rule.ClassLabels;

    /// <summary>L_k, each member's validation loss (log-loss, or 1 - R^2 for regression).</summary>
    public IReadOnlyList<double> ValidationLosses => Rule.ValidationLosses;

    /// <summary>
    /// The global Gibbs weights softmax(-L / eps) of <see cref="EnsembleCombination.GibbsWeights"/>, the same on every row;
    /// for <see cref="EnsembleCombination.LogSumExpPooling"/> the uniform prior 1/K that pooling starts from (its
    /// per-row weights come with each prediction).
    /// </summary>
    public IReadOnlyList<double> GlobalWeights => Rule.GlobalWeights;

    /// <summary>The index of the member of least validation loss (the first on ties).</summary>
    public int BestMember => Rule.BestMember;

    /// <summary>Regression: the validation labels' standard deviation, the unit of eps for pooling (1 for classifiers).</summary>
    public double LabelScale => Rule.LabelScale;

    /// <summary>Every eps the search tried, in increasing order, with the validation loss and metric there.</summary>
    public IReadOnlyList<ViscosityCandidate> Search => Rule.Search;

    /// <summary>The validation loss at <see cref="Viscosity"/> if the search tried it (it did for the eps <c>Fit</c> chose), else NaN.</summary>
    public double ValidationLoss => Rule.ValidationLoss;

    /// <summary>The validation accuracy or R^2 at <see cref="Viscosity"/> if the search tried it, else NaN.</summary>
    public double ValidationMetric => Rule.ValidationMetric;

    /// <summary>
    /// Fits both combinations (<see cref="Fit(IReadOnlyList{EnsembleMember}, Dataset, EnsembleCombination, IReadOnlyList{double}?)"/>)
    /// and keeps the one of lower validation loss (Gibbs weights on a tie). Its validation loss is at most the best member's.
    /// </summary>
    /// <exception cref="ArgumentException">As the other overloads.</exception>
    public static ViscosityEnsemble Fit(IReadOnlyList<EnsembleMember> members, Dataset validation, IReadOnlyList<double>? viscosities = null)
    {
        ViscosityEnsemble gibbs = Fit(members, validation, EnsembleCombination.GibbsWeights, viscosities);
        ViscosityEnsemble pooled = Fit(members, validation, EnsembleCombination.LogSumExpPooling, viscosities);
        return pooled.ValidationLoss < gibbs.ValidationLoss ? pooled : gibbs;
    }

    /// <summary>
    /// Combines <paramref name="members"/> and chooses eps on the validation rows <paramref name="validation"/>: every
    /// eps of <paramref name="viscosities"/> (or of the automatic grid) is tried and the one of least validation loss kept.
    /// </summary>
    /// <exception cref="ArgumentException">No members; members of different kinds, class labels or input dimensions; a grid value &lt; 0 or NaN; validation data of the wrong width, or a label that is not a class.</exception>
    public static ViscosityEnsemble Fit(IReadOnlyList<EnsembleMember> members, Dataset validation, EnsembleCombination combination, IReadOnlyList<double>? viscosities = null)
    {
        ArgumentNullException.ThrowIfNull(validation);
        return Fit(members, validation.Features, validation.Labels, combination, viscosities);
    }

    /// <summary>As <see cref="Fit(IReadOnlyList{EnsembleMember}, Dataset, EnsembleCombination, IReadOnlyList{double}?)"/>, with the validation rows as raw features (row-major) and labels.</summary>
    /// <exception cref="ArgumentException">As the other overload, and: no validation rows, features that are not one row per label, or a NaN/infinite value.</exception>
    public static ViscosityEnsemble Fit(IReadOnlyList<EnsembleMember> members, ReadOnlySpan<double> features, ReadOnlySpan<double> labels, EnsembleCombination combination, IReadOnlyList<double>? viscosities = null)
    {
        EnsembleMember[] all = ValidateMembers(members);
        EnsembleMember first = all[0];
        int rows = labels.Length;
        if (rows == 0)
        {
            throw new ArgumentException("The validation data are empty: eps is chosen on held-out rows, so at least one is needed.", nameof(labels));
        }

        if (features.Length != rows * first.InputDimension)
        {
            throw new ArgumentException($"features has length {features.Length} but {rows} validation rows of {first.InputDimension} features need {rows * first.InputDimension}.", nameof(features));
        }

        Guard.Finite(features, nameof(features));
        Guard.Finite(labels, nameof(labels));

        // Every member scores every validation row once; the rule's search then only recombines. Layout: [row][member][output].
        var memberScores = new double[rows * all.Length * first.OutputLength];
        ScoreMembers(all, features, rows, first.InputDimension, memberScores);
        return new ViscosityEnsemble(all, EnsembleRule.Fit(first.Kind, first.ClassLabels, all.Length, memberScores, labels, combination, viscosities));
    }

    /// <summary>The same members and losses at another eps (nothing is refitted; the search is kept).</summary>
    /// <exception cref="ArgumentException">eps &lt; 0, NaN or infinite.</exception>
    public ViscosityEnsemble WithViscosity(double viscosity)
    {
        return new ViscosityEnsemble(members, Rule.WithViscosity(viscosity));
    }

    /// <summary>
    /// Writes <see cref="OutputLength"/> scores for one row of raw features (the members' convention) and, if
    /// <paramref name="memberWeights"/> is not empty, the row's K member weights (non-negative, summing to 1): which
    /// members carried the row.
    /// </summary>
    /// <exception cref="ArgumentException">The row has the wrong length or a NaN/infinite value, or a span is too short.</exception>
    /// <exception cref="InvalidOperationException">A member wrote a NaN or infinite score.</exception>
    public void Score(ReadOnlySpan<double> features, Span<double> scores, Span<double> memberWeights = default)
    {
        ValidateRow(features);
        Guard.AtLeast(scores, OutputLength, nameof(scores), "the ensemble's scores");
        if (!memberWeights.IsEmpty)
        {
            Guard.AtLeast(memberWeights, members.Length, nameof(memberWeights), "one weight per member");
        }

        int count = members.Length, outputs = OutputLength;
        int length = (count * outputs) + LogSumExpPooling.WorkLength(count, Rule.ClassLabels.Count);
        double[]? rented = length > StackLimit ? ArrayPool<double>.Shared.Rent(length) : null;
        Span<double> scratch = rented is null ? stackalloc double[length] : rented.AsSpan(0, length);
        try
        {
            Span<double> memberScores = scratch[..(count * outputs)];
            for (int k = 0; k < count; k++)
            {
                members[k].Score(features, memberScores.Slice(k * outputs, outputs));
            }

            Rule.CombineRow(memberScores, scores[..outputs], memberWeights.IsEmpty ? memberWeights : memberWeights[..count], scratch[(count * outputs)..]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The single score of a regression or binary ensemble, and optionally the row's member weights.</summary>
    /// <exception cref="InvalidOperationException">The ensemble is multiclass (it has K scores per row).</exception>
    public double Score(ReadOnlySpan<double> features, Span<double> memberWeights = default)
    {
        if (Kind == ModelKind.MulticlassClassification)
        {
            throw new InvalidOperationException("A multiclass ensemble has one score per class; call Score(features, scores, memberWeights) with a span of the class count.");
        }

        Span<double> one = stackalloc double[1];
        Score(features, one, memberWeights);
        return one[0];
    }

    /// <summary>
    /// Predicts one row like <see cref="HopfColeModel.Predict"/> and writes the row's member weights to
    /// <paramref name="memberWeights"/> (if not empty) and, for multiclass, the class probabilities to <paramref name="probabilities"/>.
    /// </summary>
    public Prediction Predict(ReadOnlySpan<double> features, Span<double> memberWeights = default, Span<double> probabilities = default)
    {
        Span<double> scores = stackalloc double[OutputLength];
        Score(features, scores, memberWeights);
        return Interpret(scores, probabilities);
    }

    /// <summary>Turns <see cref="OutputLength"/> scores into a prediction (see <see cref="HopfColeModel.Interpret"/>).</summary>
    public Prediction Interpret(ReadOnlySpan<double> scores, Span<double> probabilities = default)
        => ScoreInterpretation.Interpret(Kind, Rule.ClassLabels, scores, probabilities);

    /// <summary>
    /// Scores a batch of raw rows (row-major): <see cref="OutputLength"/> scores per row, and K member weights per row
    /// if <paramref name="memberWeights"/> is not empty. Model members score their rows with their own batch path.
    /// </summary>
    public void ScoreBatch(ReadOnlySpan<double> features, Span<double> scores, Span<double> memberWeights = default)
    {
        int d = InputDimension, count = members.Length, outputs = OutputLength;
        if (features.Length % d != 0)
        {
            throw new ArgumentException($"features has length {features.Length}, which is not a whole number of rows of {d}.", nameof(features));
        }

        int rows = features.Length / d;
        Guard.AtLeast(scores, rows * outputs, nameof(scores), $"{rows} rows x {outputs} scores");
        if (!memberWeights.IsEmpty)
        {
            Guard.AtLeast(memberWeights, rows * count, nameof(memberWeights), $"{rows} rows x {count} members");
        }

        Guard.Finite(features, nameof(features));
        var memberScores = new double[rows * count * outputs];
        ScoreMembers(members, features, rows, d, memberScores);
        Rule.CombineRows(memberScores, rows, scores, memberWeights);
    }

    /// <summary>Scores every row of <paramref name="data"/> and computes the metrics a model would get (<see cref="ModelMetrics.FromScores"/>).</summary>
    public ModelMetrics Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Columns != InputDimension)
        {
            throw new ArgumentException($"The data have {data.Columns} feature columns but the ensemble's members read {InputDimension}.", nameof(data));
        }

        var scores = new double[data.Rows * OutputLength];
        ScoreBatch(data.Features, scores);
        return ModelMetrics.FromScores(Kind, Rule.ClassLabels, scores, data.Labels);
    }

    private void ValidateRow(ReadOnlySpan<double> features)
    {
        if (features.Length != InputDimension)
        {
            throw new ArgumentException($"features has length {features.Length} but the ensemble's members read {InputDimension}.", nameof(features));
        }

        Guard.Finite(features, nameof(features));
    }

    private static EnsembleMember[] ValidateMembers(IReadOnlyList<EnsembleMember> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new ArgumentException("members is empty; an ensemble needs at least one member.", nameof(members));
        }

        EnsembleMember[] all = [.. members];
        EnsembleMember first = all[0] ?? throw new ArgumentException("members[0] is null.", nameof(members));
        for (int k = 1; k < all.Length; k++)
        {
            EnsembleMember member = all[k] ?? throw new ArgumentException($"members[{k}] is null.", nameof(members));
            if (member.Kind != first.Kind)
            {
                throw new ArgumentException($"members[{k}] ('{member.Name}') is a {member.Kind} member but members[0] ('{first.Name}') is {first.Kind}; all members must predict the same kind.", nameof(members));
            }

            if (member.InputDimension != first.InputDimension)
            {
                throw new ArgumentException($"members[{k}] ('{member.Name}') reads {member.InputDimension} features but members[0] ('{first.Name}') reads {first.InputDimension}; all members must read the same rows.", nameof(members));
            }

            if (!member.ClassLabels.SequenceEqual(first.ClassLabels))
            {
                throw new ArgumentException($"members[{k}] ('{member.Name}') has class labels [{string.Join(", ", member.ClassLabels)}] but members[0] ('{first.Name}') has [{string.Join(", ", first.ClassLabels)}]; all members must score the same classes in the same order.", nameof(members));
            }

            if (member.Model is HopfColeModel model && first.Model is HopfColeModel reference && !model.FeatureNames.SequenceEqual(reference.FeatureNames))
            {
                throw new ArgumentException($"members[{k}] ('{member.Name}') reads features [{string.Join(", ", model.FeatureNames)}] but members[0] ('{first.Name}') reads [{string.Join(", ", reference.FeatureNames)}]; all members must read the same columns.", nameof(members));
            }
        }

        return all;
    }

    // [row][member][output] scores of every member on every row; model members use their batch path.
    private static void ScoreMembers(EnsembleMember[] members, ReadOnlySpan<double> features, int rows, int d, double[] memberScores)
    {
        int count = members.Length;
        int outputs = members[0].OutputLength;
        var single = new double[rows * outputs];
        for (int k = 0; k < count; k++)
        {
            EnsembleMember member = members[k];
            if (member.Model is HopfColeModel model)
            {
                model.ScoreBatch(features, single);
            }
            else
            {
                for (int row = 0; row < rows; row++)
                {
                    member.Score(features.Slice(row * d, d), single.AsSpan(row * outputs, outputs));
                }
            }

            for (int row = 0; row < rows; row++)
            {
                single.AsSpan(row * outputs, outputs).CopyTo(memberScores.AsSpan(((row * count) + k) * outputs, outputs));
            }
        }
    }
}
