using System.Numerics.Tensors;
using HjMl.Models;

namespace HjMl.Ensembles;

/// <summary>
/// How a viscosity ensemble turns its members' scores into one prediction, independent of what the members are: the
/// combination (Gibbs weights or log-sum-exp pooling), the eps chosen on held-out rows, the members' validation losses
/// and the weights they give. <see cref="ViscosityEnsemble"/> applies it to HjMl models and user functions; the ML.NET
/// plug-in applies the same rule to any ML.NET estimators, so both are one algorithm (formulas in
/// <see cref="ViscosityEnsemble"/>'s remarks, THEORY.md sections 1 to 3).
/// </summary>
/// <remarks>
/// Member scores follow <see cref="EnsembleMember"/>'s convention: one score per row for regression (the value) and
/// binary classification (the margin, log P(positive) - log P(negative)), K class scores for multiclass (any scores
/// whose softmax is the class probabilities, for example log-probabilities). A row's member scores are laid out
/// member-major: member k's outputs at [k * outputs, (k + 1) * outputs). Immutable and thread-safe;
/// <see cref="Combine"/> allocates nothing for ensembles of up to about a hundred members.
/// </remarks>
public sealed class EnsembleRule
{
    // Scratch up to this many doubles lives on the stack; beyond, it is rented.
    private const int StackLimit = 1024;

    private readonly double[] losses;
    private readonly double[] globalWeights;
    private readonly double[] classLabels;
    private readonly ViscosityCandidate[] search;

    private EnsembleRule(ModelKind kind, double[] classLabels, double[] losses, EnsembleCombination combination, double viscosity, double labelScale, ViscosityCandidate[] search)
    {
        Kind = kind;
        this.classLabels = classLabels;
        this.losses = losses;
        this.search = search;
        Combination = combination;
        Viscosity = viscosity;
        LabelScale = labelScale;
        globalWeights = combination == EnsembleCombination.LogSumExpPooling ? LogSumExpPooling.UniformWeights(losses.Length) : GibbsWeighting.Weights(losses, viscosity);
        BestMember = TensorPrimitives.IndexOfMin<double>(losses);
    }

    /// <summary>What the members predict.</summary>
    public ModelKind Kind { get; }

    /// <summary>Class label values (binary: negative, positive); empty for regression.</summary>
    public IReadOnlyList<double> ClassLabels => classLabels;

    /// <summary>K, the number of members.</summary>
    public int NumberOfMembers => losses.Length;

    /// <summary>Scores per row: the class count for multiclass, 1 otherwise.</summary>
    public int OutputLength => ScoreInterpretation.OutputLength(Kind, classLabels.Length);

    /// <summary>How the members are combined.</summary>
    public EnsembleCombination Combination { get; }

    /// <summary>eps.</summary>
    public double Viscosity { get; }

    /// <summary>L_k, each member's validation loss (log-loss, or 1 - R^2 for regression).</summary>
    public IReadOnlyList<double> ValidationLosses => losses;

    /// <summary>
    /// The global Gibbs weights softmax(-L / eps) of <see cref="EnsembleCombination.GibbsWeights"/>; for
    /// <see cref="EnsembleCombination.LogSumExpPooling"/> the uniform prior 1/K (its per-row weights come from <see cref="Combine"/>).
    /// </summary>
    public IReadOnlyList<double> GlobalWeights => globalWeights;

    /// <summary>The index of the member of least validation loss (the first on ties).</summary>
    public int BestMember { get; }

    /// <summary>Regression: the validation labels' standard deviation, the unit of eps for pooling (1 for classifiers).</summary>
    public double LabelScale { get; }

    /// <summary>Every eps the search tried, in increasing order, with the validation loss and metric there.</summary>
    public IReadOnlyList<ViscosityCandidate> Search => search;

    /// <summary>The validation loss at <see cref="Viscosity"/> if the search tried it, else NaN.</summary>
    public double ValidationLoss => search.FirstOrDefault(candidate => candidate.Viscosity == Viscosity)?.ValidationLoss ?? double.NaN;

    /// <summary>The validation accuracy or R^2 at <see cref="Viscosity"/> if the search tried it, else NaN.</summary>
    public double ValidationMetric => search.FirstOrDefault(candidate => candidate.Viscosity == Viscosity)?.ValidationMetric ?? double.NaN;

    // Scratch Combine needs (pooling's; Gibbs weights need none).
    private int WorkLength => LogSumExpPooling.WorkLength(losses.Length, classLabels.Length);

