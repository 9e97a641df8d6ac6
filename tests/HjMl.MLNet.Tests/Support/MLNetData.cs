using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Support;

/// <summary>
/// The repository's data/ sets (provenance in data/README.md) as ML.NET data views: a Features vector of float whose slot
/// names are the CSV header, and a Label typed for the task (float, Boolean, or a key for multiclass).
/// </summary>
public static class MLNetData
{
    private static readonly Lazy<string> RepositoryRootFolder = new(FindRepositoryRoot);

    /// <summary>The folder holding HjMl.sln.</summary>
    public static string RepositoryRoot => RepositoryRootFolder.Value;

    /// <summary>diabetes.csv: 442 rows, 10 features, a float label (disease progression).</summary>
    public static IDataView Diabetes(MLContext context) => Load(context, "diabetes.csv", DataKind.Single);

    /// <summary>breast_cancer.csv: 569 rows, 30 features, a Boolean label (true = benign, the file's 1).</summary>
    public static IDataView BreastCancer(MLContext context) => Load(context, "breast_cancer.csv", DataKind.Boolean);

    /// <summary>iris.csv: 150 rows, 4 features, Label mapped to a key of the three species numbers.</summary>
    public static IDataView Iris(MLContext context)
        => context.Transforms.Conversion.MapValueToKey("Label").Fit(Load(context, "iris.csv", DataKind.Single)).Transform(Load(context, "iris.csv", DataKind.Single));

    /// <summary>The header of data/<paramref name="fileName"/>: feature names, then Label.</summary>
    public static string[] Header(string fileName) => File.ReadLines(Path.Combine(RepositoryRoot, "data", fileName)).First().Split(',');

    /// <summary>Loads data/<paramref name="fileName"/>: every column but the last is a feature, the last is Label.</summary>
    public static IDataView Load(MLContext context, string fileName, DataKind labelKind)
    {
        int features = Header(fileName).Length - 1;
        string path = Path.Combine(RepositoryRoot, "data", fileName);
        var options = new TextLoader.Options
        {
            Columns = [new TextLoader.Column("Features", DataKind.Single, 0, features - 1), new TextLoader.Column("Label", labelKind, features)],
            Separators = [','],
            HasHeader = true,
        };

        // With a data sample the loader reads the header, so Features gets the column names as slot names.
        var source = new MultiFileSource(path);
        return context.Data.CreateTextLoader(options, source).Load(source);
    }

    /// <summary>The values of a float column, in row order.</summary>
    public static float[] Floats(IDataView data, string column) => data.GetColumn<float>(column).ToArray();

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above the test assembly ({AppContext.BaseDirectory}) holds HjMl.sln.");
    }
}
