using System.Globalization;
using System.Text;
using HjMl.Cli.Data;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;

namespace HjMl.Cli.Report;

/// <summary>
/// <c>hjml report</c>: the model-review report of a model on labelled rows, one self-contained HTML file (written
/// atomically: nothing is written if anything fails).
/// </summary>
internal sealed class ReportCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the labelled CSV file to review the model on; without it, the breast_cancer set embedded in the tool"),
        new("out", "the HTML file to write (self-contained; written whole at the end, or not at all)"),
        new("label", "the label column of the CSV file", OptionValue.Text, "Label"),
        new("max-rows", "rows evaluated at most; a larger file is sampled with a fixed seed, in file order", OptionValue.Integer, "3000"),
        new("budget-steps", "eps values in the viscosity budget's sweep (2 to 100)", OptionValue.Integer, "9"),
        new("grid", "cells per side of the entropy landscape's heat map (5 to 201)", OptionValue.Integer, "41"),
        new("rows", "rows explained one by one as bar charts or pixel maps (0 to 20)", OptionValue.Integer, "4"),
    ];

    public string Name => "report";

    public string Summary => "a model-review report: metrics, importance, viscosity budget, landscape, coverage, explanations (one HTML file)";

    public string Usage => "hjml report --model <model.zip|model.hjml> [--data <csv>] --out report.html [--label Label] [--max-rows 3000] [--budget-steps 9] [--grid 41] [--rows 4]";

    /// <summary>Rows the report evaluates unless told otherwise: every section computes per row, so a large test set is sampled.</summary>
    public const int DefaultMaximumRows = 3000;

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        string outPath = arguments.Required("out");
        string label = arguments.Text("label") ?? "Label";
        int maximumRows = arguments.Integer("max-rows", DefaultMaximumRows, 10, int.MaxValue);
        var settings = new ReportSettings(
            BudgetSteps: arguments.Integer("budget-steps", 9, 2, 100),
            LandscapeGrid: arguments.Integer("grid", 41, 5, 201),
            ExplainedRows: arguments.Integer("rows", 4, 0, 20));
        arguments.RejectUnknown();
        if (!outPath.EndsWith(".html", StringComparison.OrdinalIgnoreCase) && !outPath.EndsWith(".htm", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--out is '{outPath}'; the report is an HTML file: give a name ending in .html.");
        }

        // An ML.NET zip featurises the CSV's raw columns through its own pipeline (categorical columns one-hot, as in
        // training); a .hjml file reads its numeric columns by name. Either way the rows arrive in the model's feature order.
        ModelData loaded = ModelData.Load(modelPath);
        IReadOnlyDictionary<string, string> metadata = loaded.IsPipeline
            ? new Dictionary<string, string> { ["file"] = "an ML.NET model: the featurisers fitted in training, then the Hopf–Cole prediction" }
            : ModelFile.Read(modelPath).Metadata;
        string dataName = dataPath is null ? CsvSource.NameOf(null) : Path.GetFileName(dataPath);
        (Dataset data, int[] sourceRows, long fileRows) = Sample(loaded, dataPath, label, maximumRows, cancellation);
        var inputs = new ReportInputs(loaded.Model, data, dataName, Path.GetFileName(modelPath), History: null, metadata)
        {
            Settings = settings,
            CommandLine = new ReportCommandLine(modelPath, dataPath, !loaded.IsPipeline),
            SourceRows = fileRows > data.Rows ? sourceRows : null,
            FileRows = fileRows,
        };
        var progress = new Steps(output);
        string sampled = fileRows > data.Rows ? string.Create(CultureInfo.InvariantCulture, $"{data.Rows} of the {fileRows} rows (a seeded sample; --max-rows to change)") : string.Create(CultureInfo.InvariantCulture, $"{data.Rows} rows");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reviewing {Path.GetFileName(modelPath)} ({loaded.Model.Kind}, eps {loaded.Model.Viscosity:G4}) on {sampled} of {dataName}"));
        ModelReport report = ReportBuilder.Build(inputs, progress, cancellation);
        AtomicFile.Write(outPath, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            writer.Write(report.Html);
        });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"report written to {outPath}: {report.Sections.Count} sections, {report.Charts} charts, {report.Html.Length / 1024} KiB"));
        if (!report.HistoryShown)
        {
            output.WriteLine("  (the model file carries no training history; the report says so in its last section)");
        }

        return 0;
    }

    /// <summary>
    /// At most <paramref name="maximumRows"/> rows of the file, featurised as the model reads them: a uniform sample drawn
    /// in one streamed pass (reservoir sampling, Vitter's algorithm R, seeded so that the same file gives the same rows),
    /// kept in file order, with each kept row's 0-based place in the file and the file's row count.
    /// </summary>
    internal static (Dataset Data, int[] SourceRows, long FileRows) Sample(ModelData loaded, string? dataPath, string label, int maximumRows, CancellationToken cancellation)
    {
        int d = loaded.Model.InputDimension;
        var features = new List<double[]>();
        var labels = new List<double>();
        var rows = new List<int>();
        var random = new Random(0);
        long seen = 0;
        foreach (RowBatch batch in loaded.Read(dataPath, label, 4096, cancellation))
        {
            for (int i = 0; i < batch.Rows; i++, seen++)
            {
                double[] row = batch.Features.AsSpan(i * d, d).ToArray();
                if (seen < maximumRows)
                {
                    features.Add(row);
                    labels.Add(batch.Labels[i]);
                    rows.Add(checked((int)seen));
                    continue;
                }

                long slot = random.NextInt64(seen + 1);
                if (slot < maximumRows)
                {
                    features[(int)slot] = row;
                    labels[(int)slot] = batch.Labels[i];
                    rows[(int)slot] = checked((int)seen);
                }
            }
        }

        if (seen == 0)
        {
            throw new InvalidDataException($"{CsvSource.NameOf(dataPath)} has no data rows to review.");
        }

        if (labels.All(double.IsNaN))
        {
            throw new InvalidDataException($"{CsvSource.NameOf(dataPath)} has no label column '{label}' with values; the report compares predictions with labels: name the column with --label.");
        }

        int[] order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i]).ToArray();
        var values = new double[order.Length * d];
        for (int i = 0; i < order.Length; i++)
        {
            features[order[i]].CopyTo(values, i * d);
        }

        var data = new Dataset(values, order.Select(i => labels[i]).ToArray(), loaded.Model.FeatureNames, label);
        return (data, order.Select(i => rows[i]).ToArray(), seen);
    }

    // Reports each step as it starts, on the calling thread (Progress<T> would post it to the thread pool, out of order).
    private sealed class Steps(TextWriter output) : IProgress<string>
    {
        public void Report(string value) => output.WriteLine($"  {value}");
    }
}
