using HjMl.Models;

namespace HjMl.Cli.Data;

/// <summary>How a feature column is featurised.</summary>
internal enum ColumnKind
{
    /// <summary>A number; empty cells are replaced by the column's mean and flagged by an indicator column.</summary>
    Numeric,

    /// <summary>A few distinct values: one-hot encoded (hashed beyond <see cref="ColumnInference.HashingThreshold"/> values).</summary>
    Categorical,

    /// <summary>Free text: ML.NET's text featurisation (word and character n-grams).</summary>
    Text,

    /// <summary>Not used: named by --ignore, constant, or empty in every row.</summary>
    Ignored,
}

/// <summary>One column of the CSV and what it becomes.</summary>
/// <param name="Name">The header name.</param>
/// <param name="Index">Its position in the header (0-based).</param>
/// <param name="Kind">How it is featurised.</param>
/// <param name="Missing">How many of its cells are empty.</param>
/// <param name="Distinct">How many distinct values it has.</param>
/// <param name="Reason">Why the kind was chosen, for the printed schema.</param>
internal sealed record FeatureColumn(string Name, int Index, ColumnKind Kind, int Missing, int Distinct, string Reason);

/// <summary>The label column and the task it implies.</summary>
/// <param name="Name">The header name.</param>
/// <param name="Index">Its position in the header (0-based).</param>
/// <param name="Task">What is learned.</param>
/// <param name="Classes">For classification, the class values: binary [negative, positive], multiclass in order.</param>
/// <param name="IsNumeric">Whether every label cell is a number.</param>
/// <param name="Reason">Why the task was chosen.</param>
internal sealed record LabelColumn(string Name, int Index, ModelKind Task, IReadOnlyList<string> Classes, bool IsNumeric, string Reason);

/// <summary>The columns of a CSV file as inferred (or overridden): features by kind and the label with its task.</summary>
/// <param name="Features">Every column but the label, ignored ones included.</param>
/// <param name="Label">The label.</param>
internal sealed record TabularSchema(IReadOnlyList<FeatureColumn> Features, LabelColumn Label)
{
    /// <summary>The columns that are featurised.</summary>
    public IEnumerable<FeatureColumn> Used => Features.Where(column => column.Kind != ColumnKind.Ignored);

    /// <summary>Whether every used column is numeric with no empty cell, so the engine reads the CSV as it is.</summary>
    public bool IsPlainNumeric => Used.All(column => column.Kind == ColumnKind.Numeric && column.Missing == 0);
}
