using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Models;

namespace HjMl.Cli.Commands;

/// <summary>Prints what was inferred about a CSV's columns, so the user sees (and can override) every choice.</summary>
internal static class SchemaReport
{
    public static void Write(TextWriter output, RawTable table, TabularSchema schema)
    {
        LabelColumn label = schema.Label;
        string classes = label.Task switch
        {
            ModelKind.BinaryClassification => $"; positive class '{label.Classes[1]}', negative '{label.Classes[0]}' (--positive to change)",
            ModelKind.MulticlassClassification => $"; {label.Classes.Count} classes: {string.Join(", ", label.Classes.Take(12))}{(label.Classes.Count > 12 ? ", ..." : string.Empty)}",
            _ => string.Empty,
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{table.Source}: {table.Rows.Count} rows x {table.Columns.Count} columns; label '{label.Name}' -> {TrainingSettings.TaskName(label.Task)} ({label.Reason}; --task to change){classes}"));
        foreach (IGrouping<ColumnKind, FeatureColumn> group in schema.Features.GroupBy(c => c.Kind).OrderBy(g => g.Key))
        {
            string names = string.Join(", ", group.Take(8).Select(c => c.Missing > 0 ? $"{c.Name} ({c.Missing} empty)" : c.Name));
            string more = group.Count() > 8 ? $", ... ({group.Count() - 8} more)" : string.Empty;
            string how = group.Key switch
            {
                ColumnKind.Numeric => "numeric",
                ColumnKind.Categorical => "categorical, one-hot",
                ColumnKind.Text => "text, n-grams",
                _ => "ignored",
            };
            string why = group.Key == ColumnKind.Ignored ? " [" + string.Join("; ", group.Select(c => $"{c.Name}: {c.Reason}").Distinct().Take(4)) + "]" : string.Empty;
            output.WriteLine($"  {group.Count(),4} {how}: {names}{more}{why}");
        }
    }
}
