using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Relaxation;

/// <summary>Reads a class label as a 0-based class index: a key (key - 1), a whole non-negative Single or Double, or a Boolean (0, 1).</summary>
internal static class Labels
{
    /// <summary>A getter of the class index of <paramref name="label"/>; it throws naming the row for a missing key or a value that is no class.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label column's type is none of the above.</exception>
    public static ValueGetter<double> Getter(DataViewRowCursor cursor, DataViewSchema.Column label)
    {
        switch (label.Type)
        {
            case KeyDataViewType when label.Type.RawType == typeof(uint):
                ValueGetter<uint> key = cursor.GetGetter<uint>(label);
                return (ref double value) =>
                {
                    uint raw = 0;
                    key(ref raw);
                    value = raw > 0 ? raw - 1 : throw new ArgumentException($"Row {cursor.Position + 1}, label column '{label.Name}' is a missing key; drop or fix such rows before training.", "data");
                };
            case BooleanDataViewType:
                ValueGetter<bool> flag = cursor.GetGetter<bool>(label);
                return (ref double value) =>
                {
                    bool raw = false;
                    flag(ref raw);
                    value = raw ? 1 : 0;
                };
            case NumberDataViewType number when number == NumberDataViewType.Single:
                ValueGetter<float> single = cursor.GetGetter<float>(label);
                return (ref double value) =>
                {
                    float raw = 0;
                    single(ref raw);
                    value = Class(raw, cursor, label);
                };
            case NumberDataViewType number when number == NumberDataViewType.Double:
                ValueGetter<double> wide = cursor.GetGetter<double>(label);
                return (ref double value) =>
                {
                    double raw = 0;
                    wide(ref raw);
                    value = Class(raw, cursor, label);
                };
            default:
                throw new ArgumentOutOfRangeException(nameof(label), $"The label column '{label.Name}' holds {label.Type}; the ADR featuriser needs a key (uint), Single, Double or Boolean class label.");
        }
    }

    private static double Class(double value, DataViewRowCursor cursor, DataViewSchema.Column label)
        => value >= 0 && value == Math.Floor(value) && value < int.MaxValue
            ? value
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Row {cursor.Position + 1}, label column '{label.Name}' is {value}; a class label is a whole number >= 0 (or map it with MapValueToKey)."), "data");
}
