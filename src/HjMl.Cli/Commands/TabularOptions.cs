using HjMl.Cli.Data;

namespace HjMl.Cli.Commands;

/// <summary>The options that say how a CSV's columns are read: label, task, separator, and per-column overrides.</summary>
internal static class TabularOptions
{
    /// <summary>The column options as read from the command line.</summary>
    /// <param name="Columns">Label, task and overrides.</param>
    /// <param name="Separator">The separator, or null to detect it from the header.</param>
    internal sealed record Choices(ColumnChoices Columns, char? Separator)
    {
        /// <summary>The task given with --task, or null.</summary>
        public HjMl.Models.ModelKind? Task => Columns.Task;
    }

    /// <summary>The options <see cref="Read"/> reads (and --task, which <see cref="TrainingSettings"/> lists).</summary>
    public static IReadOnlyList<VerbOption> Options { get; } =
    [
        new("label", "the column to predict", OptionValue.Text, "Label"),
        new("ignore", "columns not to use, comma-separated"),
        new("categorical", "columns to one-hot encode whatever their cells look like, comma-separated"),
        new("text", "columns to featurise as free text (word and character n-grams), comma-separated"),
        new("numeric", "columns to read as numbers, comma-separated"),
        new("positive", "binary: the label value that is the positive class (default: yes/true/1, else the larger number, else the rarer value)"),
        new("separator", "the CSV separator, one character or 'tab' (default: detected from the header)"),
    ];

    /// <summary>Reads --label, --task, --ignore, --categorical, --text, --numeric, --positive and --separator.</summary>
    public static Choices Read(ParsedArguments arguments)
    {
        string label = arguments.Text("label") ?? "Label";
        string? task = arguments.Text("task");
        string? separator = arguments.Text("separator");
        char? sep = separator switch
        {
            null => null,
            "tab" or "\\t" => '\t',
            { Length: 1 } one => one[0],
            _ => throw new UsageException($"--separator is '{separator}'; give one character (or 'tab')."),
        };
        var columns = new ColumnChoices(
            label,
            task is null ? null : TrainingSettings.Kind(task, HjMl.Models.ModelKind.BinaryClassification),
            List(arguments.Text("ignore")),
            List(arguments.Text("categorical")),
            List(arguments.Text("text")),
            List(arguments.Text("numeric")),
            arguments.Text("positive"));
        return new Choices(columns, sep);
    }

    private static string[]? List(string? text)
        => text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
