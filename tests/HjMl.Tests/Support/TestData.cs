using HjMl.Data;

namespace HjMl.Tests.Support;

/// <summary>
/// The small public data sets the repository carries in data/ (provenance in data/README.md). Found by walking up from
/// the test assembly to the folder holding HjMl.sln, so the tests need nothing outside the repository.
/// </summary>
public static class TestData
{
    private static readonly Lazy<string> RepositoryRootFolder = new(FindRepositoryRoot);

    /// <summary>The folder holding HjMl.sln.</summary>
    public static string RepositoryRoot => RepositoryRootFolder.Value;

    /// <summary>The repository's data/ folder.</summary>
    public static string Folder => Path.Combine(RepositoryRoot, "data");

    /// <summary>Loads data/<paramref name="fileName"/> with its Label column as the label.</summary>
    public static Dataset Load(string fileName) => CsvDataset.Load(Path.Combine(Folder, fileName), "Label");

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above the test assembly ({AppContext.BaseDirectory}) holds HjMl.sln; the tests find data/ from there.");
    }
}
