using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Scoring;

/// <summary>What a request's JSON value for a column must be.</summary>
internal enum ValueKind
{
    /// <summary>A JSON number, read as float32.</summary>
    Single,

    /// <summary>A JSON number, read as float64.</summary>
    Double,

    /// <summary>true or false.</summary>
    Boolean,

    /// <summary>A JSON string.</summary>
    Text,

    /// <summary>A JSON array of exactly <see cref="RequestColumn.Size"/> numbers, read as float32.</summary>
    SingleVector,

    /// <summary>A JSON array of exactly <see cref="RequestColumn.Size"/> numbers, read as float64.</summary>
    DoubleVector,
}

/// <summary>One column of the saved pipeline's input schema, as a request names it.</summary>
/// <param name="Name">The column name, the JSON property name (case-sensitive).</param>
/// <param name="SchemaIndex">The column's index in the input schema.</param>
/// <param name="Kind">What its JSON value must be; null for a column of a type JSON cannot give, which the model must not read.</param>
/// <param name="Size">The vector size (vectors), else 1.</param>
/// <param name="Read">Whether the pipeline reads it: a read column is required, any other is accepted and ignored (a label, say).</param>
internal sealed record RequestColumn(string Name, int SchemaIndex, ValueKind? Kind, int Size, bool Read)
{
    /// <summary>What a request must send, for messages and <c>GET /model</c>.</summary>
    public string Expected => Kind switch
    {
        ValueKind.Single or ValueKind.Double => "a number",
        ValueKind.Boolean => "true or false",
        ValueKind.Text => "a string",
        ValueKind.SingleVector or ValueKind.DoubleVector => $"an array of {Size} numbers",
        _ => "nothing (a type JSON cannot give)",
    };
}

/// <summary>
/// The columns a request gives: the visible columns of the input schema the pipeline was saved with, each marked read
/// (required) or not (ignored), found by name without allocating.
/// </summary>
internal sealed class RequestColumns
{
    private readonly Dictionary<string, RequestColumn> byName;
    private readonly Dictionary<string, RequestColumn>.AlternateLookup<ReadOnlySpan<char>> lookup;

    /// <summary>Reads the request columns of <paramref name="inputSchema"/>; <paramref name="read"/> are the columns the pipeline depends on.</summary>
    /// <exception cref="InvalidDataException">The pipeline reads a column whose type no JSON value gives.</exception>
    public RequestColumns(DataViewSchema inputSchema, IEnumerable<DataViewSchema.Column> read)
    {
        InputSchema = inputSchema;
        var dependencies = read.Select(column => column.Index).ToHashSet();
        byName = new Dictionary<string, RequestColumn>(StringComparer.Ordinal);
        foreach (DataViewSchema.Column column in inputSchema.Where(column => !column.IsHidden))
        {
            (ValueKind? kind, int size) = KindOf(column.Type);
            bool isRead = dependencies.Contains(column.Index);
            if (isRead && kind is null)
            {
                throw new InvalidDataException($"The model reads input column '{column.Name}' of type {column.Type}, which the service cannot build from JSON (it reads numbers, text, Booleans and known-size vectors of numbers).");
            }

            byName[column.Name] = new RequestColumn(column.Name, column.Index, kind, size, isRead);
        }

        All = [.. byName.Values.OrderBy(column => column.SchemaIndex)];
        Required = [.. All.Where(column => column.Read)];
        lookup = byName.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The schema the pipeline was saved with.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>Every visible input column, in schema order.</summary>
    public IReadOnlyList<RequestColumn> All { get; }

    /// <summary>The columns every row must give.</summary>
    public IReadOnlyList<RequestColumn> Required { get; }

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public RequestColumn? Find(ReadOnlySpan<char> name) => lookup.TryGetValue(name, out RequestColumn? column) ? column : null;

    /// <summary>The required columns' names, for messages.</summary>
    public string RequiredNames => string.Join(", ", Required.Select(column => column.Name));

    private static (ValueKind? Kind, int Size) KindOf(DataViewType type) => type switch
    {
        NumberDataViewType number when number.RawType == typeof(float) => (ValueKind.Single, 1),
        NumberDataViewType number when number.RawType == typeof(double) => (ValueKind.Double, 1),
        BooleanDataViewType => (ValueKind.Boolean, 1),
        TextDataViewType => (ValueKind.Text, 1),
        VectorDataViewType { IsKnownSize: true } vector when vector.ItemType.RawType == typeof(float) => (ValueKind.SingleVector, vector.Size),
        VectorDataViewType { IsKnownSize: true } vector when vector.ItemType.RawType == typeof(double) => (ValueKind.DoubleVector, vector.Size),
        _ => (null, 1),
    };
}
