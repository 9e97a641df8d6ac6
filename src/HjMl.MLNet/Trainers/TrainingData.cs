using HjMl.Data;
using HjMl.MLNet.Columns;
using HjMl.Models;
using Microsoft.ML;
using HjMl.MLNet.Prediction;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Trainers;

/// <summary>
/// The rows of an <see cref="IDataView"/> as HjMl's <see cref="Dataset"/>: features as doubles, labels encoded per kind
/// (regression value, 1/0 for true/false, the 0-based key index for multiclass), optional example weights, feature
/// names from the feature column's slot names, and what the label's key type carried.
/// </summary>
internal sealed record TrainingData(Dataset Dataset, double[]? Weights, LabelKeys? Keys)
{
    /// <summary>Reads the columns <paramref name="options"/> names; errors name the column, row and slot at fault.</summary>
    public static TrainingData Read(IDataView data, HopfColeTrainingOptions options, ModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(data);
        DataViewSchema schema = data.Schema;
        DataViewSchema.Column features = FeatureColumns.Require(schema, options.FeatureColumnName);
        int dimension = ((VectorDataViewType)features.Type).Size;
        DataViewSchema.Column label = RequireLabel(schema, options.LabelColumnName, kind);
        DataViewSchema.Column? weight = null;
        if (options.ExampleWeightColumnName is { } weightName)
        {
            weight = schema.GetColumnOrNull(weightName)
                ?? throw new ArgumentOutOfRangeException(nameof(options), $"The example weight column '{weightName}' is not in the data.");
            if (weight.Value.Type != NumberDataViewType.Single)
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"The example weight column '{weightName}' holds {weight.Value.Type}; it must hold Single (float).");
            }
        }

        // Rows go straight into blocks of a fixed number of rows (or one block when the view knows its row count), which
        // are copied once into the data set's array: no growing list and no per-row copy besides the densified row.
        long? knownRows = data.GetRowCount();
        int blockRows = knownRows is > 0 and <= int.MaxValue && knownRows.Value * dimension <= Array.MaxLength ? (int)knownRows.Value : Math.Max(1, 65536 / Math.Max(1, dimension));
        var featureBlocks = new List<double[]>();
        var labels = new List<double>(knownRows is > 0 and <= int.MaxValue ? (int)knownRows.Value : 0);
        var weights = weight is null ? null : new List<double>(labels.Capacity);
        var columns = weight is { } w ? new[] { features, label, w } : [features, label];
        using (DataViewRowCursor cursor = data.GetRowCursor(columns))
        {
            ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(features);
            Func<long, double> getLabel = LabelGetter(cursor, label, kind);
            ValueGetter<float>? getWeight = weight is { } weightColumn ? cursor.GetGetter<float>(weightColumn) : null;
            VBuffer<float> buffer = default;
            double[] block = [];
            int inBlock = blockRows;
            while (cursor.MoveNext())
            {
                if (inBlock == blockRows)
                {
                    block = new double[(long)blockRows * dimension];
                    featureBlocks.Add(block);
                    inBlock = 0;
                }

                Span<double> row = block.AsSpan(inBlock * dimension, dimension);
                getFeatures(ref buffer);
                FeatureColumns.Densify(buffer, row, features, cursor.Position);
                for (int k = 0; k < dimension; k++)
                {
                    if (!double.IsFinite(row[k]))
                    {
                        throw new ArgumentException($"Row {cursor.Position + 1}, column '{features.Name}', slot {k} ('{FeatureColumns.Names(features)[k]}') is {row[k]}; features must be finite (impute or filter missing values first).", nameof(data));
                    }
                }

                inBlock++;
                labels.Add(getLabel(cursor.Position));
                if (getWeight is not null)
                {
                    float value = 0;
                    getWeight(ref value);
                    weights!.Add(value);
                }
            }
        }

        if (labels.Count == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(data));
        }

        long valueCount = (long)labels.Count * dimension;
        double[] featureValues = featureBlocks.Count == 1 && featureBlocks[0].Length == valueCount ? featureBlocks[0] : new double[valueCount];
        for (int b = 0; b < featureBlocks.Count && featureValues != featureBlocks[0]; b++)
        {
            long offset = (long)b * blockRows * dimension;
            int length = (int)Math.Min(featureBlocks[b].Length, featureValues.Length - offset);
            featureBlocks[b].AsSpan(0, length).CopyTo(featureValues.AsSpan((int)offset));
        }

        var dataset = new Dataset(featureValues, [.. labels], FeatureColumns.Names(features), label.Name);
        LabelKeys? keys = kind == ModelKind.MulticlassClassification ? LabelKeys.From(label) : null;
        return new TrainingData(dataset, weights?.ToArray(), keys);
    }

    private static DataViewSchema.Column RequireLabel(DataViewSchema schema, string name, ModelKind kind)
    {
        DataViewSchema.Column label = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"The label column '{name}' is not in the data.");
        bool fits = kind switch
        {
            ModelKind.Regression => label.Type == NumberDataViewType.Single || label.Type == NumberDataViewType.Double,
            ModelKind.BinaryClassification => label.Type == BooleanDataViewType.Instance,
            _ => label.Type is KeyDataViewType key && key.Count is > 1 and <= int.MaxValue,
        };
        if (!fits)
        {
            string wanted = kind switch
            {
                ModelKind.Regression => "Single (float) or Double",
                ModelKind.BinaryClassification => "Boolean",
                _ => "a key type with at least two values (use MapValueToKey on the label first)",
            };
            throw new ArgumentOutOfRangeException(nameof(schema), $"The label column '{name}' holds {label.Type}; a {kind} trainer needs {wanted}.");
        }

        return label;
    }

    private static Func<long, double> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column label, ModelKind kind)
    {
        switch (kind)
        {
            case ModelKind.Regression when label.Type == NumberDataViewType.Double:
                ValueGetter<double> getDouble = cursor.GetGetter<double>(label);
                return position =>
                {
                    double value = 0;
                    getDouble(ref value);
                    return Finite(value, label, position);
                };
            case ModelKind.Regression:
                ValueGetter<float> getSingle = cursor.GetGetter<float>(label);
                return position =>
                {
                    float value = 0;
                    getSingle(ref value);
                    return Finite(value, label, position);
                };
            case ModelKind.BinaryClassification:
                ValueGetter<bool> getBoolean = cursor.GetGetter<bool>(label);
                return _ =>
                {
                    bool value = false;
                    getBoolean(ref value);
                    return value ? 1 : 0;
                };
            default:
                ValueGetter<uint> getKey = KeyGetter(cursor, label);
                return position =>
                {
                    uint value = 0;
                    getKey(ref value);
                    return value == 0
                        ? throw new ArgumentException($"Row {position + 1}, label column '{label.Name}' is a missing key (a value MapValueToKey did not know); drop or fix such rows before training.", "data")
                        : value - 1;
                };
        }
    }

    // Keys are stored as byte, ushort, uint or ulong; read any as uint (a count above 2^31 was refused already).
    private static ValueGetter<uint> KeyGetter(DataViewRowCursor cursor, DataViewSchema.Column label)
    {
        Type raw = label.Type.RawType;
        if (raw == typeof(uint))
        {
            return cursor.GetGetter<uint>(label);
        }

        if (raw == typeof(byte))
        {
            ValueGetter<byte> get = cursor.GetGetter<byte>(label);
            return (ref uint value) => { byte key = 0; get(ref key); value = key; };
        }

        if (raw == typeof(ushort))
        {
            ValueGetter<ushort> get = cursor.GetGetter<ushort>(label);
            return (ref uint value) => { ushort key = 0; get(ref key); value = key; };
        }

        ValueGetter<ulong> getLong = cursor.GetGetter<ulong>(label);
        return (ref uint value) => { ulong key = 0; getLong(ref key); value = (uint)key; };
    }

    private static double Finite(double value, DataViewSchema.Column label, long position)
        => double.IsFinite(value)
            ? value
            : throw new ArgumentException($"Row {position + 1}, label column '{label.Name}' is {value}; labels must be finite (filter missing labels first).", "data");
}
