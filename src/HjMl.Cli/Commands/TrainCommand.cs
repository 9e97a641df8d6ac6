using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Cli.Modelling;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.MLNet;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml train</c>: reads a CSV file (or the embedded breast_cancer set), infers its columns and task, trains a
/// Hopf–Cole model with a progress bar (or searches for one within a time budget), prints its metrics and writes it:
/// an ML.NET zip with its featurisers when the output ends in .zip, else the engine's .hjml file. Nothing is written if
/// anything fails.
/// </summary>
internal sealed class TrainCommand : IDescribedCommand, IHasSwitches
{
    /// <summary>
    /// The default eps when ML.NET featurises the columns (one-hot categories, indicators of empty cells): such 0/1
    /// columns, standardised with the scale floor of an indicator, stand up to 4 units from their means, so the logits
    /// spread wider than on dense numbers and a smoother read-out generalises better (README, the Model Builder walkthrough).
    /// </summary>
    public const double FeaturisedViscosity = 2;

    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("data", "the CSV file to train on (quoted fields, any common separator); without it, the breast_cancer set embedded in the tool"),
        new("out", "the model to write: an ML.NET zip (with its featurisers) when it ends in .zip, else the engine's .hjml file (numeric columns only)"),
        .. TabularOptions.Options,
        new("search", "search depth, width, eps and learning rate by successive halving within --time-budget, then train the best; scores it on 15% of the rows nothing else saw", OptionValue.Switch),
        new("time-budget", "seconds the search may use", OptionValue.Number, "60"),
        new("hjml-mlnet-project", "with --search and a .zip: the consumption project references this HjMl.MLNet.csproj (a checkout of the repository) instead of the HjMl.MLNet package"),
        .. TrainingSettings.Options,
    ];

    public string[] Switches => ["search"];

    public string Name => "train";

    public string Summary => "train a model on a CSV file (default: the embedded breast_cancer set) and save it";

    public string Usage => $"hjml train [--data <csv>] [--label <column>] [--ignore a,b] [--search [--time-budget seconds]] {TrainingSettings.Usage} --out <model.zip|model.hjml>";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string? dataPath = arguments.Text("data");
        string outPath = arguments.Required("out");
        TabularOptions.Choices choices = TabularOptions.Read(arguments);
        HopfColeTrainerOptions options = TrainingSettings.Read(arguments, choices.Task ?? ModelKind.BinaryClassification);
        bool search = arguments.Has("search");
        double budget = arguments.Number("time-budget", 60);
        string? hjmlProject = arguments.Text("hjml-mlnet-project");
        bool viscosityGiven = arguments.Has("viscosity");
        arguments.RejectUnknown();
        if (search)
        {
            SearchSettings.CheckBudget(budget);
        }

        // A search's whole console output also goes to its log.
        var transcript = new StringWriter(CultureInfo.InvariantCulture);
        if (search)
        {
            output = new TeeWriter(output, transcript);
        }

        bool pipeline = outPath.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        RawTable table = RawTable.Read(dataPath, choices.Separator, cancellation);
        TabularSchema schema = ColumnInference.Infer(table, choices.Columns);
        options = options with { Kind = schema.Label.Task };
        if (pipeline && !schema.IsPlainNumeric && !viscosityGiven)
        {
            options = options with { Viscosity = FeaturisedViscosity };
        }

        SchemaReport.Write(output, table, schema);
        PreparedData data = PreparedData.Prepare(table, schema, pipeline, search ? SearchSettings.TestFraction : 0, options.Seed, cancellation);
        if (data.DroppedRows > 0)
        {
            output.WriteLine($"{data.DroppedRows} rows with an empty label are left out");
        }

        SearchOutcome? searched = null;
        if (search)
        {
            searched = ModelSearch.Run(data.Train, options, TimeSpan.FromSeconds(budget), output, cancellation);
            SearchArtifacts.WriteLeaderboard(output, searched);
            options = searched.Best;
            output.WriteLine($"best: {ModelSearch.Describe(options)}; training it on all {data.Train.Rows} training rows");
        }

        // The search's own widths may exceed a small data set's rows (support points then repeat rows), which it chose on
        // purpose; a width the user gave may not.
        TrainingSize.Check(data.Train, options, checkRows: !search);
        string metricName = options.Kind == ModelKind.Regression ? "R²" : "accuracy";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training {TrainingSettings.TaskName(options.Kind)} on {table.Source}: {data.Train.Rows} rows x {data.Train.Columns} features, label '{data.Train.LabelName}'"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"width {options.NumberOfSupportPoints} support points per head, eps {options.Viscosity:G4} ({options.ViscosityMode}), t {HopfColeTrainer.TimeFor(options, data.Train.Columns):G4}, optimiser {options.Optimizer}, seed {options.Seed}"));
        var bar = new ProgressBar(error, IsInteractive(error), metricName);
        HopfColeModel model;
        if (pipeline)
        {
            PipelineTraining.Trained trained = PipelineTraining.Fit(data.Context!, data.Featurizer!, data.Featurizer!.Transform(data.TrainView), schema.Label, options, bar, cancellation);
            bar.Finish();
            model = trained.Prediction.Model.Model;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best epoch {trained.Prediction.Model.BestEpoch} of {trained.Prediction.Model.History.Count}, eps {model.Viscosity:G4}"));
            if (!double.IsNaN(trained.Prediction.Model.ValidationMetric))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validation {metricName} {trained.Prediction.Model.ValidationMetric:F4} (early-stopping rows)"));
            }

            WriteTest(output, model, data);
            data.Context!.Model.SaveAtomically(trained.Pipeline, data.TrainView.Schema, outPath);
        }
        else
        {
            TrainingResult result = new HopfColeTrainer(options).Train(data.Train, progress: bar, cancellation: cancellation);
            bar.Finish();
            model = result.Model;
            output.WriteLine(result.History.Count == 0
                ? "no epoch trained (--epochs 0 keeps the Hopf–Cole construction: support points on training rows)"
                : string.Create(CultureInfo.InvariantCulture, $"best epoch {result.BestEpoch} of {result.History.Count}, eps {model.Viscosity:G4}, {result.History[^1].Elapsed.TotalSeconds:F1}s"));
            if (result.StopReason is not null)
            {
                output.WriteLine(result.StopReason);
            }

            if (result.ValidationRows.Count > 0)
            {
                ModelMetrics metrics = ModelMetrics.Evaluate(model, data.Train.Subset(result.ValidationRows));
                output.WriteLine($"validation ({metrics.Rows} held-out rows):");
                WriteMetrics(output, metrics);
            }

            WriteTest(output, model, data);
            var metadata = new Dictionary<string, string>
            {
                ["trainedOn"] = table.Source,
                ["command"] = "hjml train " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "train").Skip(1)),
            };
            ModelFile.Save(model, outPath, metadata);
        }

        output.WriteLine($"model written to {outPath}");
        if (searched is not null)
        {
            foreach (string written in SearchArtifacts.Write(outPath, schema, table, options, searched, transcript.ToString(), hjmlProject))
            {
                output.WriteLine($"written: {written}");
            }
        }
        output.WriteLine();
        output.WriteLine("to use it from C#:");
        if (pipeline)
        {
            output.WriteLine($"    ITransformer model = mlContext.Model.LoadWithHopfCole(\"{outPath}\", out var schema);   // HjMl.MLNet; plain Model.Load works too");
            output.WriteLine("    var engine = mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);   // ModelInput: the CSV's columns");
        }
        else
        {
            output.WriteLine($"    var model = HjMl.Persistence.ModelFile.Load(\"{outPath}\");");
            output.WriteLine("    var prediction = model.Predict(features);   // double[] in the order of model.FeatureNames");
            output.WriteLine("    var explainer = new HjMl.Attribution.ModelExplainer(model);   // and Explain / Certify / Coverage per row");
        }

        return 0;
    }

    private static bool IsInteractive(TextWriter error) => ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;

    private static void WriteTest(TextWriter output, HopfColeModel model, PreparedData data)
    {
        if (model.Flow?.Shape.Embedding is { } embedding)
        {
            IEnumerable<string> names = embedding.Features.Take(8).Select(f => model.FeatureNames[f]);
            string more = embedding.Features.Count > 8 ? ", ..." : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"feature embedding (--embedding auto): {embedding.Features.Count} numeric features periodic, K {embedding.Frequencies}, e {embedding.Width}: {string.Join(", ", names)}{more}; --embedding none trains the plain layer"));
        }

        if (data.Test is { Rows: > 0 } test)
        {
            ModelMetrics metrics = ModelMetrics.Evaluate(model, test);
            output.WriteLine($"test ({metrics.Rows} rows no trial, early stopping or featuriser saw):");
            WriteMetrics(output, metrics);
        }
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
