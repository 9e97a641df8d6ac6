using System.IO.Compression;

namespace HjMl.Data;

/// <summary>
/// Unlabelled rows for scoring: the columns a model was trained on, found by name in a CSV file's header (other
/// columns, such as a label, are ignored). Row-major.
/// </summary>
public sealed class FeatureTable
{
    private readonly double[] features;

    private FeatureTable(double[] features, int rows)
    {
        this.features = features;
        Rows = rows;
    }

    /// <summary>The number of rows.</summary>
    public int Rows { get; }

    /// <summary>All features, row-major, in the order of the names asked for.</summary>
    public ReadOnlySpan<double> Features => features;

    /// <summary>Reads the columns <paramref name="featureNames"/> of <paramref name="path"/> (.csv or .csv.gz).</summary>
    /// <exception cref="InvalidDataException">A column is missing, the header repeats a name or leaves one empty, or a cell is empty, not a number or not finite (named by row and column).</exception>
    public static FeatureTable Load(string path, IReadOnlyList<string> featureNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(featureNames);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The data file '{path}' does not exist.", path);
        }

        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        return Read(reader, featureNames, Path.GetFileName(path));
    }

    /// <summary>Reads the columns <paramref name="featureNames"/> (distinct, non-empty names) from CSV text.</summary>
    /// <exception cref="ArgumentException"><paramref name="featureNames"/> repeats a name or holds an empty one.</exception>
    public static FeatureTable Read(TextReader reader, IReadOnlyList<string> featureNames, string source = "data")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(featureNames);
        Dataset.RequireDistinctNames(featureNames, nameof(featureNames));
        string header = reader.ReadLine() ?? throw new InvalidDataException($"{source}: the file is empty; it needs a header row.");
        string[] names = CsvDataset.Header(header, source);
        int[] columns = new int[featureNames.Count];
        for (int k = 0; k < featureNames.Count; k++)
        {
            columns[k] = Array.IndexOf(names, featureNames[k]);
            if (columns[k] < 0)
            {
                throw new InvalidDataException($"{source}: the model needs a column '{featureNames[k]}', which the file does not have.");
            }
        }

        var values = new List<double>();
        int rows = 0;
        CsvDataset.ReadRows(reader, names, source, (cells, row) =>
        {
            rows = row;
            foreach (int column in columns)
            {
                values.Add(CsvDataset.Parse(cells[column], source, row, names[column]));
            }
        });

        return new FeatureTable([.. values], rows);
    }
}
