using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml budget</c>: the viscosity budget — per eps of a sweep, the metric, mean certified radius, mean attribution
/// entropy and out-of-support fraction, as a table and as CSV/JSON a user can plot, and as a chart (SVG or PNG).
/// </summary>
internal sealed class BudgetCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the CSV file to score (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("label", "the label column", OptionValue.Text, "Label"),
        new("viscosity", "the eps range swept, <from>..<to>"),
        new("steps", "points of the sweep", OptionValue.Integer, "9"),
        new("retrain", "retrain at each eps on this training CSV instead of rescaling the trained layer"),
        new("tolerance", "regression: the output change the stability radius allows", OptionValue.Number, "0.1 x the label scale"),
        new("out", "write the sweep to this .csv or .json"),
        new("plot", "draw the sweep as a chart into this .svg or .png file"),
    ];

    public string Name => "budget";

    public string Summary => "the viscosity budget: accuracy, certified radius, entropy and out-of-support fraction per eps";

    public string Usage => "hjml budget --model <model.zip|model.hjml> [--data <csv>] [--label <column>] --viscosity <from>..<to> [--steps 9] [--retrain <training csv>] [--tolerance t] [--out budget.csv|.json] [--plot budget.svg|.png]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        string range = arguments.Required("viscosity");
        int steps = arguments.Integer("steps", 9, 2, CommandLimits.Steps);
        string? retrainPath = arguments.Text("retrain");
        double tolerance = arguments.Number("tolerance", double.NaN);
        string? outPath = arguments.Text("out");
        string? plotPath = arguments.Text("plot");
        arguments.RejectUnknown();
        BudgetChart.Check(plotPath);
        (double from, double to) = ParseRange(range);
        ModelData loaded = ModelData.Load(modelPath);
        HopfColeModel model = loaded.Model;
        Dataset data = loaded.ReadAll(dataPath, label, cancellation);
        double[] viscosities = ViscosityBudget.Range(from, to, steps);
        Func<double, HopfColeModel>? retrain = null;
        if (retrainPath is not null)
        {
            var options = new HopfColeTrainerOptions { Kind = model.Kind, NumberOfSupportPoints = model.Layer.NumberOfPieces, Time = model.Time };
            Dataset training = CsvDataset.Load(retrainPath, "Label");
            TrainingSize.Check(training, options);
            retrain = eps => new HopfColeTrainer(options with { Viscosity = eps, ViscosityMode = ViscosityMode.Fixed }).Fit(training, cancellation: cancellation);
        }

        string metric = model.Kind == ModelKind.Regression ? "R²" : "accuracy";
        string radius = model.Kind == ModelKind.Regression ? "stability r" : "certified r*";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"viscosity budget of a {model.Kind} model (trained at eps {model.Viscosity:G4}) on {data.Rows} rows of {CsvSource.NameOf(dataPath)}; {(retrain is null ? "the trained layer rescaled to each eps" : "retrained at each eps")}"));
        output.WriteLine($"{"eps",10} {metric,9} {radius,13} {"entropy",9} {"out of support",15}");
        var progress = new InlineProgress<BudgetPoint>(point => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{point.Viscosity,10:G4} {point.Metric,9:F4} {point.MeanRadius,13:G4} {point.MeanEntropy,9:F3} {100 * point.OutOfSupportFraction,14:F1}%")));
        IReadOnlyList<BudgetPoint> points = ViscosityBudget.Sweep(model, data, viscosities, tolerance, retrain, progress, cancellation);
        if (outPath is not null)
        {
            TableOutput.Write(outPath, ["Viscosity", "Metric", "MeanRadius", "MeanEntropy", "OutOfSupportFraction", "Retrained"], points.Select(p => (IReadOnlyList<object>)[p.Viscosity, p.Metric, p.MeanRadius, p.MeanEntropy, p.OutOfSupportFraction, p.Retrained]));
            output.WriteLine($"budget written to {outPath}");
        }

        if (plotPath is not null)
        {
            BudgetChart.Write(plotPath, points, metric, radius, model.Viscosity);
            output.WriteLine($"chart written to {plotPath}");
        }

        return 0;
    }

    public static (double From, double To) ParseRange(string text)
    {
        string[] ends = text.Split("..");
        if (ends.Length != 2
            || !double.TryParse(ends[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double from)
            || !double.TryParse(ends[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double to))
        {
            throw new UsageException($"--viscosity is '{text}'; write a range as <from>..<to>, e.g. 0.05..5.");
        }

        if (!(from > 0) || !(to > 0))
        {
            throw new UsageException($"--viscosity {text} is an empty range: both ends must be > 0.");
        }

        return (from, to);
    }
}
