using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Data;
using HjMl.Models;
using Microsoft.ML;

namespace HjMl.Cli.Modelling;

/// <summary>
/// A CSV file ready to train on: its inferred schema, the rows kept for training and (when asked) a seeded held-out
/// share no training, search or early stopping sees, and the engine's rows for both. For an ML.NET pipeline the
/// featurisers are fitted on the training rows only, so the held-out rows are featurised as new data is.
/// </summary>
internal sealed class PreparedData
{
    private PreparedData(RawTable table, TabularSchema schema, int[] trainRows, int[] testRows, Dataset train, Dataset? test, MLContext? ml, ITransformer? featurizer, int droppedRows)
    {
        Table = table;
        Schema = schema;
        TrainRows = trainRows;
        TestRows = testRows;
        Train = train;
        Test = test;
        Context = ml;
        Featurizer = featurizer;
        DroppedRows = droppedRows;
    }

    /// <summary>The file as read.</summary>
    public RawTable Table { get; }

    /// <summary>The columns as inferred or overridden.</summary>
    public TabularSchema Schema { get; }

    /// <summary>The rows trained on (indices into <see cref="Table"/>).</summary>
    public int[] TrainRows { get; }

    /// <summary>The held-out rows (empty without a test share).</summary>
    public int[] TestRows { get; }

    /// <summary>The engine's training rows.</summary>
    public Dataset Train { get; }

    /// <summary>The engine's held-out rows, featurised as new data.</summary>
    public Dataset? Test { get; }

    /// <summary>The ML.NET context (null when the engine reads the CSV's numbers directly).</summary>
    public MLContext? Context { get; }

    /// <summary>The fitted featurisers (null when the engine reads the CSV's numbers directly).</summary>
    public ITransformer? Featurizer { get; }

    /// <summary>Rows left out because their label is empty.</summary>
    public int DroppedRows { get; }

    /// <summary>The training rows as the pipeline's raw input view.</summary>
    public IDataView TrainView => TableDataView.Of(Table, Featurization.Columns(Schema), TrainRows);

    /// <summary>
    /// Prepares <paramref name="table"/>: through ML.NET's featurisers when <paramref name="pipeline"/>, else as the plain
    /// numbers the engine reads (refused, naming the column, when a column is not numeric or has empty cells).
    /// </summary>
    public static PreparedData Prepare(RawTable table, TabularSchema schema, bool pipeline, double testFraction, int seed, CancellationToken cancellation)
    {
        int label = schema.Label.Index;
        int[] labelled = Enumerable.Range(0, table.Rows.Count).Where(r => table.Rows[r][label] is not null).ToArray();
        int dropped = table.Rows.Count - labelled.Length;
        int[] order = Shuffle(labelled, seed);
        int testCount = testFraction > 0 ? (int)Math.Round(testFraction * order.Length) : 0;
        int[] test = testFraction > 0 ? [.. order[..testCount].Order()] : [];
        int[] train = testFraction > 0 ? [.. order[testCount..].Order()] : labelled;
        if (!pipeline)
        {
            FeatureColumn? blocking = schema.Used.FirstOrDefault(c => c.Kind != ColumnKind.Numeric || c.Missing > 0);
            if (blocking is not null)
            {
                string why = blocking.Kind != ColumnKind.Numeric ? $"is {blocking.Kind.ToString().ToLowerInvariant()} ({blocking.Reason})" : $"has {blocking.Missing} empty cells";
                throw new ArgumentException($"Column '{blocking.Name}' {why}; the engine's .hjml format holds numeric features only. Write an ML.NET model (--out model.zip), which keeps ML.NET's featurisation with it, or --ignore the column.");
            }

            return new PreparedData(table, schema, train, test, Numbers(table, schema, train), test.Length > 0 ? Numbers(table, schema, test) : null, null, null, dropped);
        }

        var ml = new MLContext(seed);
        IReadOnlyList<ViewColumn> columns = Featurization.Columns(schema);
        IDataView trainView = TableDataView.Of(table, columns, train);
        ITransformer featurizer = Featurization.Estimator(ml, schema).Fit(trainView);
        Dataset trainRows = Featurization.ToDataset(featurizer.Transform(trainView), schema.Label.Name, cancellation);
        Dataset? testRows = test.Length > 0 ? Featurization.ToDataset(featurizer.Transform(TableDataView.Of(table, columns, test)), schema.Label.Name, cancellation) : null;
        return new PreparedData(table, schema, train, test, trainRows, testRows, ml, featurizer, dropped);
    }

    // The engine's label encoding: the value (regression), 1 for the positive class (binary), the label's own number
    // when the classes are numbers, else the class's index (multiclass).
    private static Dataset Numbers(RawTable table, TabularSchema schema, int[] rows)
    {
        FeatureColumn[] used = [.. schema.Used];
        var features = new double[rows.Length * used.Length];
        var labels = new double[rows.Length];
        LabelColumn label = schema.Label;
        for (int i = 0; i < rows.Length; i++)
        {
            string?[] cells = table.Rows[rows[i]];
            for (int k = 0; k < used.Length; k++)
            {
                features[(i * used.Length) + k] = RawTable.TryNumber(cells[used[k].Index]!, out double value)
                    ? value
                    : throw new InvalidDataException($"{table.Source}, data row {rows[i] + 1}: column '{used[k].Name}' is '{cells[used[k].Index]}', which is not a finite number.");
            }

            string text = cells[label.Index]!;
            labels[i] = label.Task switch
            {
                ModelKind.Regression => double.Parse(text, CultureInfo.InvariantCulture),
                ModelKind.BinaryClassification => text == label.Classes[1] ? 1 : 0,
                _ => label.IsNumeric ? double.Parse(text, CultureInfo.InvariantCulture) : IndexOf(label.Classes, text),
            };
        }

        return new Dataset(features, labels, used.Select(c => c.Name).ToArray(), label.Name);
    }

    private static int IndexOf(IReadOnlyList<string> values, string value)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] == value)
            {
                return i;
            }
        }

        return -1;
    }

    private static int[] Shuffle(int[] rows, int seed)
    {
        int[] order = [.. rows];
        var random = new Random(seed);
        random.Shuffle(order);
        return order;
    }
}
