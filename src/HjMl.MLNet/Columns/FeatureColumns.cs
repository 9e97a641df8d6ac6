using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Columns;

/// <summary>Checks and reads the feature column every HjMl component consumes: a known-size vector of float.</summary>
internal static class FeatureColumns
{
    /// <summary>The feature column, or an exception naming it and what it must be.</summary>
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, int expectedSize = -1)
    {
        ArgumentNullException.ThrowIfNull(name);
        DataViewSchema.Column column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"The feature column '{name}' is not in the data (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType item, IsKnownSize: true } vector || item != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"The feature column '{name}' holds {column.Type}; it must be a known-size vector of Single (float), e.g. from Concatenate.");
        }

        if (expectedSize >= 0 && vector.Size != expectedSize)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"The feature column '{name}' has {vector.Size} slots but the model was trained on {expectedSize}.");
        }

        return column;
    }

    /// <summary>The same check on an estimator's input shape.</summary>
    public static void Require(SchemaShape shape, string name)
    {
        SchemaShape.Column column = shape.FirstOrDefault(c => c.Name == name);
        if (column.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"The feature column '{name}' is not in the input.");
        }

        if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"The feature column '{name}' must be a known-size vector of Single (float); it is {column.Kind} of {column.ItemType}.");
        }
    }

    /// <summary>Slot names, or "Column[k]" where the column has none.</summary>
    public static string[] Names(DataViewSchema.Column column)
    {
        int size = ((VectorDataViewType)column.Type).Size;
        var names = new string[size];
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        if (column.HasSlotNames())
        {
            column.GetSlotNames(ref slotNames);
        }

        ReadOnlySpan<ReadOnlyMemory<char>> values = slotNames.Length == size ? slotNames.DenseValues().ToArray() : [];
        for (int k = 0; k < size; k++)
        {
            string name = k < values.Length ? values[k].ToString() : string.Empty;
            names[k] = name.Length > 0 ? name : $"{column.Name}[{k}]";
        }

        return names;
    }

    /// <summary>Writes <paramref name="buffer"/> as a dense row of doubles (sparse slots are 0).</summary>
    public static void Densify(in VBuffer<float> buffer, Span<double> row, DataViewSchema.Column column, long position)
    {
        if (buffer.Length != row.Length)
        {
            throw new ArgumentException($"Row {position + 1}, column '{column.Name}' has {buffer.Length} values; {row.Length} are expected.");
        }

        ReadOnlySpan<float> values = buffer.GetValues();
        if (buffer.IsDense)
        {
            for (int k = 0; k < row.Length; k++)
            {
                row[k] = values[k];
            }

            return;
        }

        row.Clear();
        ReadOnlySpan<int> indices = buffer.GetIndices();
        for (int i = 0; i < values.Length; i++)
        {
            row[indices[i]] = values[i];
        }
    }
}
