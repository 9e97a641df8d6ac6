using System.Globalization;
using System.Text;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;

namespace HjMl.Cli.Report;

/// <summary>
/// <c>hjml report</c>: the model-review report of a model on labelled rows, one self-contained HTML file (written
/// atomically: nothing is written if anything fails).
/// </summary>
internal sealed class ReportCommand : ICommand
{
    public string Name => "report";

    public string Summary => "a model-review report: metrics, importance, viscosity budget, landscape, coverage, explanations (one HTML file)";

    public string Usage => "hjml report --model <model> --data <csv> --out report.html [--label Label] [--budget-steps 9] [--grid 41] [--rows 4]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string dataPath = arguments.Required("data");
        string outPath = arguments.Required("out");
        string label = arguments.Text("label") ?? "Label";
        var settings = new ReportSettings(
            BudgetSteps: arguments.Integer("budget-steps", 9, 2, 100),
            LandscapeGrid: arguments.Integer("grid", 41, 5, 201),
            ExplainedRows: arguments.Integer("rows", 4, 0, 20));
        arguments.RejectUnknown();
        if (!outPath.EndsWith(".html", StringComparison.OrdinalIgnoreCase) && !outPath.EndsWith(".htm", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--out is '{outPath}'; the report is an HTML file: give a name ending in .html.");
        }

        ModelFileContents contents = ModelFile.Read(modelPath);
        Dataset data = InModelOrder(CsvDataset.Load(dataPath, label), contents.Model, dataPath);
        var inputs = new ReportInputs(contents.Model, data, Path.GetFileName(dataPath), Path.GetFileName(modelPath), History: null, contents.Metadata)
        {
            Settings = settings,
            CommandLine = new ReportCommandLine(modelPath, dataPath),
        };
        var progress = new Steps(output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reviewing {Path.GetFileName(modelPath)} ({contents.Model.Kind}, eps {contents.Model.Viscosity:G4}) on {data.Rows} rows of {Path.GetFileName(dataPath)}"));
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

    /// <summary>The rows with their columns in the model's feature order, picked by name; a column the model needs and the file lacks is named.</summary>
    public static Dataset InModelOrder(Dataset data, HopfColeModel model, string source)
    {
        if (data.FeatureNames.SequenceEqual(model.FeatureNames))
        {
            return data;
        }

        int[] columns = model.FeatureNames.Select(name => IndexOf(data.FeatureNames, name)).ToArray();
        int missing = Array.IndexOf(columns, -1);
        if (missing >= 0)
        {
            throw new ArgumentException($"{source} has no column '{model.FeatureNames[missing]}', which the model was trained on.");
        }

        int d = columns.Length;
        var features = new double[data.Rows * d];
        for (int row = 0; row < data.Rows; row++)
        {
            ReadOnlySpan<double> values = data.Row(row);
            for (int k = 0; k < d; k++)
            {
                features[(row * d) + k] = values[columns[k]];
            }
        }

        return new Dataset(features, data.Labels.ToArray(), model.FeatureNames, data.LabelName);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    // Reports each step as it starts, on the calling thread (Progress<T> would post it to the thread pool, out of order).
    private sealed class Steps(TextWriter output) : IProgress<string>
    {
        public void Report(string value) => output.WriteLine($"  {value}");
    }
}
