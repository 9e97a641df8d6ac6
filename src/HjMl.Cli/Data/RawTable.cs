using System.Globalization;
using Sylvan.Data.Csv;

namespace HjMl.Cli.Data;

/// <summary>
/// A CSV file read whole as text: its header and, per row, the trimmed cells, with empty cells and the usual markers of a
/// missing value (?, NA, N/A, NaN, null) as null. Repeated cell values share one string, so a wide numeric file costs
/// little more than its references.
/// </summary>
internal sealed class RawTable
{
    private static readonly HashSet<string> MissingMarkers = new(StringComparer.OrdinalIgnoreCase) { string.Empty, "?", "NA", "N/A", "NaN", "null", "None" };

    private RawTable(string source, string[] columns, List<string?[]> rows)
    {
        Source = source;
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The file name (or the embedded set's name), for messages.</summary>
    public string Source { get; }

    /// <summary>The header.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The rows; each has one cell per column, null where the value is missing.</summary>
    public IReadOnlyList<string?[]> Rows { get; }

    /// <summary>Reads <paramref name="path"/> (or the embedded set when null) whole.</summary>
    /// <exception cref="InvalidDataException">A row has more cells than the header, or the file has no rows.</exception>
    public static RawTable Read(string? path, char? separator = null, CancellationToken cancellation = default)
    {
        string source = CsvSource.NameOf(path);
        using CsvDataReader reader = CsvSource.Open(path, separator);
        string[] columns = CsvSource.Header(reader);
        var pools = new Dictionary<string, string>[columns.Length];
        for (int i = 0; i < pools.Length; i++)
        {
            pools[i] = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        var rows = new List<string?[]>();
        foreach (string?[] cells in ReadRows(reader, source, columns.Length, cancellation))
        {
            for (int i = 0; i < cells.Length; i++)
            {
                if (cells[i] is { } cell && pools[i].Count < 100_000)
                {
                    if (!pools[i].TryGetValue(cell, out string? shared))
                    {
                        pools[i][cell] = shared = cell;
                    }

                    cells[i] = shared;
                }
            }

            rows.Add(cells);
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"{source} has a header but no rows.");
        }

        return new RawTable(source, columns, rows);
    }

    /// <summary>
    /// The rows of an open reader as cells (null where missing), one array per row; a row with more cells than the header
    /// is an error naming the row, and short rows are padded with missing cells.
    /// </summary>
    public static IEnumerable<string?[]> ReadRows(CsvDataReader reader, string source, int width, CancellationToken cancellation)
    {
        int line = 1;
        while (reader.Read())
        {
            line++;
            if ((line & 0x3FF) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            int count = reader.RowFieldCount;
            if (count == 1 && string.IsNullOrWhiteSpace(reader.GetString(0)) && width > 1)
            {
                continue;
            }

            if (count > width)
            {
                throw new InvalidDataException($"{source}, data row {line - 1}: {count} cells, but the header names {width} columns.");
            }

            var cells = new string?[width];
            for (int i = 0; i < count; i++)
            {
                string cell = reader.GetString(i).Trim();
                cells[i] = MissingMarkers.Contains(cell) ? null : cell;
            }

            yield return cells;
        }
    }

    /// <summary>Whether <paramref name="cell"/> reads as a finite number (invariant culture).</summary>
    public static bool TryNumber(string cell, out double value)
        => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>The index of column <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
