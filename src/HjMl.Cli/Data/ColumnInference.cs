using System.Globalization;
using HjMl.Models;

namespace HjMl.Cli.Data;

/// <summary>What the user said about the columns: the label, the task, and columns whose kind is forced or ignored.</summary>
/// <param name="Label">The label column's name.</param>
/// <param name="Task">The task, or null to infer it from the label.</param>
/// <param name="Ignore">Columns not to use.</param>
/// <param name="Categorical">Columns to one-hot encode whatever their cells look like.</param>
/// <param name="Text">Columns to featurise as free text.</param>
/// <param name="Numeric">Columns to read as numbers.</param>
/// <param name="PositiveClass">For binary classification, the label value that is the positive class, or null to infer it.</param>
internal sealed record ColumnChoices(
    string Label,
    ModelKind? Task = null,
    IReadOnlyList<string>? Ignore = null,
    IReadOnlyList<string>? Categorical = null,
    IReadOnlyList<string>? Text = null,
    IReadOnlyList<string>? Numeric = null,
    string? PositiveClass = null);

/// <summary>
/// Infers each column's kind and the task from the cells, as ML.NET's AutoML column inference does, with every choice
/// overridable (<see cref="ColumnChoices"/>). A column is numeric when every non-empty cell is a number; otherwise free
/// text when its cells average three or more words and most are distinct; otherwise categorical. The task is binary for
/// a label with two values, multiclass for a text label or whole numbers with at most
/// <see cref="MaximumClassesForNumbers"/> values, and regression for other numbers.
/// </summary>
internal static class ColumnInference
{
    /// <summary>Beyond this many distinct values a categorical column is hashed into this many slots instead of one-hot.</summary>
    public const int HashingThreshold = 1000;

    /// <summary>A label of whole numbers with at most this many values is a class label.</summary>
    public const int MaximumClassesForNumbers = 20;

    private static readonly string[] PositiveWords = ["1", "true", "yes", "y", "t", "positive", "pos"];

    /// <summary>Infers the schema of <paramref name="table"/>.</summary>
    /// <exception cref="ArgumentException">A named column does not exist, or an override contradicts the cells (the message names both).</exception>
    public static TabularSchema Infer(RawTable table, ColumnChoices choices)
    {
        int labelIndex = table.IndexOf(choices.Label);
        if (labelIndex < 0)
        {
            throw new ArgumentException($"{table.Source} has no label column '{choices.Label}'; its columns are {string.Join(", ", table.Columns.Select(c => $"'{c}'"))}. Name the label with --label.");
        }

        foreach (string name in (choices.Ignore ?? []).Concat(choices.Categorical ?? []).Concat(choices.Text ?? []).Concat(choices.Numeric ?? []))
        {
            if (table.IndexOf(name) < 0)
            {
                throw new ArgumentException($"{table.Source} has no column '{name}' (named by --ignore, --categorical, --text or --numeric); its columns are {string.Join(", ", table.Columns.Select(c => $"'{c}'"))}.");
            }

            if (name == choices.Label)
            {
                throw new ArgumentException($"'{name}' is the label column; it cannot also be ignored or featurised.");
            }
        }

        var features = new List<FeatureColumn>();
        for (int i = 0; i < table.Columns.Count; i++)
        {
            if (i != labelIndex)
            {
                features.Add(Feature(table, i, choices));
            }
        }

        return new TabularSchema(features, Label(table, labelIndex, choices));
    }

    private static FeatureColumn Feature(RawTable table, int index, ColumnChoices choices)
    {
        string name = table.Columns[index];
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        int missing = 0, numbers = 0, present = 0;
        long words = 0;
        string? notNumber = null;
        int notNumberRow = 0;
        for (int row = 0; row < table.Rows.Count; row++)
        {
            string? cell = table.Rows[row][index];
            if (cell is null)
            {
                missing++;
                continue;
            }

            present++;
            distinct.Add(cell);
            if (RawTable.TryNumber(cell, out _))
            {
                numbers++;
            }
            else if (notNumber is null)
            {
                notNumber = cell;
                notNumberRow = row + 1;
            }

            words += 1 + cell.Count(char.IsWhiteSpace);
        }

        if (choices.Ignore?.Contains(name) == true)
        {
            return new FeatureColumn(name, index, ColumnKind.Ignored, missing, distinct.Count, "--ignore");
        }

        if (choices.Numeric?.Contains(name) == true)
        {
            return notNumber is null
                ? new FeatureColumn(name, index, ColumnKind.Numeric, missing, distinct.Count, "--numeric")
                : throw new ArgumentException($"--numeric names '{name}', but its data row {notNumberRow} is '{notNumber}', which is not a number.");
        }

        if (choices.Categorical?.Contains(name) == true)
        {
            return new FeatureColumn(name, index, ColumnKind.Categorical, missing, distinct.Count, "--categorical");
        }

        if (choices.Text?.Contains(name) == true)
        {
            return new FeatureColumn(name, index, ColumnKind.Text, missing, distinct.Count, "--text");
        }

        if (present == 0)
        {
            return new FeatureColumn(name, index, ColumnKind.Ignored, missing, 0, "every cell is empty");
        }

        if (distinct.Count == 1 && missing == 0)
        {
            return new FeatureColumn(name, index, ColumnKind.Ignored, missing, 1, "one value in every row");
        }

        if (numbers == present)
        {
            return new FeatureColumn(name, index, ColumnKind.Numeric, missing, distinct.Count, "every cell is a number");
        }

        double meanWords = words / (double)present;
        if (meanWords >= 3 && distinct.Count > 0.5 * present)
        {
            return new FeatureColumn(name, index, ColumnKind.Text, missing, distinct.Count, string.Create(CultureInfo.InvariantCulture, $"{meanWords:F1} words a cell, mostly distinct"));
        }

        return new FeatureColumn(name, index, ColumnKind.Categorical, missing, distinct.Count, $"{distinct.Count} distinct values{(notNumber is null ? string.Empty : $", e.g. '{notNumber}'")}");
    }

