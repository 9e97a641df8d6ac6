using System.Globalization;
using System.Text.Json;

namespace HjMl.Service.Scoring;

/// <summary>
/// Reads one JSON object of column name → value into an <see cref="InputRow"/>, validating as it goes: every property
/// must name an input column (once), every column the pipeline reads must be there, and each value must be of the
/// column's kind: a finite number in float range for numeric columns (NaN and infinity, which JSON can only send as
/// strings, are refused by name), a string for text, true or false, or an array of exactly the vector's size. The first
/// fault is thrown as a <see cref="RequestException"/> naming the column and row.
/// </summary>
internal static class RowParser
{
    // Column names longer than this are not columns of any schema the service serves.
    private const int MaximumNameLength = 256;

    /// <summary>Reads the object <paramref name="reader"/> stands on (its StartObject) into <paramref name="row"/>.</summary>
    public static void Read(ref Utf8JsonReader reader, RequestColumns columns, InputRow row, bool[] seen, int rowIndex)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"Row {rowIndex} is {Describe(reader.TokenType)}; each row must be a JSON object of column name → value (columns: {columns.RequiredNames}).", row: rowIndex);
        }

        row.Next();
        Array.Clear(seen);
        Span<char> name = stackalloc char[MaximumNameLength];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            RequestColumn? column = null;
            string? unknown = null;
            if (length <= MaximumNameLength && !reader.ValueIsEscaped)
            {
                int written = reader.CopyString(name);
                column = columns.Find(name[..written]);
                unknown = column is null ? name[..written].ToString() : null;
            }
            else
            {
                unknown = reader.GetString()!;
                column = columns.Find(unknown);
            }

            if (column is null)
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"Unknown column '{Shorten(unknown!)}' in row {rowIndex}; the model reads: {columns.RequiredNames}.", Shorten(unknown!), rowIndex);
            }

            if (seen[column.SchemaIndex])
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"Column '{column.Name}' appears twice in row {rowIndex}.", column.Name, rowIndex);
            }

            seen[column.SchemaIndex] = true;
            reader.Read();
            if (!column.Read)
            {
                reader.Skip();
                continue;
            }

            ReadValue(ref reader, column, row, rowIndex);
        }

        foreach (RequestColumn column in columns.Required)
        {
            if (!seen[column.SchemaIndex])
            {
                string[] missing = [.. columns.Required.Where(required => !seen[required.SchemaIndex]).Select(required => required.Name)];
                throw new RequestException(StatusCodes.Status400BadRequest, $"Missing column{(missing.Length > 1 ? "s" : string.Empty)} {string.Join(", ", missing.Select(item => $"'{item}'"))} in row {rowIndex}; every row must give all of: {columns.RequiredNames}.", column.Name, rowIndex);
            }
        }
    }

    private static void ReadValue(ref Utf8JsonReader reader, RequestColumn column, InputRow row, int rowIndex)
    {
        switch (column.Kind)
        {
            case ValueKind.Single:
                row.SetSingle(column, (float)Number(ref reader, column, rowIndex, single: true));
                break;
            case ValueKind.Double:
                row.SetDouble(column, Number(ref reader, column, rowIndex, single: false));
                break;
            case ValueKind.Boolean:
                row.SetBoolean(column, reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw WrongType(ref reader, column, rowIndex),
                });
                break;
            case ValueKind.Text:
                row.SetText(column, reader.TokenType == JsonTokenType.String ? reader.GetString().AsMemory() : throw WrongType(ref reader, column, rowIndex));
                break;
            case ValueKind.SingleVector:
                Vector(ref reader, column, rowIndex, row.SingleVector(column), null);
                break;
            case ValueKind.DoubleVector:
                Vector(ref reader, column, rowIndex, null, row.DoubleVector(column));
                break;
            default:
                throw new InvalidOperationException($"Column '{column.Name}' is read but has no JSON kind; RequestColumns refuses such models.");
        }
    }

    private static void Vector(ref Utf8JsonReader reader, RequestColumn column, int rowIndex, float[]? singles, double[]? doubles)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw WrongType(ref reader, column, rowIndex);
        }

        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (count == column.Size)
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"Column '{column.Name}' in row {rowIndex} has more than {column.Size} values; it must be an array of {column.Size} numbers.", column.Name, rowIndex);
            }

            double value = Number(ref reader, column, rowIndex, single: singles is not null, count);
            if (singles is not null)
            {
                singles[count] = (float)value;
            }
            else
            {
                doubles![count] = value;
            }

            count++;
        }

        if (count != column.Size)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"Column '{column.Name}' in row {rowIndex} has {count} values; it must be an array of {column.Size} numbers.", column.Name, rowIndex);
        }
    }

    private static double Number(ref Utf8JsonReader reader, RequestColumn column, int rowIndex, bool single, int? slot = null)
    {
        string where = slot is { } index ? $"Column '{column.Name}' (value {index})" : $"Column '{column.Name}'";
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetDouble(out double value) || !double.IsFinite(value) || (single && Math.Abs(value) > float.MaxValue))
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"{where} in row {rowIndex} is {Shorten(Raw(ref reader))}, beyond the {(single ? "float32" : "float64")} range.", column.Name, rowIndex);
            }

            return value;
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            string text = reader.GetString()!;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) && !double.IsFinite(parsed))
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"{where} in row {rowIndex} is {text}: NaN and infinite features are refused (HjMl scores finite numbers only).", column.Name, rowIndex);
            }
        }

        throw WrongType(ref reader, column, rowIndex);
    }

    private static RequestException WrongType(ref Utf8JsonReader reader, RequestColumn column, int rowIndex)
    {
        string got = reader.TokenType == JsonTokenType.String ? $"the string \"{Shorten(reader.GetString()!)}\"" : Describe(reader.TokenType);
        return new RequestException(StatusCodes.Status400BadRequest, $"Column '{column.Name}' in row {rowIndex} must be {column.Expected}; it is {got}.", column.Name, rowIndex);
    }

    private static string Raw(ref Utf8JsonReader reader)
        => System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);

    /// <summary>What a JSON token is, in words.</summary>
    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.Null => "null",
        JsonTokenType.True or JsonTokenType.False => "a Boolean",
        JsonTokenType.Number => "a number",
        JsonTokenType.String => "a string",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        _ => token.ToString(),
    };

    private static string Shorten(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 61), "...");
}
