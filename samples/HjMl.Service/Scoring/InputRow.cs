using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Scoring;

/// <summary>
/// The one input row a <see cref="ScoringEngine"/> feeds its pipeline: the values the request parser wrote, behind the
/// getters ML.NET's row mappers read (what a PredictionEngine's input object is, built from the schema instead of a
/// class). <see cref="Next"/> moves to a new row, so mappers that cache per row position recompute. Not thread-safe.
/// </summary>
internal sealed class InputRow : DataViewRow
{
    private readonly RequestColumns columns;
    private readonly float[] singles;
    private readonly double[] doubles;
    private readonly bool[] booleans;
    private readonly ReadOnlyMemory<char>[] texts;
    private readonly float[]?[] singleVectors;
    private readonly double[]?[] doubleVectors;
    private long position = -1;

    public InputRow(RequestColumns columns)
    {
        this.columns = columns;
        int count = columns.InputSchema.Count;
        singles = new float[count];
        doubles = new double[count];
        booleans = new bool[count];
        texts = new ReadOnlyMemory<char>[count];
        singleVectors = new float[count][];
        doubleVectors = new double[count][];
        foreach (RequestColumn column in columns.All)
        {
            if (column.Kind == ValueKind.SingleVector)
            {
                singleVectors[column.SchemaIndex] = new float[column.Size];
            }
            else if (column.Kind == ValueKind.DoubleVector)
            {
                doubleVectors[column.SchemaIndex] = new double[column.Size];
            }
        }
    }

    /// <summary>The row's position: one more per scored row.</summary>
    public override long Position => position;

    /// <summary>Always 0: one row at a time.</summary>
    public override long Batch => 0;

    /// <summary>The input schema the pipeline was saved with.</summary>
    public override DataViewSchema Schema => columns.InputSchema;

    /// <summary>Starts a new row: the parser writes its values next.</summary>
    public void Next() => position++;

    public void SetSingle(RequestColumn column, float value) => singles[column.SchemaIndex] = value;

    public void SetDouble(RequestColumn column, double value) => doubles[column.SchemaIndex] = value;

    public void SetBoolean(RequestColumn column, bool value) => booleans[column.SchemaIndex] = value;

    public void SetText(RequestColumn column, ReadOnlyMemory<char> value) => texts[column.SchemaIndex] = value;

    /// <summary>The storage of a float32 vector column, written in place.</summary>
    public float[] SingleVector(RequestColumn column) => singleVectors[column.SchemaIndex]!;

    /// <summary>The storage of a float64 vector column, written in place.</summary>
    public double[] DoubleVector(RequestColumn column) => doubleVectors[column.SchemaIndex]!;

    /// <summary>Every column is active: the mappers read only what they depend on.</summary>
    public override bool IsColumnActive(DataViewSchema.Column column) => true;

    /// <summary>The getter of <paramref name="column"/>, reading the current row's value.</summary>
    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        int i = column.Index;
        RequestColumn? known = columns.Find(column.Name);
        Delegate getter = known?.SchemaIndex == i ? known.Kind switch
        {
            ValueKind.Single => (ValueGetter<float>)((ref float value) => value = singles[i]),
            ValueKind.Double => (ValueGetter<double>)((ref double value) => value = doubles[i]),
            ValueKind.Boolean => (ValueGetter<bool>)((ref bool value) => value = booleans[i]),
            ValueKind.Text => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => value = texts[i]),
            ValueKind.SingleVector => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => Copy(singleVectors[i]!, ref value)),
            ValueKind.DoubleVector => (ValueGetter<VBuffer<double>>)((ref VBuffer<double> value) => Copy(doubleVectors[i]!, ref value)),
            _ => Unreadable<TValue>(column),
        } : Unreadable<TValue>(column);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Input column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} was asked for.");
    }

    /// <summary>The row id: the position.</summary>
    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)position, 0);

    private static void Copy<T>(T[] source, ref VBuffer<T> value)
    {
        VBufferEditor<T> editor = VBufferEditor.Create(ref value, source.Length);
        source.CopyTo(editor.Values);
        value = editor.Commit();
    }

    private static ValueGetter<TValue> Unreadable<TValue>(DataViewSchema.Column column)
        => throw new InvalidOperationException($"Input column '{column.Name}' ({column.Type}) is not one the service fills; the pipeline should not read it.");
}
