using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HjMl.MLNet;
using HjMl.MLNet.Trainers;
using HjMl.Service.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Training;

/// <summary>
/// <c>train</c>: makes a model for the service from a binary-labelled CSV (header, comma-separated, last column
/// <c>Label</c> of 0 and 1, as ../shared/data's adult.csv and breast_cancer.csv): each other column is an input column,
/// text where any value is not a number (one-hot encoded), numbers otherwise; then the README's chain (featurise,
/// NormalizeMeanVariance, HopfCole, GibbsAttribution), evaluated on a held-out fifth. It writes the training record
/// (<c>&lt;out&gt;.json</c>: data, settings, held-out metrics) and then the model with <c>SaveAtomically</c>, so a
/// service watching the model reloads it with its record in place.
/// </summary>
internal static class TrainCommand
{
    private const string Usage = "usage: HjMl.Service train --data <csv> --out <model.zip> [--rows N] [--support-points N] [--viscosity eps] [--epochs N] [--top k] [--seed S]";

    /// <summary>Runs the command; returns the exit code (2 for bad arguments).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        TrainingSettings settings;
        try
        {
            settings = TrainingSettings.Parse(args);
        }
        catch (ArgumentException exception)
        {
            error.WriteLine(exception.Message);
            error.WriteLine(Usage);
            return 2;
        }

        TrainingRecord record = Train(settings);
        output.WriteLine($"Trained on {record.TrainRows} rows of {Path.GetFileName(settings.Data)} in {record.TrainSeconds:F1} s; held-out {record.TestRows} rows: accuracy {record.Accuracy:F4}, AUC {record.AreaUnderRocCurve:F4}, log-loss {record.LogLoss:F4}");
        output.WriteLine($"Saved {settings.Out} ({new FileInfo(settings.Out).Length / 1024} KiB) and its training record {ModelLoader.TrainingRecordPath(settings.Out)}");
        return 0;
    }

    /// <summary>Trains, writes the record and then the model; returns the record.</summary>
    public static TrainingRecord Train(TrainingSettings settings)
    {
        long start = Stopwatch.GetTimestamp();
        var context = new MLContext(seed: settings.Seed);
        (TextLoader.Column[] columns, string[] features, string[] text) = Columns(settings.Data);
        IDataView data = context.Data.LoadFromTextFile(settings.Data, columns, separatorChar: ',', hasHeader: true);
        if (settings.Rows is { } rows)
        {
            data = context.Data.TakeRows(data, rows);
        }

        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(data, testFraction: 0.2, seed: settings.Seed);
        IEstimator<ITransformer> featurise = text.Length > 0
            ? context.Transforms.Categorical.OneHotEncoding([.. text.Select(name => new InputOutputColumnPair(name))]).Append(context.Transforms.Concatenate("Features", features))
            : context.Transforms.Concatenate("Features", features);
        var pipeline = featurise
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .Append(context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options
            {
                NumberOfSupportPoints = settings.SupportPoints,
                Viscosity = settings.Viscosity,
                MaximumEpochs = settings.Epochs,
                Seed = settings.Seed,
            }))
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: settings.Top));
        var model = pipeline.Fit(split.TrainSet);
        CalibratedBinaryClassificationMetrics metrics = context.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        var record = new TrainingRecord(
            Path.GetFileName(settings.Data),
            (int)(split.TrainSet.GetRowCount() ?? split.TrainSet.GetColumn<bool>("Label").Count()),
            (int)(split.TestSet.GetRowCount() ?? split.TestSet.GetColumn<bool>("Label").Count()),
            settings.SupportPoints,
            settings.Viscosity,
            settings.Epochs,
            settings.Seed,
            metrics.Accuracy,
            metrics.AreaUnderRocCurve,
            metrics.LogLoss,
            metrics.F1Score,
            Stopwatch.GetElapsedTime(start).TotalSeconds,
            DateTimeOffset.UtcNow);
        string folder = Path.GetDirectoryName(Path.GetFullPath(settings.Out))!;
        Directory.CreateDirectory(folder);
        File.WriteAllText(ModelLoader.TrainingRecordPath(settings.Out), JsonSerializer.Serialize(record, RecordJson));
        context.Model.SaveAtomically(model, data.Schema, settings.Out);
        return record;
    }

    private static readonly JsonSerializerOptions RecordJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>The loader columns of <paramref name="path"/>: every column but Label an input, text if any value is not a number, else float32; Label (0/1) Boolean.</summary>
    internal static (TextLoader.Column[] Columns, string[] Features, string[] Text) Columns(string path)
    {
        string[] header = File.ReadLines(path).First().Split(',');
        int label = Array.IndexOf(header, "Label");
        if (label < 0)
        {
            throw new InvalidDataException($"'{path}' has no Label column (header: {string.Join(",", header)}).");
        }

        var isText = new bool[header.Length];
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            string[] cells = line.Split(',');
            for (int i = 0; i < cells.Length && i < header.Length; i++)
            {
                isText[i] |= cells[i].Length > 0 && !double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            }
        }

        var columns = new List<TextLoader.Column>();
        for (int i = 0; i < header.Length; i++)
        {
            columns.Add(new TextLoader.Column(header[i], i == label ? DataKind.Boolean : isText[i] ? DataKind.String : DataKind.Single, i));
        }

        string[] features = [.. header.Where((_, i) => i != label)];
        string[] text = [.. header.Where((_, i) => i != label && isText[i])];
        return ([.. columns], features, text);
    }
}

