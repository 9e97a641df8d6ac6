using HjMl.Models;

namespace HjMl.Ensembles;

/// <summary>
/// A scoring function with <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s convention: it writes
/// 1 score for regression (the value) and binary classification (the margin, positive class iff &gt; 0, probability
/// sigmoid(margin)), or K class scores for multiclass (probabilities softmax(scores)), for one row of raw features.
/// </summary>
/// <param name="features">One row of raw features.</param>
/// <param name="scores">Receives the scores (its length is the member's <see cref="EnsembleMember.OutputLength"/>).</param>
public delegate void MemberScorer(ReadOnlySpan<double> features, Span<double> scores);

/// <summary>
/// One member of a <see cref="ViscosityEnsemble"/>: a fitted <see cref="HopfColeModel"/>, or any scoring function a user
/// supplies with the same output convention (<see cref="MemberScorer"/>). Immutable; thread-safe if its scorer is.
/// </summary>
public sealed class EnsembleMember
{
    private readonly double[] classLabels;
    private readonly MemberScorer scorer;

    private EnsembleMember(string name, ModelKind kind, int inputDimension, double[] classLabels, MemberScorer scorer, HopfColeModel? model)
    {
        Name = name;
        Kind = kind;
        InputDimension = inputDimension;
        this.classLabels = classLabels;
        this.scorer = scorer;
        Model = model;
    }

    /// <summary>A name for reports.</summary>
    public string Name { get; }

    /// <summary>What the member predicts.</summary>
    public ModelKind Kind { get; }

    /// <summary>d, raw features per row.</summary>
    public int InputDimension { get; }

    /// <summary>Class label values (binary: negative, positive); empty for regression.</summary>
    public IReadOnlyList<double> ClassLabels => classLabels;

    /// <summary>Scores per row: K for multiclass, 1 otherwise.</summary>
    public int OutputLength => ScoreInterpretation.OutputLength(Kind, classLabels.Length);

    /// <summary>The model, for a member made by <see cref="FromModel"/>; null for a user's function.</summary>
    public HopfColeModel? Model { get; }

    /// <summary>A member that scores with <paramref name="model"/>.</summary>
    /// <param name="model">A fitted model.</param>
    /// <param name="name">A name for reports; by default the model's kind, width and eps.</param>
    public static EnsembleMember FromModel(HopfColeModel model, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string label = name ?? FormattableString.Invariant($"{model.Kind} width {model.Layer.NumberOfPieces} eps {model.Viscosity:G3}");
        return new EnsembleMember(label, model.Kind, model.InputDimension, [.. model.ClassLabels], model.Score, model);
    }

    /// <summary>A member that scores with a user's function.</summary>
    /// <param name="name">A name for reports (not empty).</param>
    /// <param name="kind">How its scores are read.</param>
    /// <param name="inputDimension">d, raw features per row (at least 1).</param>
    /// <param name="classLabels">Class label values: none for regression, negative then positive for binary, at least 2 distinct for multiclass.</param>
    /// <param name="scorer">The function; it must write finite scores.</param>
    /// <exception cref="ArgumentException">The name is empty, d &lt; 1, or the class labels do not suit the kind.</exception>
    public static EnsembleMember FromFunction(string name, ModelKind kind, int inputDimension, IReadOnlyList<double> classLabels, MemberScorer scorer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(classLabels);
        ArgumentNullException.ThrowIfNull(scorer);
        if (inputDimension < 1)
        {
            throw new ArgumentException($"inputDimension is {inputDimension}; a member reads at least one feature.", nameof(inputDimension));
        }

        int expected = kind switch
        {
            ModelKind.Regression => 0,
            ModelKind.BinaryClassification => 2,
            _ => Math.Max(2, classLabels.Count),
        };
        if (classLabels.Count != expected || classLabels.Distinct().Count() != classLabels.Count || classLabels.Any(label => !double.IsFinite(label)))
        {
            throw new ArgumentException($"classLabels has {classLabels.Count} values; a {kind} member needs {(kind == ModelKind.MulticlassClassification ? "at least 2" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture))} distinct finite labels{(kind == ModelKind.BinaryClassification ? " (negative, then positive)" : string.Empty)}.", nameof(classLabels));
        }

        return new EnsembleMember(name, kind, inputDimension, [.. classLabels], scorer, null);
    }

    /// <summary>Writes the member's <see cref="OutputLength"/> scores for one row of raw features.</summary>
    /// <exception cref="ArgumentException">The row has the wrong length or <paramref name="scores"/> is too short.</exception>
    /// <exception cref="InvalidOperationException">The member wrote a NaN or infinite score.</exception>
    public void Score(ReadOnlySpan<double> features, Span<double> scores)
    {
        if (features.Length != InputDimension)
        {
            throw new ArgumentException($"features has length {features.Length} but member '{Name}' reads {InputDimension}.", nameof(features));
        }

        if (scores.Length < OutputLength)
        {
            throw new ArgumentException($"scores has length {scores.Length} but member '{Name}' writes {OutputLength}.", nameof(scores));
        }

        scorer(features, scores[..OutputLength]);
        for (int c = 0; c < OutputLength; c++)
        {
            if (!double.IsFinite(scores[c]))
            {
                throw new InvalidOperationException($"Member '{Name}' wrote score {c} = {scores[c]}; scores must be finite.");
            }
        }
    }
}
