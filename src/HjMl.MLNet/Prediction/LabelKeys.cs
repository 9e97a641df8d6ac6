using HjMl.MLNet.Columns;
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

    /// <summary>
    /// Stages writing PredictedLabel, of this label's key type, from the float class index in <paramref name="classColumn"/>
    /// (0-based: the key value minus one): the index is mapped to the value its key stands for, in
    /// <paramref name="valueColumn"/>, then to the key, with the label's key values (in key order) as the key data, so
    /// PredictedLabel gets the label's key type and KeyValues.
    /// </summary>
    public IEstimator<ITransformer>[] ClassIndexToKey(MLContext context, string classColumn, string valueColumn)
        => ValueType is null
            ? ClassIndexToKey(context, Enumerable.Range(1, Count).Select(key => (uint)key).ToArray(), classColumn, valueColumn)
            : (IEstimator<ITransformer>[])typeof(LabelKeys).GetMethod(nameof(ClassIndexToKeyValue), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
                .MakeGenericMethod(ValueType.RawType).Invoke(this, [context, classColumn, valueColumn])!;

    private IEstimator<ITransformer>[] ClassIndexToKeyValue<TValue>(MLContext context, string classColumn, string valueColumn)
        => ClassIndexToKey(context, Values<TValue>(), classColumn, valueColumn);

    private static IEstimator<ITransformer>[] ClassIndexToKey<TValue>(MLContext context, TValue[] values, string classColumn, string valueColumn)
    {
        IDataView keyData = context.Data.LoadFromEnumerable(values.Select(value => new KeyValue<TValue> { Value = value }));
        return
        [
            context.Transforms.Conversion.MapValue(valueColumn, values.Select((value, index) => new KeyValuePair<float, TValue>(index, value)), classColumn),
            context.Transforms.Conversion.MapValueToKey(DefaultColumnNames.PredictedLabel, valueColumn, keyData: keyData),
        ];
    }

    private static string[] ValueNames<TValue>(DataViewSchema.Annotations keyValues)
    {
        VBuffer<TValue> values = default;
        keyValues.GetValue(AnnotationNames.KeyValues, ref values);
        return values.DenseValues().Select(value => value?.ToString() ?? string.Empty).ToArray();
    }

    /// <summary>One key value, for MapValueToKey's key data.</summary>
    public sealed class KeyValue<TValue>
    {
        /// <summary>The value.</summary>
        public TValue? Value { get; set; }
    }
}
