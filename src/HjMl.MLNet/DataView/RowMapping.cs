using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.DataView;

/// <summary>
/// The columns a transformer appends to each row, computed from some of that row's input columns. The output schema is
/// the input schema followed by the new columns (a new column hides an input column of the same name, as in ML.NET).
/// It is its own <see cref="IRowToRowMapper"/>, which is what prediction engines and transformer chains ask for.
/// </summary>
internal abstract class RowMapping : IRowToRowMapper
{
    private readonly int[] dependencies;

    protected RowMapping(DataViewSchema inputSchema, IReadOnlyList<DataViewSchema.DetachedColumn> outputColumns, IEnumerable<int> dependencies)
    {
        InputSchema = inputSchema;
        OutputColumns = outputColumns;
        this.dependencies = dependencies.Distinct().ToArray();
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumns(outputColumns);
        OutputSchema = builder.ToSchema();
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    /// <summary>The appended columns; output column i has index InputSchema.Count + i in <see cref="OutputSchema"/>.</summary>
    public IReadOnlyList<DataViewSchema.DetachedColumn> OutputColumns { get; }

    /// <summary>
    /// One typed <see cref="ValueGetter{TValue}"/> per output column over <paramref name="input"/> (null where inactive).
    /// The getters of one call may share per-row work; each call gets its own buffers, so cursors never share state.
    /// </summary>
    public abstract Delegate?[] CreateGetters(DataViewRow input, bool[] activeOutputs);

    /// <summary>Splits columns of <see cref="OutputSchema"/> into the input columns they need and the active outputs.</summary>
    public (IReadOnlyList<DataViewSchema.Column> InputColumns, bool[] ActiveOutputs) Split(IEnumerable<DataViewSchema.Column> columns)
    {
        int inputCount = InputSchema.Count;
        var active = new bool[OutputColumns.Count];
        var inputs = new SortedSet<int>();
        foreach (DataViewSchema.Column column in columns)
        {
            if (column.Index < inputCount)
            {
                inputs.Add(column.Index);
            }
            else
            {
                active[column.Index - inputCount] = true;
            }
        }

        if (active.Any(isActive => isActive))
        {
            inputs.UnionWith(dependencies);
        }

        return (inputs.Select(index => InputSchema[index]).ToArray(), active);
    }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        => Split(dependingColumns).InputColumns;

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(activeColumns);
        return new MappedRow(input, this, Split(activeColumns).ActiveOutputs);
    }

    /// <summary>The data view that appends this mapping's columns to <paramref name="source"/>.</summary>
    public IDataView Apply(IDataView source) => new MappedDataView(source, this);

    /// <summary>The index of input column <paramref name="name"/>, or an exception naming it and the expected type.</summary>
    protected static int RequireColumn(DataViewSchema schema, string name, string expected)
    {
        return schema.GetColumnOrNull(name) is { } column
            ? column.Index
            : throw new ArgumentOutOfRangeException(nameof(schema), $"The input has no column '{name}'; it needs one of {expected}.");
    }
}

/// <summary>A row of a <see cref="RowMapping"/>'s output schema over one input row (what prediction engines use).</summary>
internal sealed class MappedRow : DataViewRow
{
    private readonly DataViewRow input;
    private readonly RowMapping mapping;
    private readonly bool[] active;
    private readonly Delegate?[] getters;

    public MappedRow(DataViewRow input, RowMapping mapping, bool[] active)
    {
        this.input = input;
        this.mapping = mapping;
        this.active = active;
        getters = mapping.CreateGetters(input, active);
    }

    public override long Position => input.Position;

    public override long Batch => input.Batch;

    public override DataViewSchema Schema => mapping.OutputSchema;

    public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => MappedColumns.IsActive(input, mapping, active, column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => MappedColumns.Getter<TValue>(input, mapping, getters, column);
}

/// <summary>A cursor of a <see cref="MappedDataView"/>: the input cursor's rows with the mapping's columns appended.</summary>
internal sealed class MappedCursor : DataViewRowCursor
{
    private readonly DataViewRowCursor input;
    private readonly RowMapping mapping;
    private readonly bool[] active;
    private readonly Delegate?[] getters;

    public MappedCursor(DataViewRowCursor input, RowMapping mapping, bool[] active)
    {
        this.input = input;
        this.mapping = mapping;
        this.active = active;
        getters = mapping.CreateGetters(input, active);
    }

    public override long Position => input.Position;

    public override long Batch => input.Batch;

    public override DataViewSchema Schema => mapping.OutputSchema;

    public override bool MoveNext() => input.MoveNext();

    public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => MappedColumns.IsActive(input, mapping, active, column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => MappedColumns.Getter<TValue>(input, mapping, getters, column);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            input.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A lazily mapped view: cursors wrap the source's cursors, so nothing is computed until a row is read.</summary>
internal sealed class MappedDataView(IDataView source, RowMapping mapping) : IDataView
{
    public bool CanShuffle => source.CanShuffle;

    public DataViewSchema Schema => mapping.OutputSchema;

    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        (IReadOnlyList<DataViewSchema.Column> inputs, bool[] active) = mapping.Split(columnsNeeded);
        return new MappedCursor(source.GetRowCursor(inputs, rand), mapping, active);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        (IReadOnlyList<DataViewSchema.Column> inputs, bool[] active) = mapping.Split(columnsNeeded);
        return source.GetRowCursorSet(inputs, n, rand).Select(cursor => (DataViewRowCursor)new MappedCursor(cursor, mapping, (bool[])active.Clone())).ToArray();
    }
}

/// <summary>Column access shared by <see cref="MappedRow"/> and <see cref="MappedCursor"/>.</summary>
internal static class MappedColumns
{
    public static bool IsActive(DataViewRow input, RowMapping mapping, bool[] active, DataViewSchema.Column column)
    {
        int inputCount = mapping.InputSchema.Count;
        return column.Index < inputCount ? input.IsColumnActive(input.Schema[column.Index]) : active[column.Index - inputCount];
    }

    public static ValueGetter<TValue> Getter<TValue>(DataViewRow input, RowMapping mapping, Delegate?[] getters, DataViewSchema.Column column)
    {
        int inputCount = mapping.InputSchema.Count;
        if (column.Index < inputCount)
        {
            return input.GetGetter<TValue>(input.Schema[column.Index]);
        }

        DataViewSchema.DetachedColumn output = mapping.OutputColumns[column.Index - inputCount];
        return getters[column.Index - inputCount] switch
        {
            ValueGetter<TValue> getter => getter,
            null => throw new InvalidOperationException($"Column '{output.Name}' is not active in this row or cursor; request it when creating the cursor."),
            _ => throw new InvalidOperationException($"Column '{output.Name}' holds {output.Type} (raw type {output.Type.RawType.Name}), not {typeof(TValue).Name}."),
        };
    }
}
