using System.Globalization;
using System.Text.Json;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>
/// Writes a table of named columns as CSV or JSON (by the file's extension), atomically: the rows are streamed to a
/// temporary file as they are produced, which replaces the destination only once every row is written.
/// </summary>
internal static class TableOutput
{
    public static void Write(string path, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object>> rows)
    {
        bool json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        AtomicFile.Write(path, stream =>
        {
            if (json)
            {
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
                writer.WriteStartArray();
                foreach (IReadOnlyList<object> row in rows)
                {
                    writer.WriteStartObject();
                    for (int i = 0; i < columns.Count; i++)
                    {
                        writer.WritePropertyName(columns[i]);
                        WriteJson(writer, row[i]);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                return;
            }

            using var text = new StreamWriter(stream, leaveOpen: true);
            text.WriteLine(string.Join(',', columns));
            foreach (IReadOnlyList<object> row in rows)
            {
                text.WriteLine(string.Join(',', row.Select(Cell)));
            }
        });
    }

    private static void WriteJson(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case double number when double.IsFinite(number):
                writer.WriteNumberValue(number);
                break;
            case double number:
                writer.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                break;
            case int integer:
                writer.WriteNumberValue(integer);
                break;
            case long integer:
                writer.WriteNumberValue(integer);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string Cell(object value) => value switch
    {
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
