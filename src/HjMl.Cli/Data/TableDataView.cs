using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Cli.Data;

/// <summary>A column of a <see cref="TableDataView"/>: its name, its ML.NET type (Single or text) and the cell it reads.</summary>
/// <param name="Name">The column name.</param>
/// <param name="IsNumber">Single (a number, NaN where empty) or text (empty where missing).</param>
/// <param name="Cell">The position of its cell in each row array, or -1 when the file lacks it (every row missing).</param>
internal sealed record ViewColumn(string Name, bool IsNumber, int Cell);

/// <summary>
/// CSV rows as an ML.NET <see cref="IDataView"/>: numbers as Single, everything else as text. The rows come from a
/// factory called once per cursor, so a file can be streamed (each cursor re-reads it) or rows held in memory can be
/// viewed in any order; cells are parsed as the cursor reads them.
/// </summary>
internal sealed class TableDataView : IDataView
{
    private readonly ViewColumn[] columns;
    private readonly Func<IEnumerable<string?[]>> rows;
    private readonly long? count;
    private readonly string source;

    public TableDataView(IReadOnlyList<ViewColumn> columns, Func<IEnumerable<string?[]>> rows, long? count, string source)
    {
        this.columns = [.. columns];
        this.rows = rows;
        this.count = count;
        this.source = source;
        var builder = new DataViewSchema.Builder();
        foreach (ViewColumn column in columns)
        {
            builder.AddColumn(column.Name, column.IsNumber ? NumberDataViewType.Single : TextDataViewType.Instance);
        }

        Schema = builder.ToSchema();
    }

    /// <summary>The rows' order is fixed.</summary>
    public bool CanShuffle => false;

    /// <summary>One column per <see cref="ViewColumn"/>.</summary>
    public DataViewSchema Schema { get; }

    /// <summary>The row count when known.</summary>
    public long? GetRowCount() => count;

    /// <summary>A cursor over every row.</summary>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    /// <summary>One cursor: the rows are read in order.</summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    /// <summary>A view of the rows of <paramref name="table"/> with indices <paramref name="rowIndices"/> (all when null).</summary>
    public static TableDataView Of(RawTable table, IReadOnlyList<ViewColumn> columns, IReadOnlyList<int>? rowIndices = null)
    {
        IEnumerable<string?[]> Rows() => rowIndices is null ? table.Rows : rowIndices.Select(i => table.Rows[i]);
        return new TableDataView(columns, Rows, rowIndices?.Count ?? table.Rows.Count, table.Source);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly TableDataView view;
        private readonly HashSet<int> active;
        private readonly IEnumerator<string?[]> rows;
        private string?[] current = [];
        private long position = -1;

        public Cursor(TableDataView view, HashSet<int> active)
        {
            this.view = view;
            this.active = active;
            rows = view.rows().GetEnumerator();
        }

        public override long Position => position;

        public override long Batch => 0;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!rows.MoveNext())
            {
                return false;
            }

            current = rows.Current;
            position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ViewColumn described = view.columns[column.Index];
            if (described.IsNumber)
            {
                ValueGetter<float> number = (ref float value) => value = Number(described);
                return number as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{described.Name}' is Single, not {typeof(TValue).Name}.");
            }

            ValueGetter<ReadOnlyMemory<char>> text = (ref ReadOnlyMemory<char> value) => value = (described.Cell < 0 ? null : current[described.Cell]).AsMemory();
            return text as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{described.Name}' is text, not {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rows.Dispose();
            }

            base.Dispose(disposing);
        }

        private float Number(ViewColumn column)
        {
            string? cell = column.Cell < 0 ? null : current[column.Cell];
            if (cell is null)
            {
                return float.NaN;
            }

            return float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float value)
                ? value
                : throw new InvalidDataException($"{view.source}, data row {position + 1}: column '{column.Name}' is '{cell}', which is not a number (the model reads it as one).");
        }
    }
}
