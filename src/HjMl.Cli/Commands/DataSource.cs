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
    public static void Check(HjMl.Models.HopfColeModel model, ReadOnlySpan<double> features, int rows)
        => model.ScoreBatch(features, new double[rows * model.OutputLength]);

    /// <summary>
    /// <see cref="Check(HjMl.Models.HopfColeModel, ReadOnlySpan{double}, int)"/> for a streamed batch: a row that cannot be
    /// scored is named by its position in the file, not in the batch.
    /// </summary>
    public static void Check(HjMl.Models.HopfColeModel model, HjMl.Cli.Data.RowBatch batch)
    {
        int d = model.InputDimension;
        try
        {
            Check(model, batch.Features.AsSpan(0, batch.Rows * d), batch.Rows);
        }
        catch (ArgumentException) when (batch.FirstRow > 0)
        {
            for (int row = 0; row < batch.Rows; row++)
            {
                try
                {
                    Check(model, batch.Features.AsSpan(row * d, d), 1);
                }
                catch (ArgumentException single) when (single.Message.StartsWith("Row 1 ", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Row {batch.FirstRow + row + 1} {single.Message["Row 1 ".Length..]}", single);
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Refuses, naming it, the first row with a feature more than <see cref="HjMl.Models.HopfColeModel.FiniteScoreRange"/>
    /// standardised units from its training mean: a plane or statistic through such a row overflows double.
    /// </summary>
    public static void WithinRange(HjMl.Models.HopfColeModel model, ReadOnlySpan<double> features, int rows)
    {
        int d = model.InputDimension;
        ReadOnlySpan<double> means = model.Scaling.Means, scales = model.Scaling.Scales;
        for (int row = 0; row < rows; row++)
        {
            for (int k = 0; k < d; k++)
            {
                double z = (features[(row * d) + k] - means[k]) / scales[k];
                if (!(Math.Abs(z) <= HjMl.Models.HopfColeModel.FiniteScoreRange))
                {
                    throw new ArgumentException($"Row {row + 1}: feature '{model.FeatureNames[k]}' is {features[(row * d) + k]}, {Math.Abs(z):G3} standardised units from its training mean, beyond the {HjMl.Models.HopfColeModel.FiniteScoreRange:G3} within which the model's geometry stays finite.");
                }
            }
        }
    }

    /// <summary>Refuses row <paramref name="row"/> (0-based) when one of <paramref name="values"/> (named <paramref name="what"/>) is not finite.</summary>
    public static void RequireFinite(int row, string verb, string what, params double[] values)
    {
        if (!values.All(double.IsFinite))
        {
            throw new ArgumentException($"Row {row + 1} cannot be {verb}: its {what} ({string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}) are not all finite; the row lies too far from the training data for double.");
        }
    }
}