    /// <summary>
    /// Fits both combinations (<see cref="Fit(ModelKind, IReadOnlyList{double}, int, ReadOnlySpan{double}, ReadOnlySpan{double}, EnsembleCombination, IReadOnlyList{double}?)"/>)
    /// and keeps the one of lower validation loss (Gibbs weights on a tie), so its validation loss is at most the best member's.
    /// </summary>
    public static EnsembleRule Fit(ModelKind kind, IReadOnlyList<double> classLabels, int members, ReadOnlySpan<double> memberScores, ReadOnlySpan<double> labels, IReadOnlyList<double>? viscosities = null)
    {
        EnsembleRule gibbs = Fit(kind, classLabels, members, memberScores, labels, EnsembleCombination.GibbsWeights, viscosities);
        EnsembleRule pooled = Fit(kind, classLabels, members, memberScores, labels, EnsembleCombination.LogSumExpPooling, viscosities);
        return pooled.ValidationLoss < gibbs.ValidationLoss ? pooled : gibbs;
    }

    /// <summary>
    /// Chooses eps for <paramref name="combination"/> from the members' scores on held-out rows: every eps of
    /// <paramref name="viscosities"/> (or of the automatic grid: 0 and 31 values spaced evenly in log eps from 1e-3 to
    /// 1e3 times the spread of the losses, or of the pooled quantities) is tried and the one of least validation loss
    /// kept (the smallest on ties). Deterministic.
    /// </summary>
    /// <param name="kind">What the members predict.</param>
    /// <param name="classLabels">Class label values: none for regression, negative then positive for binary, the classes for multiclass.</param>
    /// <param name="members">K, the number of members.</param>
    /// <param name="memberScores">Rows x K x outputs scores ([row][member][output]), finite.</param>
    /// <param name="labels">The held-out rows' labels (class label values, or the regression targets).</param>
    /// <param name="combination">How the members are combined.</param>
    /// <param name="viscosities">The eps grid; null for the automatic one.</param>
    /// <exception cref="ArgumentException">No members or rows, scores that are not rows x K x outputs or not finite, a label that is not a class, or a grid value &lt; 0, NaN or infinite.</exception>
    public static EnsembleRule Fit(ModelKind kind, IReadOnlyList<double> classLabels, int members, ReadOnlySpan<double> memberScores, ReadOnlySpan<double> labels, EnsembleCombination combination, IReadOnlyList<double>? viscosities = null)
    {
        ArgumentNullException.ThrowIfNull(classLabels);
        if (members < 1)
        {
            throw new ArgumentException($"members is {members}; an ensemble needs at least one member.", nameof(members));
        }

        int rows = labels.Length;
        if (rows == 0)
        {
            throw new ArgumentException("The validation data are empty: eps is chosen on held-out rows, so at least one is needed.", nameof(labels));
        }

        double[] classes = [.. classLabels];
        int outputs = ScoreInterpretation.OutputLength(kind, classes.Length);
        if (memberScores.Length != rows * members * outputs)
        {
            throw new ArgumentException($"memberScores has length {memberScores.Length} but {rows} rows x {members} members x {outputs} scores need {rows * members * outputs}.", nameof(memberScores));
        }

        Guard.Finite(memberScores, nameof(memberScores));
        Guard.Finite(labels, nameof(labels));
        int[] truth = ViscositySearch.TruthIndices(kind, classes, labels);
        double[] grid = viscosities is null ? [] : ViscositySearch.ValidateGrid(viscosities);
        double labelScale = kind == ModelKind.Regression ? ViscositySearch.LabelDeviation(labels) : 1;
        double[] scores = memberScores.ToArray();
        var memberLosses = new double[members];
        var single = new double[rows * outputs];
        for (int k = 0; k < members; k++)
        {
            for (int row = 0; row < rows; row++)
            {
                scores.AsSpan(((row * members) + k) * outputs, outputs).CopyTo(single.AsSpan(row * outputs, outputs));
            }

            memberLosses[k] = ViscositySearch.Loss(kind, single, labels, truth, labelScale);
        }

        if (grid.Length == 0)
        {
            grid = ViscositySearch.AutomaticGrid(combination, memberLosses, scores, rows, members, outputs, kind, labelScale);
        }

        (ViscosityCandidate[] candidates, int chosen) = ViscositySearch.Run(
            grid,
            (viscosity, ensembleScores) => new EnsembleRule(kind, classes, memberLosses, combination, viscosity, labelScale, []).CombineRows(scores, rows, ensembleScores),
            kind,
            classes,
            labels,
            truth,
            labelScale,
            outputs);
        return new EnsembleRule(kind, classes, memberLosses, combination, grid[chosen], labelScale, candidates);
    }