    private static LabelColumn Label(RawTable table, int index, ColumnChoices choices)
    {
        string name = table.Columns[index];
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        bool numeric = true, whole = true;
        foreach (string?[] row in table.Rows)
        {
            if (row[index] is not { } cell)
            {
                continue;
            }

            counts[cell] = counts.GetValueOrDefault(cell) + 1;
            if (!RawTable.TryNumber(cell, out double value))
            {
                numeric = false;
            }
            else if (value != Math.Round(value))
            {
                whole = false;
            }
        }

        if (counts.Count == 0)
        {
            throw new ArgumentException($"The label column '{name}' of {table.Source} is empty in every row.");
        }

        ModelKind task;
        string reason;
        if (choices.Task is { } given)
        {
            task = given;
            reason = "--task";
        }
        else if (counts.Count == 2)
        {
            (task, reason) = (ModelKind.BinaryClassification, "two label values");
        }
        else if (!numeric)
        {
            (task, reason) = (ModelKind.MulticlassClassification, $"{counts.Count} label values, not numbers");
        }
        else if (whole && counts.Count <= MaximumClassesForNumbers)
        {
            (task, reason) = (ModelKind.MulticlassClassification, $"{counts.Count} whole-number label values");
        }
        else
        {
            (task, reason) = (ModelKind.Regression, whole ? $"{counts.Count} whole-number label values (more than {MaximumClassesForNumbers})" : "fractional label values");
        }

        if (task == ModelKind.Regression)
        {
            if (!numeric)
            {
                string example = counts.Keys.First(k => !RawTable.TryNumber(k, out _));
                throw new ArgumentException($"--task regression needs a numeric label, but '{name}' holds '{example}'.");
            }

            return new LabelColumn(name, index, task, [], true, reason);
        }

        List<string> classes = numeric
            ? counts.Keys.OrderBy(k => double.Parse(k, CultureInfo.InvariantCulture)).ToList()
            : counts.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (task == ModelKind.BinaryClassification)
        {
            if (classes.Count != 2)
            {
                throw new ArgumentException($"--task binary needs a label with two values, but '{name}' has {classes.Count}{(classes.Count > 2 ? $": {string.Join(", ", classes.Take(10).Select(c => $"'{c}'"))}" : string.Empty)} (a single class cannot be learned).");
            }

            string positive = Positive(classes, counts, choices.PositiveClass, name);
            classes = [classes.First(c => c != positive), positive];
        }
        else if (classes.Count < 2)
        {
            throw new ArgumentException($"The label '{name}' has a single class ('{classes[0]}'): there is nothing to learn.");
        }

        return new LabelColumn(name, index, task, classes, numeric, reason);
    }

    // The positive class: the one named, else a word that reads as "yes" or the larger number, else the rarer value
    // (the event a binary model is usually asked to find, as ">50K" in adult).
    private static string Positive(List<string> classes, Dictionary<string, int> counts, string? given, string name)
    {
        if (given is not null)
        {
            return classes.Contains(given)
                ? given
                : throw new ArgumentException($"--positive is '{given}', which is not a value of the label '{name}' ({string.Join(", ", classes.Select(c => $"'{c}'"))}).");
        }

        string? word = classes.FirstOrDefault(c => PositiveWords.Contains(c, StringComparer.OrdinalIgnoreCase));
        if (word is not null)
        {
            return word;
        }

        if (classes.All(c => RawTable.TryNumber(c, out _)))
        {
            return classes[1];
        }

        return counts[classes[0]] <= counts[classes[1]] ? classes[0] : classes[1];
    }
}
