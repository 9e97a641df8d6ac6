using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.DataView;

/// <summary>A small in-memory data view of float scalar and float vector columns, built by code rather than from a type.</summary>
internal sealed class InMemoryDataView : IDataView
{
    private readonly float[][][] columns;
    private readonly int rows;

    /// <summary>Columns of float values: each entry holds one float[] per row (length 1 for a scalar column).</summary>
    public InMemoryDataView(params (string Name, bool Vector, float[][] Values)[] columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach ((string name, bool vector, float[][] values) in columns)
        {
            builder.AddColumn(name, vector ? new VectorDataViewType(NumberDataViewType.Single, values[0].Length) : NumberDataViewType.Single);
        }

        Schema = builder.ToSchema();
        this.columns = columns.Select(column => column.Values).ToArray();
        rows = this.columns[0].Length;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(InMemoryDataView view) : DataViewRowCursor
    {
        private long position = -1;

        public override long Position => position;

        public override long Batch => 0;

        public override DataViewSchema Schema => view.Schema;

        public override bool MoveNext() => ++position < view.rows;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            float[][] values = view.columns[column.Index];
            Delegate getter = column.Type is VectorDataViewType
                ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => value = new VBuffer<float>(values[position].Length, (float[])values[position].Clone()))
                : (ValueGetter<float>)((ref float value) => value = values[position][0]);
            return (ValueGetter<TValue>)getter;
        }
    }
}
