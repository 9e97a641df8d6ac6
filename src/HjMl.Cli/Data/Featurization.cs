using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace HjMl.Cli.Data;

/// <summary>
/// The ML.NET transforms that turn a CSV's columns into one feature vector, chosen per inferred column kind:
/// numbers as they are (empty cells replaced by the column mean, with a 0/1 indicator column beside them), categories
/// one-hot (hashed beyond <see cref="ColumnInference.HashingThreshold"/> values; an empty cell is all zeros), free text
/// by FeaturizeText. The label is mapped to what the trainer reads (Boolean, key, or the number) at the head of the chain
/// and the predicted class back to the label's values at its tail, so a saved pipeline takes and gives the CSV's values.
/// </summary>
internal static class Featurization
{
    /// <summary>The feature vector's column.</summary>
    public const string FeaturesColumn = "Features";

    /// <summary>The predicted label as the label's own text (binary and multiclass).</summary>
    public const string PredictedClassColumn = "PredictedClass";

    /// <summary>The view's columns for <paramref name="schema"/>, reading cells of a table laid out as the training CSV.</summary>
    public static IReadOnlyList<ViewColumn> Columns(TabularSchema schema)
    {
        var columns = schema.Used.Select(c => new ViewColumn(c.Name, c.Kind == ColumnKind.Numeric, c.Index)).ToList();
        columns.Add(new ViewColumn(schema.Label.Name, schema.Label.Task == ModelKind.Regression, schema.Label.Index));
        return columns;
    }

    /// <summary>The label mapping and the featurisers, to be fitted on the training rows.</summary>
    public static IEstimator<ITransformer> Estimator(MLContext ml, TabularSchema schema)
    {
        var stages = new List<IEstimator<ITransformer>>();
        LabelColumn label = schema.Label;
        if (label.Task == ModelKind.BinaryClassification)
        {
            stages.Add(ml.Transforms.Conversion.MapValue(
                label.Name,
                [new KeyValuePair<ReadOnlyMemory<char>, bool>(label.Classes[0].AsMemory(), false), new KeyValuePair<ReadOnlyMemory<char>, bool>(label.Classes[1].AsMemory(), true)],
                label.Name));
        }
        else if (label.Task == ModelKind.MulticlassClassification)
        {
            stages.Add(ml.Transforms.Conversion.MapValueToKey(label.Name, label.Name, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue));
        }

        var parts = new List<string>();
        foreach (FeatureColumn column in schema.Used)
        {
            switch (column.Kind)
            {
                case ColumnKind.Numeric when column.Missing > 0:
                    string indicator = column.Name + ".missing";
                    stages.Add(ml.Transforms.IndicateMissingValues(indicator, column.Name));
                    stages.Add(ml.Transforms.Conversion.ConvertType(indicator, indicator, DataKind.Single));
                    stages.Add(ml.Transforms.ReplaceMissingValues(column.Name, column.Name, Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean));
                    parts.Add(column.Name);
                    parts.Add(indicator);
                    break;
                case ColumnKind.Numeric:
                    parts.Add(column.Name);
                    break;
                case ColumnKind.Categorical when column.Distinct > ColumnInference.HashingThreshold:
                    stages.Add(ml.Transforms.Categorical.OneHotHashEncoding(column.Name, column.Name, numberOfBits: 10));
                    parts.Add(column.Name);
                    break;
                case ColumnKind.Categorical:
                    stages.Add(ml.Transforms.Categorical.OneHotEncoding(column.Name, column.Name));
                    parts.Add(column.Name);
                    break;
                case ColumnKind.Text:
                    stages.Add(ml.Transforms.Text.FeaturizeText(column.Name, column.Name));
                    parts.Add(column.Name);
                    break;
            }
        }

        if (parts.Count == 0)
        {
            throw new ArgumentException("No feature column is left to learn from (every column is the label, ignored, constant or empty).");
        }

        stages.Add(ml.Transforms.Concatenate(FeaturesColumn, [.. parts]));
        IEstimator<ITransformer> chain = stages[0];
        foreach (IEstimator<ITransformer> stage in stages.Skip(1))
        {
            chain = chain.Append(stage);
        }

        return chain;
    }