/// <summary>What <c>train</c> is asked to do.</summary>
/// <param name="Data">The CSV.</param>
/// <param name="Out">The model zip to write.</param>
/// <param name="Rows">Only the first this many rows, or all.</param>
/// <param name="SupportPoints">Support points per head.</param>
/// <param name="Viscosity">eps.</param>
/// <param name="Epochs">The epoch limit.</param>
/// <param name="Top">k, support rows per explanation.</param>
/// <param name="Seed">The seed of the split and the trainer.</param>
internal sealed record TrainingSettings(string Data, string Out, int? Rows = null, int SupportPoints = 32, double Viscosity = 0.5, int Epochs = 100, int Top = 3, int Seed = 1)
{
    /// <summary>Reads <c>--name value</c> pairs.</summary>
    /// <exception cref="ArgumentException">A name is unknown, a value is missing or not a number, or --data or --out is missing.</exception>
    public static TrainingSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value pairs; '{args[i]}' has no value or is not an option.");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string[] known = ["data", "out", "rows", "support-points", "viscosity", "epochs", "top", "seed"];
        if (values.Keys.FirstOrDefault(key => !known.Contains(key)) is { } unknown)
        {
            throw new ArgumentException($"Unknown option --{unknown}.");
        }

        int? Integer(string name) => values.TryGetValue(name, out string? text)
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0 ? value : throw new ArgumentException($"--{name} must be a positive integer; it is '{text}'.")
            : null;
        var settings = new TrainingSettings(
            values.GetValueOrDefault("data") ?? throw new ArgumentException("--data is required."),
            values.GetValueOrDefault("out") ?? throw new ArgumentException("--out is required."));
        return settings with
        {
            Rows = Integer("rows"),
            SupportPoints = Integer("support-points") ?? settings.SupportPoints,
            Viscosity = values.TryGetValue("viscosity", out string? eps)
                ? double.TryParse(eps, NumberStyles.Float, CultureInfo.InvariantCulture, out double viscosity) && viscosity > 0 ? viscosity : throw new ArgumentException($"--viscosity must be a positive number; it is '{eps}'.")
                : settings.Viscosity,
            Epochs = Integer("epochs") ?? settings.Epochs,
            Top = Integer("top") ?? settings.Top,
            Seed = Integer("seed") ?? settings.Seed,
        };
    }
}

/// <summary>The training record written beside a model (<c>&lt;model&gt;.json</c>), which <c>GET /model</c> reports as <c>training</c>.</summary>
internal sealed record TrainingRecord(
    string Dataset,
    int TrainRows,
    int TestRows,
    int SupportPoints,
    double Viscosity,
    int Epochs,
    int Seed,
    double Accuracy,
    double AreaUnderRocCurve,
    double LogLoss,
    double F1Score,
    double TrainSeconds,
    DateTimeOffset TrainedAt);
