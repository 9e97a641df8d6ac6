using Sylvan.Data.Csv;

namespace HjMl.Cli.Data;

/// <summary>
/// Opens a CSV file (or the breast_cancer set embedded in the tool) with Sylvan.Data.Csv: quoted fields, a separator
/// detected from the header (comma, semicolon, tab or bar) unless given, a byte-order mark and CRLF line ends are all
/// handled. Header names are checked: none empty, none repeated.
/// </summary>
internal static class CsvSource
{
    /// <summary>What the user sees as the name of the embedded data set.</summary>
    public const string EmbeddedName = "breast_cancer (embedded)";

    // A record must fit the reader's buffer: 64 Mi characters holds a row of a million numbers of 60 characters.
    private const int MaximumRecordCharacters = 1 << 26;

    /// <summary>Opens <paramref name="path"/>, or the embedded breast_cancer set when it is null.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The header is empty, has an unnamed column or repeats a name.</exception>
    public static CsvDataReader Open(string? path, char? separator = null)
    {
        TextReader text = path is null ? EmbeddedReader() : OpenFile(path);
        var options = new CsvDataReaderOptions { HasHeaders = true, Delimiter = separator, OwnsReader = true, MaxBufferSize = MaximumRecordCharacters };
        CsvDataReader reader;
        try
        {
            reader = CsvDataReader.Create(text, options);
        }
        catch (CsvFormatException problem)
        {
            text.Dispose();
            throw new InvalidDataException($"{NameOf(path)}: {problem.Message}", problem);
        }

        try
        {
            CheckHeader(reader, NameOf(path));
        }
        catch
        {
            reader.Dispose();
            throw;
        }

        return reader;
    }

    /// <summary>The file name the user gave, or the embedded set's name.</summary>
    public static string NameOf(string? path) => path is null ? EmbeddedName : Path.GetFileName(path);

    /// <summary>The header's column names, in order.</summary>
    public static string[] Header(CsvDataReader reader) => Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();

    private static StreamReader OpenFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The data file '{path}' does not exist.", path);
        }

        Stream stream = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
        }

        return new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
    }

    private static StreamReader EmbeddedReader()
    {
        Stream stream = typeof(CsvSource).Assembly.GetManifestResourceStream("HjMl.Cli.breast_cancer.csv")
            ?? throw new InvalidOperationException("The embedded breast_cancer data set is missing from this build of hjml.");
        return new StreamReader(stream);
    }

    private static void CheckHeader(CsvDataReader reader, string source)
    {
        string[] names = Header(reader);
        if (names.Length == 0 || (names.Length == 1 && string.IsNullOrWhiteSpace(names[0])))
        {
            throw new InvalidDataException($"{source} has no header row: the first line must name the columns.");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(names[i]))
            {
                throw new InvalidDataException($"{source}: column {i + 1} of the header has no name.");
            }

            if (!seen.TryAdd(names[i], i))
            {
                throw new InvalidDataException($"{source}: the header names column '{names[i]}' twice (columns {seen[names[i]] + 1} and {i + 1}); rename one, so that every column is read once by its name.");
            }
        }
    }
}
