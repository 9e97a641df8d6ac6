using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using HjMl.MLNet.Attribution;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Scoring;

/// <summary>
/// Which columns of a pipeline's output a response reports, and the names that go with them, worked out once per
/// served model: the prediction (<c>label</c> from PredictedLabel, <c>score</c>, <c>probability</c>, or for a vector
/// Score the <c>probabilities</c> by class) and, when explaining, GibbsAttribution's columns under <c>explanation</c>.
/// </summary>
internal sealed class OutputLayout
{
    public OutputLayout(DataViewSchema output, bool explain)
    {
        Label = output.GetColumnOrNull("PredictedLabel");
        if (Label is { } label && label.Type is KeyDataViewType)
        {
            LabelValues = KeyValues(label);
        }

        Score = output.GetColumnOrNull("Score") ?? throw new InvalidDataException("The pipeline writes no Score column; it does not end in a prediction.");
        if (Score.Value.Type is VectorDataViewType { IsKnownSize: true } vector)
        {
            ClassNames = [.. SlotNames(Score.Value, vector.Size, "class ").Select(Encode)];
        }

        Probability = output.GetColumnOrNull("Probability");
        if (!explain)
        {
            return;
        }

        DataViewSchema.Column Require(string name) => output.GetColumnOrNull(name)
            ?? throw new InvalidDataException($"The explanation pipeline writes no {name} column; it does not end in a GibbsAttribution transform.");
        TopSupportWeights = Require(GibbsAttributionTransformer.TopSupportWeightsColumnName);
        TopSupportRows = Require(GibbsAttributionTransformer.TopSupportRowsColumnName);
        AttributionEntropy = Require(GibbsAttributionTransformer.AttributionEntropyColumnName);
        FeatureContributions = Require(GibbsAttributionTransformer.FeatureContributionsColumnName);
        ExplainedScore = Require(GibbsAttributionTransformer.ExplainedScoreColumnName);
        ScoreTerms = Require(GibbsAttributionTransformer.ScoreTermsColumnName);
        CertifiedRadius = output.GetColumnOrNull(GibbsAttributionTransformer.CertifiedRadiusColumnName);
        OutOfSupportScore = output.GetColumnOrNull(GibbsAttributionTransformer.OutOfSupportScoreColumnName);
        OutOfSupport = output.GetColumnOrNull(GibbsAttributionTransformer.OutOfSupportColumnName);
        FeatureNames = [.. SlotNames(FeatureContributions.Value, ((VectorDataViewType)FeatureContributions.Value.Type).Size, "feature ").Select(Encode)];
        TermNames = [.. SlotNames(ScoreTerms.Value, ((VectorDataViewType)ScoreTerms.Value.Type).Size, "term ").Select(name => Encode(JsonNamingPolicy.CamelCase.ConvertName(name)))];
        TopSupportPoints = ((VectorDataViewType)TopSupportWeights.Value.Type).Size;
    }

    public DataViewSchema.Column? Label { get; }

    /// <summary>The predicted key's values (KeyValues), index key - 1; null when PredictedLabel is not a key.</summary>
    public (JsonEncodedText[] Names, double[]? Numbers)? LabelValues { get; }

    public DataViewSchema.Column? Score { get; }

    /// <summary>A vector Score's slot names (multiclass: the classes); null for a scalar Score.</summary>
    public JsonEncodedText[]? ClassNames { get; }

    public DataViewSchema.Column? Probability { get; }

    public DataViewSchema.Column? TopSupportWeights { get; }

    public DataViewSchema.Column? TopSupportRows { get; }

    public DataViewSchema.Column? AttributionEntropy { get; }

    public DataViewSchema.Column? FeatureContributions { get; }

    public DataViewSchema.Column? ExplainedScore { get; }

    public DataViewSchema.Column? ScoreTerms { get; }

    public DataViewSchema.Column? CertifiedRadius { get; }

    public DataViewSchema.Column? OutOfSupportScore { get; }

    public DataViewSchema.Column? OutOfSupport { get; }

    /// <summary>FeatureContributions' slot names: the model's features after the pipeline's featurisers.</summary>
    public JsonEncodedText[] FeatureNames { get; } = [];

    /// <summary>ScoreTerms' slot names in camelCase (baseline, bias, entropy, remainder).</summary>
    public JsonEncodedText[] TermNames { get; } = [];

    /// <summary>k, the support points each explanation lists.</summary>
    public int TopSupportPoints { get; }

    /// <summary>The output columns a row's response reads.</summary>
    public IEnumerable<DataViewSchema.Column> Active => new[]
    {
        Label, Score, Probability, TopSupportWeights, TopSupportRows, AttributionEntropy, FeatureContributions, ExplainedScore,
        ScoreTerms, CertifiedRadius, OutOfSupportScore, OutOfSupport,
    }.OfType<DataViewSchema.Column>();

    /// <summary>The encoder of every response: JSON's own escapes only (the default also escapes HTML's characters and non-ASCII).</summary>
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    private static JsonEncodedText Encode(string text) => JsonEncodedText.Encode(text, Encoder);

    private static string[] SlotNames(DataViewSchema.Column column, int size, string fallback)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        if (column.Annotations.Schema.GetColumnOrNull("SlotNames") is { Type: VectorDataViewType { ItemType: TextDataViewType } type } && type.Size == size)
        {
            column.Annotations.GetValue("SlotNames", ref names);
        }

        // Names become JSON property names, so each is made unique (a repeated one gets "#slot").
        var result = new string[size];
        var used = new HashSet<string>(StringComparer.Ordinal);
        ReadOnlySpan<ReadOnlyMemory<char>> dense = names.Length == size ? names.DenseValues().ToArray() : [];
        for (int i = 0; i < size; i++)
        {
            string slot = i.ToString(CultureInfo.InvariantCulture);
            string name = dense.Length == size && !dense[i].IsEmpty ? dense[i].ToString() : fallback + slot;
            result[i] = used.Add(name) ? name : $"{name}#{slot}";
        }

        return result;
    }

    private static (JsonEncodedText[] Names, double[]? Numbers)? KeyValues(DataViewSchema.Column label)
    {
        if (label.Annotations.Schema.GetColumnOrNull("KeyValues") is not { Type: VectorDataViewType { ItemType: var item } })
        {
            return null;
        }

        if (item is TextDataViewType)
        {
            VBuffer<ReadOnlyMemory<char>> text = default;
            label.Annotations.GetValue("KeyValues", ref text);
            return ([.. text.DenseValues().Select(value => Encode(value.ToString()))], null);
        }

        double[]? numbers = item.RawType switch
        {
            Type type when type == typeof(float) => Values<float>(label).Select(value => (double)value).ToArray(),
            Type type when type == typeof(double) => Values<double>(label),
            Type type when type == typeof(int) => Values<int>(label).Select(value => (double)value).ToArray(),
            Type type when type == typeof(uint) => Values<uint>(label).Select(value => (double)value).ToArray(),
            Type type when type == typeof(long) => Values<long>(label).Select(value => (double)value).ToArray(),
            _ => null,
        };
        return numbers is null ? null : ([.. numbers.Select(value => Encode(value.ToString(CultureInfo.InvariantCulture)))], numbers);
    }

    private static T[] Values<T>(DataViewSchema.Column label)
    {
        VBuffer<T> values = default;
        label.Annotations.GetValue("KeyValues", ref values);
        return values.DenseValues().ToArray();
    }
}
