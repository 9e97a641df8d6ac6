using HjMl.Data;

namespace HjMl.Cli.Commands;

/// <summary>Where a verb's data comes from: a CSV file, or the breast_cancer set embedded in the tool.</summary>
internal static class DataSource
{
    public const string EmbeddedName = "breast_cancer (embedded)";

    public static (Dataset Data, string Name) Load(string? path, string label)
    {
        if (path is not null)
        {
            return (CsvDataset.Load(path, label), Path.GetFileName(path));
        }

        using Stream stream = typeof(DataSource).Assembly.GetManifestResourceStream("HjMl.Cli.breast_cancer.csv")
            ?? throw new InvalidOperationException("The embedded breast_cancer data set is missing from this build of hjml.");
        using var reader = new StreamReader(stream);
        return (CsvDataset.Read(reader, label, "breast_cancer.csv"), EmbeddedName);
    }
}

/// <summary>Rows a verb explains, certifies or plots, checked up front.</summary>
internal static class ScoredRows
{
    /// <summary>
    /// Scores every row once, so that a row whose scores are not finite (a feature that standardises beyond double's
    /// range, logits that overflow) stops the verb with an error naming the row, before any output is written.
    /// </summary>
    public static void Check(HjMl.Models.HopfColeModel model, FeatureTable table)
        => model.ScoreBatch(table.Features, new double[table.Rows * model.OutputLength]);
}
