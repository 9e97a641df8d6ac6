using HjMl.MLNet;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Cli.Data;

/// <summary>Rows of a CSV file as the engine reads them: a block of featurised rows and their labels.</summary>
/// <param name="Features">Row-major, <see cref="HopfColeModel.InputDimension"/> values a row.</param>
/// <param name="Labels">One per row as the engine encodes it (the value, 1/0, the 0-based class index), NaN where absent.</param>
/// <param name="Rows">How many rows.</param>
/// <param name="FirstRow">The 0-based index, among the file's data rows, of the first row.</param>
internal sealed record RowBatch(double[] Features, double[] Labels, int Rows, long FirstRow);

/// <summary>
/// A saved model as the verbs (and the report) use it: the engine's <see cref="HopfColeModel"/>, and for an ML.NET zip the
/// pipeline around it — the featurisers before it, which turn a CSV's raw columns into the model's features.
/// </summary>
/// <remarks>
/// This is the entry point from a model file and a CSV to engine-level inputs: <see cref="Load"/>, then
/// <see cref="ReadAll"/> (a <see cref="HjMl.Data.Dataset"/> with feature names and labels) or <see cref="Read"/> (streamed
/// batches, for files larger than memory).
/// </remarks>
internal sealed class ModelData
{
    private ModelData(string path, HopfColeModel model, MLContext? ml, ITransformer? pipeline, ITransformer? featurizer, DataViewSchema? inputSchema)
    {
        Path = path;
        Model = model;
        Context = ml;
        Pipeline = pipeline;
        Featurizer = featurizer;
        InputSchema = inputSchema;
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>The engine model.</summary>
    public HopfColeModel Model { get; }

    /// <summary>The ML.NET context the pipeline was loaded in (null for a .hjml file).</summary>
    public MLContext? Context { get; }

    /// <summary>The whole loaded pipeline (null for a .hjml file).</summary>
    public ITransformer? Pipeline { get; }

    /// <summary>The stages before the model: raw CSV columns to the feature vector (null for a .hjml file).</summary>
    public ITransformer? Featurizer { get; }

    /// <summary>The raw columns the pipeline reads (null for a .hjml file).</summary>
    public DataViewSchema? InputSchema { get; }

    /// <summary>Whether the file is an ML.NET zip (else the engine's .hjml format).</summary>
    public bool IsPipeline => Pipeline is not null;

    /// <summary>The model's feature names (after featurisation).</summary>
    public IReadOnlyList<string> FeatureNames => Model.FeatureNames;

    /// <summary>Loads an ML.NET zip saved by <c>hjml train --out m.zip</c> (or any pipeline ending in a Hopf–Cole prediction), or a .hjml model file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is neither, or the zip holds no Hopf–Cole model.</exception>
    public static ModelData Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model file '{path}' does not exist.", path);
        }

        if (!IsZip(path))
        {
            return new ModelData(path, ModelFile.Load(path), null, null, null, null);
        }

