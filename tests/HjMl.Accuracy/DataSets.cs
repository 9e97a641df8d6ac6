using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Accuracy;

/// <summary>The learning task of a data set, which picks the trainers, the label type and the metrics.</summary>
internal enum LearningTask
{
    Regression,
    BinaryClassification,
    MulticlassClassification,
}

/// <summary>
/// One data set of the table: its file (provenance in data/README.md), task, text columns, split and issue 15's bar.
/// </summary>
/// <param name="Name">The name used on the command line and in the table.</param>
/// <param name="FileName">The CSV (or .csv.gz) in a data folder; the last column is the label.</param>
/// <param name="Task">The task.</param>
/// <param name="CategoricalColumns">Text columns, one-hot encoded; every other column but the label is numeric.</param>
/// <param name="HoldOutFraction">null for k-fold cross-validation, else one hold-out of this fraction.</param>
/// <param name="Bars">Issue 15's quality bar per metric, e.g. ("AUC", 0.925).</param>
internal sealed record DataSet(
    string Name,
    string FileName,
    LearningTask Task,
    IReadOnlyList<string> CategoricalColumns,
    double? HoldOutFraction,
    IReadOnlyList<(string Metric, double Bar)> Bars)
{
    /// <summary>ML.NET's name of the label column, which every file uses for its last column.</summary>
    public const string LabelColumn = "Label";

    /// <summary>The vector column holding every numeric input column, before featurisation.</summary>
    public const string NumericColumn = "Numeric";

    /// <summary>The six sets of issue 15's quality bars, in the order of the table.</summary>
    public static IReadOnlyList<DataSet> All { get; } =
    [
        new("iris", "iris.csv", LearningTask.MulticlassClassification, [], null, [("Accuracy", 0.95)]),
        new("breast_cancer", "breast_cancer.csv", LearningTask.BinaryClassification, [], null, [("Accuracy", 0.975)]),
        new("digits", "digits.csv", LearningTask.MulticlassClassification, [], null, [("Accuracy", 0.985)]),
        new("diabetes", "diabetes.csv", LearningTask.Regression, [], null, [("R^2", 0.45)]),
        new("adult", "adult.csv", LearningTask.BinaryClassification,
            ["workclass", "education", "marital_status", "occupation", "relationship", "ethnicity", "sex", "native_country"], null, [("AUC", 0.925)]),
        new("mnist-10000", "mnist-10000.csv.gz", LearningTask.MulticlassClassification, [], 0.2, [("Accuracy", 0.975)]),
    ];

    /// <summary>
    /// Loads <paramref name="path"/>: the numeric columns as one float vector <see cref="NumericColumn"/> (slot names from
    /// the header), each categorical column as text under its own name, and <see cref="LabelColumn"/> typed for the task
    /// (Boolean for binary, float otherwise; multiclass labels become keys in the pipeline, as a user's would).
    /// </summary>
    public IDataView Load(MLContext context, string path)
    {
        string[] header = ReadHeader(path);
        int label = header.Length - 1;
        if (header[label] != LabelColumn)
        {
            throw new InvalidDataException($"{path}: the last column is '{header[label]}', expected '{LabelColumn}'.");
        }

        string? absent = CategoricalColumns.FirstOrDefault(name => !header.Contains(name));
        if (absent is not null)
        {
            throw new InvalidDataException($"{path}: the categorical column '{absent}' is not in the header.");
        }

        int[] numeric = Enumerable.Range(0, label).Where(i => !CategoricalColumns.Contains(header[i])).ToArray();
        var columns = new List<TextLoader.Column>
        {
            new(NumericColumn, DataKind.Single, Ranges(numeric)),
            new(LabelColumn, Task == LearningTask.BinaryClassification ? DataKind.Boolean : DataKind.Single, label),
        };
        columns.AddRange(CategoricalColumns.Select(name => new TextLoader.Column(name, DataKind.String, Array.IndexOf(header, name))));

        var options = new TextLoader.Options { Columns = [.. columns], Separators = [','], HasHeader = true };
        var source = new GzipTextSource(path);
        return context.Data.CreateTextLoader(options, source).Load(source);
    }

    /// <summary>
    /// The featurisation a user writes in ML.NET: categorical columns one-hot encoded, then everything concatenated into
    /// Features and mean-variance normalised (catalog defaults); multiclass labels mapped to keys first.
    /// </summary>
    public IEstimator<ITransformer> Featurisation(MLContext context)
    {
        IEstimator<ITransformer> pipeline = Task == LearningTask.MulticlassClassification
            ? context.Transforms.Conversion.MapValueToKey(LabelColumn)
            : new EstimatorChain<ITransformer>();
        if (CategoricalColumns.Count > 0)
        {
            pipeline = pipeline.Append(context.Transforms.Categorical.OneHotEncoding([.. CategoricalColumns.Select(name => new InputOutputColumnPair(name))]));
        }

        return pipeline
            .Append(context.Transforms.Concatenate("Features", [NumericColumn, .. CategoricalColumns]))
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .AppendCacheCheckpoint(context);
    }

    private static string[] ReadHeader(string path)
    {
        using TextReader reader = new GzipTextSource(path).OpenTextReader(0);
        return (reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty.")).Split(',');
    }

    private static TextLoader.Range[] Ranges(int[] indices)
    {
        var ranges = new List<TextLoader.Range>();
        for (int start = 0; start < indices.Length;)
        {
            int end = start;
            while (end + 1 < indices.Length && indices[end + 1] == indices[end] + 1)
            {
                end++;
            }

            ranges.Add(new TextLoader.Range(indices[start], indices[end]));
            start = end + 1;
        }

        return [.. ranges];
    }
}
