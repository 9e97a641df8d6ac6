using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Models;

/// <summary>
/// A data view with a schema and no rows: what an estimator's Fit needs when it only checks the schema (GibbsAttribution
/// given a fitted model and no id column).
/// </summary>
internal sealed class SchemaOnlyDataView(DataViewSchema schema) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema { get; } = schema;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(Schema);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(Schema)];

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override long Position => -1;

        public override long Batch => 0;

        public override DataViewSchema Schema { get; } = schema;

        public override bool MoveNext() => false;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            => throw new InvalidOperationException("The view has no rows.");

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => throw new InvalidOperationException("The view has no rows.");
    }
}