    /// <summary>
    /// A rule from its recorded state (for example a saved ensemble's), with the weights it had: the members'
    /// validation losses, the combination, eps and label scale, and the search that chose eps (may be empty).
    /// </summary>
    /// <exception cref="ArgumentException">No losses, a loss that is NaN, eps or the label scale out of range, class labels that do not suit the kind.</exception>
    public static EnsembleRule Restore(ModelKind kind, IReadOnlyList<double> classLabels, IReadOnlyList<double> validationLosses, EnsembleCombination combination, double viscosity, double labelScale, IReadOnlyList<ViscosityCandidate> search)
    {
        ArgumentNullException.ThrowIfNull(classLabels);
        ArgumentNullException.ThrowIfNull(validationLosses);
        ArgumentNullException.ThrowIfNull(search);
        if (validationLosses.Count == 0 || validationLosses.Any(double.IsNaN))
        {
            throw new ArgumentException($"validationLosses has {validationLosses.Count} values{(validationLosses.Any(double.IsNaN) ? ", one of them NaN" : string.Empty)}; a rule needs one loss per member, none NaN.", nameof(validationLosses));
        }

        Guard.Viscosity(viscosity, nameof(viscosity));
        if (!(labelScale > 0) || !double.IsFinite(labelScale))
        {
            throw new ArgumentException($"labelScale is {labelScale}; it must be finite and > 0.", nameof(labelScale));
        }

        int expected = kind switch { ModelKind.Regression => 0, ModelKind.BinaryClassification => 2, _ => Math.Max(2, classLabels.Count) };
        if (classLabels.Count != expected || classLabels.Distinct().Count() != classLabels.Count || classLabels.Any(label => !double.IsFinite(label)))
        {
            throw new ArgumentException($"classLabels has {classLabels.Count} values; a {kind} rule needs {expected} distinct finite labels (at least 2 for multiclass).", nameof(classLabels));
        }

        if (!Enum.IsDefined(combination))
        {
            throw new ArgumentException($"combination is {combination}, which is not an EnsembleCombination.", nameof(combination));
        }

        return new EnsembleRule(kind, [.. classLabels], [.. validationLosses], combination, viscosity, labelScale, [.. search]);
    }

    /// <summary>The same losses and combination at another eps (the search is kept).</summary>
    /// <exception cref="ArgumentException">eps &lt; 0, NaN or infinite.</exception>
    public EnsembleRule WithViscosity(double viscosity)
    {
        Guard.Viscosity(viscosity, nameof(viscosity));
        return new EnsembleRule(Kind, classLabels, losses, Combination, viscosity, LabelScale, search);
    }

    /// <summary>
    /// One row: the members' scores (K x outputs, member-major) to the ensemble's <see cref="OutputLength"/> scores and,
    /// if <paramref name="memberWeights"/> is not empty, the row's K member weights (non-negative, summing to 1).
    /// </summary>
    /// <exception cref="ArgumentException">A span of the wrong length, or a member score that is NaN or infinite.</exception>
    public void Combine(ReadOnlySpan<double> memberScores, Span<double> scores, Span<double> memberWeights = default)
    {
        int count = losses.Length, outputs = OutputLength;
        if (memberScores.Length != count * outputs)
        {
            throw new ArgumentException($"memberScores has length {memberScores.Length} but {count} members x {outputs} scores need {count * outputs}.", nameof(memberScores));
        }

        Guard.Finite(memberScores, nameof(memberScores));
        Guard.AtLeast(scores, outputs, nameof(scores), "the ensemble's scores");
        if (!memberWeights.IsEmpty)
        {
            Guard.AtLeast(memberWeights, count, nameof(memberWeights), "one weight per member");
        }

        int length = WorkLength;
        double[]? rented = length > StackLimit ? System.Buffers.ArrayPool<double>.Shared.Rent(length) : null;
        Span<double> work = rented is null ? stackalloc double[length] : rented.AsSpan(0, length);
        try
        {
            CombineRow(memberScores, scores[..outputs], memberWeights.IsEmpty ? memberWeights : memberWeights[..count], work);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Rows of member scores ([row][member][output]) to rows of ensemble scores and member weights.</summary>
    internal void CombineRows(ReadOnlySpan<double> memberScores, int rows, Span<double> scores, Span<double> memberWeights = default)
    {
        int count = losses.Length, outputs = OutputLength;
        var work = new double[WorkLength];
        for (int row = 0; row < rows; row++)
        {
            CombineRow(
                memberScores.Slice(row * count * outputs, count * outputs),
                scores.Slice(row * outputs, outputs),
                memberWeights.IsEmpty ? memberWeights : memberWeights.Slice(row * count, count),
                work);
        }
    }

    /// <summary>One row, unchecked, with the caller's scratch of <see cref="LogSumExpPooling.WorkLength"/> doubles.</summary>
    internal void CombineRow(ReadOnlySpan<double> memberScores, Span<double> scores, Span<double> memberWeights, Span<double> work)
    {
        if (Combination == EnsembleCombination.GibbsWeights)
        {
            GibbsWeighting.Combine(globalWeights, memberScores, scores, memberWeights);
        }
        else
        {
            LogSumExpPooling.Combine(Kind, Viscosity, LabelScale, losses.Length, classLabels.Length, memberScores, scores, memberWeights, work);
        }
    }
}
