using HjMl.Ensembles;
using HjMl.MLNet.Columns;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// An ML.NET member's prediction columns read in the score convention of <see cref="EnsembleRule"/>: the regression
/// Score as it is; for binary classification the margin m = log P - log(1 - P) of the member's Probability (which is
/// why binary members must be calibrated); for multiclass the class scores log P(c) of its Score probabilities, whose
/// softmax gives those probabilities back. Every probability, and 1 - P, is floored at <see cref="ProbabilityFloor"/> first,
/// so a member that is certain (P = 0 or 1) still has a finite score, at most log(1 / floor), about 34.5, in size.
/// </summary>
internal sealed class MemberScores
{
    /// <summary>The least probability read; a certain wrong answer costs about 34.5 nats instead of an infinite log-loss.</summary>
    public const float ProbabilityFloor = 1e-15f;

    private readonly ModelKind kind;
    private readonly string member;
    private readonly DataViewRow row;
    private readonly DataViewSchema.Column column;
    private readonly ValueGetter<float>? scalar;
    private readonly ValueGetter<VBuffer<float>>? vector;
    private VBuffer<float> buffer;

    /// <summary>Reads member <paramref name="member"/>'s <see cref="SourceColumn"/> of <paramref name="row"/>.</summary>
    /// <param name="kind">The task.</param>
    /// <param name="row">A row (or cursor) of the member's output.</param>
    /// <param name="member">The member's name in error messages.</param>
    public MemberScores(ModelKind kind, DataViewRow row, string member)
    {
        this.kind = kind;
        this.member = member;
        this.row = row;
        column = row.Schema[SourceColumn(kind)];
        if (kind == ModelKind.MulticlassClassification)
        {
            vector = row.GetGetter<VBuffer<float>>(column);
        }
        else
        {
            scalar = row.GetGetter<float>(column);
        }
    }

    /// <summary>The column a member's scores are read from: Probability for binary classification, Score otherwise.</summary>
    public static string SourceColumn(ModelKind kind) => kind == ModelKind.BinaryClassification ? DefaultColumnNames.Probability : DefaultColumnNames.Score;

    /// <summary>m = log P - log(1 - P), each of P and 1 - P floored at <see cref="ProbabilityFloor"/>.</summary>
    public static double Margin(float probability)
        => Math.Log(Math.Max(probability, ProbabilityFloor)) - Math.Log(Math.Max(1.0 - probability, ProbabilityFloor));

    /// <summary>log P, P floored at <see cref="ProbabilityFloor"/>.</summary>
    public static double ClassScore(float probability) => Math.Log(Math.Max(probability, ProbabilityFloor));

    /// <summary>Writes the current row's scores (1, or the class count) to <paramref name="destination"/>.</summary>
    /// <exception cref="InvalidOperationException">The member wrote a NaN or infinite value, or a Score of another length.</exception>
    public void Read(Span<double> destination)
    {
        if (scalar is not null)
        {
            float value = 0;
            scalar(ref value);
            destination[0] = kind == ModelKind.BinaryClassification ? Margin(Finite(value)) : Finite(value);
            return;
        }

        vector!(ref buffer);
        if (buffer.Length != destination.Length)
        {
            throw new InvalidOperationException($"Row {row.Position + 1}: {member} wrote a Score of {buffer.Length} classes, but the ensemble's members were fitted with {destination.Length}.");
        }

        // Members write dense probabilities; a sparse vector's missing slots are 0.
        destination.Fill(ClassScore(0));
        ReadOnlySpan<float> values = buffer.GetValues();
        ReadOnlySpan<int> indices = buffer.IsDense ? default : buffer.GetIndices();
        for (int i = 0; i < values.Length; i++)
        {
            destination[buffer.IsDense ? i : indices[i]] = ClassScore(Finite(values[i]));
        }
    }

    private float Finite(float value)
        => float.IsFinite(value)
            ? value
            : throw new InvalidOperationException($"Row {row.Position + 1}: {member} wrote {column.Name} = {value}; the ensemble combines finite outputs only, so features must be finite (as for HjMl's own models).");
}
