using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Modelling;

/// <summary>
/// What <c>hjml train --search</c> writes beside the model: the leaderboard, a log of the whole run, the training code
/// that reproduces the model, and (for an ML.NET zip) a consumption project.
/// </summary>
internal static class SearchArtifacts
{
    /// <summary>Prints the leaderboard: the best <paramref name="count"/> trials, sorted, with the task's metrics.</summary>
    public static void WriteLeaderboard(TextWriter output, SearchOutcome outcome, int count = 10)
    {
        ModelKind kind = outcome.Best.Kind;
        string header = kind switch
        {
            ModelKind.Regression => "      R²       RMSE        MAE",
            ModelKind.BinaryClassification => "accuracy      AUC  log-loss       F1",
            _ => "accuracy  macro acc  log-loss",
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"leaderboard ({outcome.Trials.Count} trials in {outcome.Elapsed.TotalSeconds:F0}s, scored on {outcome.HoldoutRows} search hold-out rows; best {Math.Min(count, outcome.Trials.Count)}):"));
        output.WriteLine($"  rank  trial  epochs  depth  width     eps       lr  {header}    time");
        int rank = 0;
        foreach (SearchTrialResult trial in outcome.Leaderboard.Take(count))
        {
            rank++;
            ModelMetrics m = trial.Metrics;
            HopfColeTrainerOptions o = trial.Options;
            string metrics = kind switch
            {
                ModelKind.Regression => string.Create(CultureInfo.InvariantCulture, $"{m.RSquared,8:F4} {m.RootMeanSquaredError,10:G4} {m.MeanAbsoluteError,10:G4}"),
                ModelKind.BinaryClassification => string.Create(CultureInfo.InvariantCulture, $"{m.Accuracy,8:F4} {m.AreaUnderRocCurve,8:F4} {m.LogLoss,9:F4} {m.F1Score,8:F4}"),
                _ => string.Create(CultureInfo.InvariantCulture, $"{m.Accuracy,8:F4} {m.MacroAccuracy,10:F4} {m.LogLoss,9:F4}"),
            };
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {rank,4}  {trial.Number,5}  {o.MaximumEpochs,6}  {o.Depth,5}  {o.NumberOfSupportPoints,5}  {o.Viscosity,6:G3}  {o.LearningRate,7:G2}  {metrics}  {trial.Elapsed.TotalSeconds,5:F1}s"));
        }
    }

    /// <summary>
    /// Writes, beside <paramref name="modelPath"/>: the run's log (<paramref name="transcript"/> and every trial), the
    /// training code, and for an ML.NET zip the consumption project; returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> Write(string modelPath, TabularSchema schema, RawTable table, HopfColeTrainerOptions options, SearchOutcome outcome, string transcript, string? hjmlProject)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        string stem = Path.GetFileNameWithoutExtension(modelPath);
        var written = new List<string>();
        string log = Path.Combine(folder, stem + ".log");
        var text = new StringWriter(CultureInfo.InvariantCulture);
        text.Write(transcript);
        text.WriteLine();
        WriteLeaderboard(text, outcome, outcome.Trials.Count);
        HjMl.Persistence.AtomicFile.Write(log, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text.ToString());
        });
        written.Add(log);
        if (!modelPath.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            return written;
        }

        string training = Path.Combine(folder, stem + ".training.cs");
        string project = Path.Combine(folder, ConsumptionProject.Identifier(stem) + ".Consumption");
        string name = ConsumptionProject.Identifier(Path.GetFileNameWithoutExtension(project));
        File.WriteAllText(training, ConsumptionProject.TrainingCode(schema, options, table.Source, name));
        written.Add(training);
        string version = typeof(HjMl.Models.HopfColeModel).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";
        ConsumptionProject.Write(project, modelPath, schema, options, table.Source, table.Rows, version, hjmlProject);
        written.Add(project);
        return written;
    }
}
