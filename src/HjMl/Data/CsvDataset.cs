using System.Globalization;
using System.IO.Compression;

namespace HjMl.Data;

/// <summary>
/// Reads numeric CSV files (header row, comma-separated, invariant culture, optionally gzip-compressed) into a
/// <see cref="Dataset"/>. Every problem is an <see cref="InvalidDataException"/> that names the file, the row and the column;
/// a header whose column names are empty or repeated is refused.
/// </summary>
public static class CsvDataset
{
    /// <summary>Loads <paramref name="path"/> (.csv, or .csv.gz) with <paramref name="labelColumn"/> as the label and every other column as a feature.</summary>
    public static Dataset Load(string path, string labelColumn)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The data file '{path}' does not exist.", path);
        }

        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        return Read(reader, labelColumn, Path.GetFileName(path));
    }

    /// <summary>Reads CSV text from <paramref name="reader"/>; <paramref name="source"/> names it in messages.</summary>
    public static Dataset Read(TextReader reader, string labelColumn, string source = "data")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        string header = reader.ReadLine() ?? throw new InvalidDataException($"{source}: the file is empty; it needs a header row and at least one data row.");
        string[] names = Header(header, source);
        int labelIndex = Array.IndexOf(names, labelColumn);
        if (labelIndex < 0)
        {
            throw new InvalidDataException($"{source}: there is no label column '{labelColumn}'; the columns are {string.Join(", ", names)}.");
        }

        string[] featureNames = names.Where((_, i) => i != labelIndex).ToArray();
        if (featureNames.Length == 0)
        {
            throw new InvalidDataException($"{source}: the only column is the label '{labelColumn}'; there are no features.");
        }

        var features = new List<double>();
        var labels = new List<double>();
        ReadRows(reader, names, source, (cells, row) =>
        {
            for (int column = 0; column < cells.Length; column++)
            {
                double value = Parse(cells[column], source, row, names[column]);
                (column == labelIndex ? labels : features).Add(value);
            }
        });

        return new Dataset([.. features], [.. labels], featureNames, labelColumn);
    }

    /// <summary>
    /// Splits a header row into trimmed column names and refuses a name that is empty or repeated: rows are read by
    /// position when training and by name when scoring, so a repeated name would make the two disagree silently.
    /// </summary>
    internal static string[] Header(string header, string source)
    {
        string[] names = header.Split(',').Select(name => name.Trim()).ToArray();
        var seen = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (int column = 0; column < names.Length; column++)
        {
            if (names[column].Length == 0)
            {
                throw new InvalidDataException($"{source}: column {column + 1} of the header has no name; every column needs a name, since models find their columns by name.");
            }

            if (!seen.TryAdd(names[column], column))
            {
                throw new InvalidDataException($"{source}: the header names column '{names[column]}' twice (columns {seen[names[column]] + 1} and {column + 1}); column names must be distinct, since models find their columns by name.");
            }
        }

        return names;
    }

    /// <summary>
    /// Reads the data rows after a header of <paramref name="names"/>: skips blank lines, checks every row has one field
    /// per column, hands each row's cells and 1-based number to <paramref name="row"/>, and rejects a file without rows.
    /// </summary>
    internal static void ReadRows(TextReader reader, string[] names, string source, Action<string[], int> row)
    {
        int number = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Length == 0)
            {
                continue;
            }

            number++;
            string[] cells = line.Split(',');
            if (cells.Length != names.Length)
            {
                throw new InvalidDataException($"{source}: row {number} has {cells.Length} fields but the header has {names.Length}.");
            }

            row(cells, number);
        }

        if (number == 0)
        {
            throw new InvalidDataException($"{source}: the file has a header but no data rows.");
        }
    }

    internal static double Parse(string cell, string source, int row, string column)
    {
        string text = cell.Trim();
        if (text.Length == 0)
        {
            throw new InvalidDataException($"{source}: row {row}, column '{column}' is empty; every cell must hold a number.");
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
        {
            throw new InvalidDataException($"{source}: row {row}, column '{column}' is '{text}', which is not a number.");
        }

        if (!double.IsFinite(value))
        {
            throw new InvalidDataException($"{source}: row {row}, column '{column}' is {text}; values must be finite (no NaN or infinity).");
        }

        return value;
    }
}
