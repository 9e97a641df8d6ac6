using System.Globalization;

namespace HjMl.Cli.Data;

/// <summary>
/// How every verb and the report name a support point's training row, so that no one reads a 1-based number as a
/// 0-based index or as a line of the file: "training row 37 (file line 38)".
/// </summary>
internal static class TrainingRows
{
    /// <summary>What a name means, for a footnote or help text.</summary>
    public const string Note = "Training rows are numbered from 1 in the order of the rows trained on, the header not counted: training row 37 is the 37th data row, line 38 of a CSV file with a header, index 36 counting from 0 (the 0-based index is what ML.NET's TopSupportRows and the CSV outputs' TrainingRow and NearestSupportRow columns hold). When training left rows out (a held-out share with --search, rows with an empty label), the numbers count the rows kept, and file lines are later by the rows left out before them.";

    /// <summary>The name of the training row at 0-based <paramref name="index"/> (negative: unknown).</summary>
    public static string Name(int index) => index >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"training row {index + 1} (file line {index + 2})")
        : "an unknown training row";
}