        var ml = new MLContext(seed: 0);
        ITransformer loaded;
        DataViewSchema schema;
        try
        {
            loaded = ml.Model.LoadWithHopfCole(path, out schema);
        }
        catch (Exception problem) when (problem is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path} is a zip but not an ML.NET model ML.NET can load: {problem.Message}", problem);
        }

        var stages = loaded is IEnumerable<ITransformer> chain ? chain.ToList() : [loaded];
        int at = stages.FindIndex(stage => stage is HopfColePredictionTransformer);
        if (at < 0)
        {
            throw new InvalidDataException($"{path} is an ML.NET model without a Hopf–Cole prediction stage; hjml explains Hopf–Cole models only.");
        }

        var prediction = (HopfColePredictionTransformer)stages[at];
        ITransformer featurizer = new TransformerChain<ITransformer>([.. stages.Take(at)]);
        return new ModelData(path, prediction.Model.Model, ml, loaded, featurizer, schema);
    }

    /// <summary>Whether <paramref name="path"/> starts as a zip archive does.</summary>
    public static bool IsZip(string path)
    {
        using FileStream stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return stream.Read(head) == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;
    }

    /// <summary>
    /// All rows of <paramref name="csv"/> (the embedded set when null) featurised as the model reads them, with labels from
    /// <paramref name="labelName"/> where the file has it (NaN otherwise).
    /// </summary>
    public HjMl.Data.Dataset ReadAll(string? csv, string labelName = "Label", CancellationToken cancellation = default)
    {
        var features = new List<double>();
        var labels = new List<double>();
        foreach (RowBatch batch in Read(csv, labelName, 4096, cancellation))
        {
            features.AddRange(batch.Features.AsSpan(0, batch.Rows * Model.InputDimension));
            labels.AddRange(batch.Labels.AsSpan(0, batch.Rows));
        }

        return new HjMl.Data.Dataset([.. features], [.. labels], Model.FeatureNames, labelName);
    }

    /// <summary>
    /// The rows of <paramref name="csv"/> (the embedded set when null), streamed in batches of <paramref name="batchSize"/>:
    /// the file is read once, a batch at a time, so memory does not grow with the file. Feature columns are found by name;
    /// a missing one is an error naming it.
    /// </summary>
    public IEnumerable<RowBatch> Read(string? csv, string labelName = "Label", int batchSize = 4096, CancellationToken cancellation = default)
        => IsPipeline ? ReadThroughPipeline(csv, labelName, batchSize, cancellation) : ReadNumbers(csv, labelName, batchSize, cancellation);

    private IEnumerable<RowBatch> ReadNumbers(string? csv, string labelName, int batchSize, CancellationToken cancellation)
    {
        using Sylvan.Data.Csv.CsvDataReader reader = CsvSource.Open(csv);
        string source = CsvSource.NameOf(csv);
        string[] header = CsvSource.Header(reader);
        int d = Model.InputDimension;
        int[] cells = Model.FeatureNames.Select(name => Array.IndexOf(header, name)).ToArray();
        int missing = Array.IndexOf(cells, -1);
        if (missing >= 0)
        {
            throw new InvalidDataException($"{source} has no column '{Model.FeatureNames[missing]}', which the model reads.");
        }

        int label = Array.IndexOf(header, labelName);
        var features = new double[batchSize * d];
        var labels = new double[batchSize];
        int filled = 0;
        long first = 0, row = 0;

        // Cells are parsed from the reader's buffer (no string per cell): a million rows of 784 pixels stream through
        // a few megabytes.
        while (reader.Read())
        {
            if ((row & 0x3FF) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            int count = reader.RowFieldCount;
            if (count > header.Length)
            {
                throw new InvalidDataException($"{source}, data row {row + 1}: {count} cells, but the header names {header.Length} columns.");
            }

            for (int k = 0; k < d; k++)
            {
                ReadOnlySpan<char> cell = cells[k] < count ? reader.GetFieldSpan(cells[k]).Trim() : [];
                if (!double.TryParse(cell, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                {
                    throw new InvalidDataException($"{source}, data row {row + 1}: column '{Model.FeatureNames[k]}' is '{cell}', which is not a finite number.");
                }

                features[(filled * d) + k] = value;
            }

            labels[filled] = label >= 0 && label < count && double.TryParse(reader.GetFieldSpan(label).Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double y) ? y : double.NaN;
            filled++;
            row++;
            if (filled == batchSize)
            {
                yield return new RowBatch(features, labels, filled, first);
                features = new double[batchSize * d];
                labels = new double[batchSize];
                first = row;
                filled = 0;
            }
        }

        if (filled > 0)
        {
            yield return new RowBatch(features, labels, filled, first);
        }
    }

    private IEnumerable<RowBatch> ReadThroughPipeline(string? csv, string labelName, int batchSize, CancellationToken cancellation)
    {
        TableDataView view = StreamedView(csv, cancellation);
        IDataView featurised = Featurizer!.Transform(view);
        DataViewSchema.Column features = featurised.Schema[Featurization.FeaturesColumn];
        DataViewSchema.Column? label = featurised.Schema.GetColumnOrNull(labelName);
        int d = Model.InputDimension;
        using DataViewRowCursor cursor = featurised.GetRowCursor(label is { } l ? [features, l] : [features]);
        ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        Func<double>? getLabel = label is { } column && InputSchema!.GetColumnOrNull(labelName) is not null ? Featurization.LabelGetter(cursor, column) : null;
        VBuffer<float> buffer = default;
        var values = new double[batchSize * d];
        var labels = new double[batchSize];
        int filled = 0;
        long first = 0;
        while (cursor.MoveNext())
        {
            getFeatures(ref buffer);
            Span<double> row = values.AsSpan(filled * d, d);
            row.Clear();
            foreach (KeyValuePair<int, float> slot in buffer.Items())
            {
                row[slot.Key] = slot.Value;
            }

            labels[filled] = getLabel?.Invoke() ?? double.NaN;
            filled++;
            if (filled == batchSize)
            {
                yield return new RowBatch(values, labels, filled, first);
                values = new double[batchSize * d];
                labels = new double[batchSize];
                first = cursor.Position + 1;
                filled = 0;
            }
        }

        if (filled > 0)
        {
            yield return new RowBatch(values, labels, filled, first);
        }
    }

    /// <summary>The CSV streamed as the pipeline's raw input columns, found by name; a column the file lacks reads as empty.</summary>
    public TableDataView StreamedView(string? csv, CancellationToken cancellation = default)
    {
        if (InputSchema is null)
        {
            throw new InvalidOperationException("A .hjml model has no raw input columns.");
        }

        string source = CsvSource.NameOf(csv);
        string[] header;
        using (Sylvan.Data.Csv.CsvDataReader probe = CsvSource.Open(csv))
        {
            header = CsvSource.Header(probe);
        }

        var columns = InputSchema.Select(c => new ViewColumn(c.Name, c.Type == NumberDataViewType.Single, Array.IndexOf(header, c.Name))).ToList();
        IEnumerable<string?[]> Rows()
        {
            using Sylvan.Data.Csv.CsvDataReader reader = CsvSource.Open(csv);
            foreach (string?[] row in RawTable.ReadRows(reader, source, header.Length, cancellation))
            {
                yield return row;
            }
        }

        return new TableDataView(columns, Rows, null, source);
    }
}
