
namespace HjMl.Data;

/// <summary>
/// A numeric data set: rows of d features (row-major) and one label per row, with column names. Immutable.
/// Rows and columns in messages are 1-based data rows (the header is row 0 of a CSV file).
/// </summary>
public sealed class Dataset
{
    private readonly double[] features;
    private readonly double[] labels;
    private readonly string[] featureNames;

    /// <summary>Creates a data set, checking shapes, names and that every value is finite.</summary>
    /// <exception cref="ArgumentException">
    /// Shapes disagree, there are no rows, a value is NaN/infinite (the message names row and column), or a column name is
    /// empty, repeated, or the label's: models are trained on columns by position and score them by name, so the names
    /// must say which column is which.
    /// </exception>
    public Dataset(double[] features, double[] labels, IReadOnlyList<string> featureNames, string labelName = "Label")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(featureNames);
        if (featureNames.Count == 0)
        {
            throw new ArgumentException("featureNames is empty; a data set needs at least one feature column.", nameof(featureNames));
        }

        RequireDistinctNames(featureNames, nameof(featureNames));
        ArgumentNullException.ThrowIfNull(labelName);
        for (int k = 0; k < featureNames.Count; k++)
        {
            if (string.Equals(featureNames[k], labelName, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Feature column {k + 1} is named '{labelName}', as the label column is; column names must be distinct.", nameof(labelName));
            }
        }

        if (labels.Length == 0)
        {
            throw new ArgumentException("The data set is empty: it has no rows.", nameof(labels));
        }

        Guard.Length<double>(features, labels.Length * featureNames.Count, nameof(features), $"{labels.Length} rows of {featureNames.Count} features");
        for (int i = 0; i < features.Length; i++)
        {
            if (!double.IsFinite(features[i]))
            {
                throw new ArgumentException($"Row {(i / featureNames.Count) + 1}, column '{featureNames[i % featureNames.Count]}' is {features[i]}; features must be finite numbers.", nameof(features));
            }
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (!double.IsFinite(labels[i]))
            {
                throw new ArgumentException($"Row {i + 1}, label column '{labelName}' is {labels[i]}; labels must be finite numbers.", nameof(labels));
            }
        }

        this.features = features;
        this.labels = labels;
        this.featureNames = [.. featureNames];
        LabelName = labelName;
    }

    /// <summary>The number of rows.</summary>
    public int Rows => labels.Length;

    /// <summary>d, the number of feature columns.</summary>
    public int Columns => featureNames.Length;

    /// <summary>Feature column names, in order.</summary>
    public IReadOnlyList<string> FeatureNames => featureNames;

    /// <summary>The label column's name.</summary>
    public string LabelName { get; }

    /// <summary>All features, row-major.</summary>
    public ReadOnlySpan<double> Features => features;

    /// <summary>All labels.</summary>
    public ReadOnlySpan<double> Labels => labels;

    /// <summary>The features of row <paramref name="row"/> (0-based).</summary>
    public ReadOnlySpan<double> Row(int row) => features.AsSpan(row * Columns, Columns);

    /// <summary>A data set of the given rows (0-based), in the given order.</summary>
    public Dataset Subset(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var subsetFeatures = new double[rows.Count * Columns];
        var subsetLabels = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            Row(rows[i]).CopyTo(subsetFeatures.AsSpan(i * Columns, Columns));
            subsetLabels[i] = labels[rows[i]];
        }

        return new Dataset(subsetFeatures, subsetLabels, featureNames, LabelName);
    }

    /// <summary>
    /// Refuses a list of column names with a null or empty name or a name given twice (the message names it and both
    /// positions, 1-based).
    /// </summary>
    internal static void RequireDistinctNames(IReadOnlyList<string> names, string argument)
    {
        var seen = new Dictionary<string, int>(names.Count, StringComparer.Ordinal);
        for (int k = 0; k < names.Count; k++)
        {
            if (string.IsNullOrEmpty(names[k]))
            {
                throw new ArgumentException($"{argument}[{k}] is empty; every column needs a name, since models find their columns by name.", argument);
            }

            if (!seen.TryAdd(names[k], k))
            {
                throw new ArgumentException($"{argument} names '{names[k]}' twice (columns {seen[names[k]] + 1} and {k + 1}); column names must be distinct, since models find their columns by name.", argument);
            }
        }
    }

    /// <summary>A permutation of 0..Rows-1 drawn from <paramref name="seed"/> (Fisher–Yates).</summary>
    public int[] ShuffledRows(int seed)
    {
        int[] order = Enumerable.Range(0, Rows).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}
