using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.DataView;

/// <summary>A data view with a schema and no rows: what estimators that only need a schema are fitted on.</summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public bool CanShuffle => true;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(schema);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(schema)];

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override long Position => -1;

        public override long Batch => 0;

        public override DataViewSchema Schema => schema;

        public override bool MoveNext() => false;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => throw new InvalidOperationException("An empty data view has no rows.");

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => (ref TValue value) => throw new InvalidOperationException("An empty data view has no rows.");
    }
}
