using System.Globalization;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml train</c>: trains a Hopf–Cole model on a CSV file (or the embedded breast_cancer set) with a progress bar,
/// prints the validation metrics, and writes the model file atomically. Nothing is written if anything fails.
/// </summary>
internal sealed class TrainCommand : ICommand, IHasSwitches
{
    public string[] Switches => ["search"];

    public string Name => "train";

    public string Summary => "train a model on a CSV file (default: the embedded breast_cancer set) and save it";

    public string Usage => $"hjml train [--data <csv>] [--label <column>] [--search [--time-budget seconds]] {TrainingSettings.Usage} --out <model>";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        string outPath = arguments.Required("out");
        HopfColeTrainerOptions options = TrainingSettings.Read(arguments, ModelKind.BinaryClassification);
        bool search = arguments.Has("search");
        double budget = arguments.Number("time-budget", 60);
        if (dataPath is not null && !arguments.Has("task"))
        {
            throw new UsageException("--task is required with --data: regression, binary or multiclass.");
        }

        arguments.RejectUnknown();
        (Dataset data, string name) = DataSource.Load(dataPath, label);
        if (search)
        {
            options = Search(data, options, budget, output, cancellation);
        }

        // The search's own widths may exceed a small data set's rows (support points then repeat rows), which it chose on
        // purpose; a width the user gave may not.
        TrainingSize.Check(data, options, checkRows: !search);

        var trainer = new HopfColeTrainer(options);
        string metricName = options.Kind == ModelKind.Regression ? "R²" : "accuracy";
        bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training {TrainingSettings.TaskName(options.Kind)} on {name}: {data.Rows} rows x {data.Columns} features, label '{data.LabelName}'"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"width {options.NumberOfSupportPoints} support points per head, eps {options.Viscosity:G4} ({options.ViscosityMode}), t {HopfColeTrainer.TimeFor(options, data.Columns):G4}, optimiser {options.Optimizer}, seed {options.Seed}"));
        var bar = new ProgressBar(error, interactive, metricName);
        TrainingResult result = trainer.Train(data, progress: bar, cancellation: cancellation);
        bar.Finish();

        HopfColeModel model = result.Model;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best epoch {result.BestEpoch} of {result.History.Count}, eps {model.Viscosity:G4}, {result.History[^1].Elapsed.TotalSeconds:F1}s"));
        if (result.StopReason is not null)
        {
            output.WriteLine(result.StopReason);
        }
        if (result.ValidationRows.Count > 0)
        {
            ModelMetrics metrics = ModelMetrics.Evaluate(model, data.Subset(result.ValidationRows));
            output.WriteLine($"validation ({metrics.Rows} held-out rows):");
            WriteMetrics(output, metrics);
        }

        var metadata = new Dictionary<string, string>
        {
            ["trainedOn"] = name,
            ["command"] = "hjml train " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "train").Skip(1)),
        };
        ModelFile.Save(model, outPath, metadata);
        output.WriteLine($"model written to {outPath}");
        output.WriteLine();
        output.WriteLine("to use it from C#:");
        output.WriteLine($"    var model = HjMl.Persistence.ModelFile.Load(\"{outPath}\");");
        output.WriteLine("    var prediction = model.Predict(features);   // double[] in the order of model.FeatureNames");
        output.WriteLine("    var explainer = new HjMl.Attribution.ModelExplainer(model);   // and Explain / Certify / Coverage per row");
        return 0;
    }

    private static HopfColeTrainerOptions Search(Dataset data, HopfColeTrainerOptions template, double budgetSeconds, TextWriter output, CancellationToken cancellation)
    {
        if (!(budgetSeconds > 0) || budgetSeconds > CommandLimits.TimeBudgetSeconds)
        {
            throw new UsageException($"--time-budget is {budgetSeconds}; it must be a positive number of seconds, at most {CommandLimits.TimeBudgetSeconds} (the longest time span .NET holds).");
        }

        TrainingSize.Check(data, template with { NumberOfSupportPoints = SettingsSearch.Widths.Max() }, checkRows: false);

        string metric = template.Kind == ModelKind.Regression ? "R²" : "accuracy";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"searching widths {string.Join("/", SettingsSearch.Widths)} x eps {string.Join("/", SettingsSearch.Viscosities)} on a 20% hold-out, budget {budgetSeconds:G4}s"));
        var progress = new InlineProgress<SearchTrial>(trial => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  width {trial.Width,3}  eps {trial.Viscosity,5:G3}  {metric} {trial.Metric:F4}  ({trial.Elapsed.TotalSeconds:F1}s)")));
        (IReadOnlyList<SearchTrial> trials, HopfColeTrainerOptions best) = SettingsSearch.Run(data, template, TimeSpan.FromSeconds(budgetSeconds), progress, cancellation);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"chose width {best.NumberOfSupportPoints}, eps {best.Viscosity:G3} after {trials.Count} trials; training it on all rows"));
        return best;
    }

    public static void WriteMetrics(TextWriter output, ModelMetrics metrics)
    {
        if (metrics.Kind == ModelKind.Regression)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  R²        {metrics.RSquared,8:F4}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  RMSE      {metrics.RootMeanSquaredError,8:G5}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  MAE       {metrics.MeanAbsoluteError,8:G5}"));
            return;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  accuracy  {metrics.Accuracy,8:F4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  macro acc {metrics.MacroAccuracy,8:F4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  log-loss  {metrics.LogLoss,8:F4}"));
        if (metrics.Kind == ModelKind.BinaryClassification)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  AUC       {metrics.AreaUnderRocCurve,8:F4}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  F1        {metrics.F1Score,8:F4}"));
        }
    }
}