    /// <summary>The stage after the trainer that writes the predicted class as the label's own value.</summary>
    public static IEstimator<ITransformer>? Tail(MLContext ml, LabelColumn label) => label.Task switch
    {
        ModelKind.BinaryClassification => ml.Transforms.Conversion.MapValue(
            PredictedClassColumn,
            [new KeyValuePair<bool, ReadOnlyMemory<char>>(false, label.Classes[0].AsMemory()), new KeyValuePair<bool, ReadOnlyMemory<char>>(true, label.Classes[1].AsMemory())],
            "PredictedLabel"),
        ModelKind.MulticlassClassification => ml.Transforms.Conversion.MapKeyToValue(PredictedClassColumn, "PredictedLabel"),
        _ => null,
    };

    /// <summary>
    /// The engine's rows from a featurised view: features as doubles in the order of the feature vector's slots (named by
    /// its slot names), and labels as the engine reads them (regression value, 1/0, the 0-based class index).
    /// </summary>
    public static HjMl.Data.Dataset ToDataset(IDataView featurised, string labelName, CancellationToken cancellation = default)
    {
        DataViewSchema.Column features = featurised.Schema[FeaturesColumn];
        DataViewSchema.Column label = featurised.Schema[labelName];
        int dimension = ((VectorDataViewType)features.Type).Size;
        string[] names = SlotNames(features, dimension);
        var values = new List<double>();
        var labels = new List<double>();
        using DataViewRowCursor cursor = featurised.GetRowCursor([features, label]);
        ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        Func<double> getLabel = LabelGetter(cursor, label);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            if ((cursor.Position & 0x3FF) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            getFeatures(ref buffer);
            int start = values.Count;
            values.AddRange(new double[dimension]);
            foreach (KeyValuePair<int, float> slot in buffer.Items())
            {
                values[start + slot.Key] = slot.Value;
            }

            labels.Add(getLabel());
        }

        return new HjMl.Data.Dataset([.. values], [.. labels], names, labelName);
    }

    /// <summary>The slot names of a vector column (generated as column.k where it has none).</summary>
    public static string[] SlotNames(DataViewSchema.Column column, int dimension)
    {
        VBuffer<ReadOnlyMemory<char>> slots = default;
        if (column.HasSlotNames())
        {
            column.GetSlotNames(ref slots);
        }

        var names = new string[dimension];
        var dense = slots.Length == dimension ? slots.DenseValues().ToArray() : [];
        for (int k = 0; k < dimension; k++)
        {
            names[k] = k < dense.Length && !dense[k].IsEmpty ? dense[k].ToString() : $"{column.Name}.{k}";
        }

        return names;
    }

    /// <summary>Reads a label column as the engine encodes it: 1/0, the 0-based key index (NaN for a missing key), the number.</summary>
    public static Func<double> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column label)
    {
        if (label.Type == BooleanDataViewType.Instance)
        {
            ValueGetter<bool> get = cursor.GetGetter<bool>(label);
            return () =>
            {
                bool value = false;
                get(ref value);
                return value ? 1 : 0;
            };
        }

        if (label.Type is KeyDataViewType)
        {
            ValueGetter<uint> get = cursor.GetGetter<uint>(label);
            return () =>
            {
                uint value = 0;
                get(ref value);
                return value == 0 ? double.NaN : value - 1;
            };
        }

        if (label.Type == NumberDataViewType.Single)
        {
            ValueGetter<float> get = cursor.GetGetter<float>(label);
            return () =>
            {
                float value = 0;
                get(ref value);
                return value;
            };
        }

        return () => double.NaN;
    }
}
