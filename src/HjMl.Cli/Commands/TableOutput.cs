using System.Globalization;
using System.Text;
using System.Text.Json;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>Writes a table of named columns as CSV or JSON (by the file's extension), atomically.</summary>
internal static class TableOutput
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static void Write(string path, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<object>> rows)
    {
        bool json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        var text = new StringBuilder();
        if (json)
        {
            var records = rows.Select(row => columns.Select((name, i) => (name, value: row[i])).ToDictionary(pair => pair.name, pair => Plain(pair.value))).ToList();
            text.Append(JsonSerializer.Serialize(records, IndentedJson));
        }
        else
        {
            text.AppendLine(string.Join(',', columns));
            foreach (IReadOnlyList<object> row in rows)
            {
                text.AppendLine(string.Join(',', row.Select(Cell)));
            }
        }

        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text.ToString());
        });
    }

    private static object? Plain(object value) => value is double number && !double.IsFinite(number) ? number.ToString(CultureInfo.InvariantCulture) : value;

    private static string Cell(object value) => value switch
    {
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
