using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// What a multiclass label's key type carried at training: the key type (its count is the Score vector's length),
/// the values the keys stand for (KeyValues annotation, if any) and those values as text (the Score's slot names).
/// </summary>
internal sealed class LabelKeys
{
    private LabelKeys(KeyDataViewType type, DataViewSchema.Annotations? keyValues, PrimitiveDataViewType? valueType, string[] names)
    {
        Type = type;
        KeyValues = keyValues;
        ValueType = valueType;
        Names = names;
    }

    /// <summary>The label's key type; PredictedLabel has the same one.</summary>
    public KeyDataViewType Type { get; }

    /// <summary>The number of keys, K.</summary>
    public int Count => (int)Type.Count;

    /// <summary>An annotation set holding only the label's KeyValues, or null if it had none.</summary>
    public DataViewSchema.Annotations? KeyValues { get; }

    /// <summary>The item type of <see cref="KeyValues"/>.</summary>
    public PrimitiveDataViewType? ValueType { get; }

    /// <summary>One name per key: its value as text, or "k" (1-based) without key values.</summary>
    public string[] Names { get; }

    /// <summary>Reads the key information of <paramref name="label"/>.</summary>
    public static LabelKeys From(DataViewSchema.Column label)
    {
        var type = (KeyDataViewType)label.Type;
        int count = (int)type.Count;
        var names = Enumerable.Range(1, count).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (label.Annotations.Schema.GetColumnOrNull(AnnotationNames.KeyValues) is not { Type: VectorDataViewType { ItemType: PrimitiveDataViewType valueType } vector } || vector.Size != count)
        {
            return new LabelKeys(type, null, null, names);
        }

        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(label.Annotations, name => name == AnnotationNames.KeyValues);
        DataViewSchema.Annotations keyValues = builder.ToAnnotations();
        string[] valueNames = (string[])typeof(LabelKeys).GetMethod(nameof(ValueNames), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(valueType.RawType).Invoke(null, [keyValues])!;
        return new LabelKeys(type, keyValues, valueType, valueNames);
    }

    /// <summary>The key values as typed <typeparamref name="TValue"/> (the label's KeyValues item type).</summary>
    public TValue[] Values<TValue>()
    {
        VBuffer<TValue> values = default;
        KeyValues!.GetValue(AnnotationNames.KeyValues, ref values);
        return values.DenseValues().ToArray();
    }

    private static string[] ValueNames<TValue>(DataViewSchema.Annotations keyValues)
    {
        VBuffer<TValue> values = default;
        keyValues.GetValue(AnnotationNames.KeyValues, ref values);
        return values.DenseValues().Select(value => value?.ToString() ?? string.Empty).ToArray();
    }
}

/// <summary>The names of the annotations ML.NET's own components write and read (ML.NET keeps its constants internal).</summary>
internal static class AnnotationNames
{
    public const string SlotNames = "SlotNames";
    public const string KeyValues = "KeyValues";
    public const string ScoreColumnKind = "ScoreColumnKind";
    public const string ScoreValueKind = "ScoreValueKind";
    public const string IsNormalized = "IsNormalized";
}
