using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Accuracy;

/// <summary>One learner on one fold: the metrics on the fold's test rows and the time its pipeline took to fit.</summary>
/// <param name="Metrics">Metric name to value (accuracy, AUC or R^2).</param>
/// <param name="TrainingSeconds">Wall time of Fit: featurisation and training.</param>
/// <param name="ProcessorSeconds">CPU time of the process during Fit, summed over its threads.</param>
/// <param name="Epochs">HjMl's best and last epoch; null for ML.NET's trainers.</param>
internal sealed record FoldResult(IReadOnlyDictionary<string, double> Metrics, double TrainingSeconds, double ProcessorSeconds, (int Best, int Run)? Epochs);

/// <summary>Every learner's folds on one data set.</summary>
/// <param name="DataSet">The data set.</param>
/// <param name="Rows">Rows read.</param>
/// <param name="Features">Width of Features after featurisation (one-hot slots included).</param>
/// <param name="Folds">Folds (1 for a hold-out).</param>
/// <param name="Results">Per learner (table order), its folds in order.</param>
internal sealed record DataSetResult(DataSet DataSet, long Rows, int Features, int Folds, IReadOnlyList<(Learner Learner, IReadOnlyList<FoldResult> Folds)> Results);

/// <summary>
/// The protocol: the data set's rows split once per seed (ML.NET's CrossValidationSplit into k folds, or TrainTestSplit
/// for a hold-out), and every learner fitted on the same training rows with the same featurisation.
/// </summary>
internal static class CrossValidation
{
    /// <summary>The metrics of a task, in table order.</summary>
    public static IReadOnlyList<string> MetricNames(LearningTask task) => task switch
    {
        LearningTask.Regression => ["R^2"],
        LearningTask.BinaryClassification => ["AUC", "Accuracy"],
        _ => ["Accuracy"],
    };

    /// <summary>Runs every learner on every fold of <paramref name="dataSet"/>, reporting each fold to <paramref name="log"/>.</summary>
    public static DataSetResult Run(DataSet dataSet, string path, IReadOnlyList<Learner> learners, int folds, int seed, TextWriter log)
    {
        var context = new MLContext(seed);
        IDataView data = context.Data.Cache(dataSet.Load(context, path));
        IReadOnlyList<DataOperationsCatalog.TrainTestData> splits = dataSet.HoldOutFraction is double fraction
            ? [context.Data.TrainTestSplit(data, fraction, seed: seed)]
            : context.Data.CrossValidationSplit(data, folds, seed: seed);

        long rows = 0;
        using (DataViewRowCursor cursor = data.GetRowCursor([]))
        {
            while (cursor.MoveNext())
            {
                rows++;
            }
        }

        int features = dataSet.Featurisation(context).Fit(splits[0].TrainSet).GetOutputSchema(data.Schema)["Features"].Type is VectorDataViewType vector ? vector.Size : 1;
        log.WriteLine($"== {dataSet.Name}: {rows} rows, {features} features, {(dataSet.HoldOutFraction is double f ? $"{f:P0} hold-out" : $"{folds}-fold cross-validation")}");

        var results = new List<(Learner, IReadOnlyList<FoldResult>)>();
        foreach (Learner learner in learners)
        {
            // One untimed fit on the first training fold first, so no learner's time includes loading its native library
            // or JIT. A few rows would not do: a learner may take another path on them (HjMl embeds numeric features
            // only with enough rows), and the path the timed fits take would then be compiled during the first of them.
            var warmUpContext = new MLContext(seed);
            dataSet.Featurisation(warmUpContext).Append(learner.Create(warmUpContext, dataSet.Task)).Fit(splits[0].TrainSet);

            var foldResults = new List<FoldResult>();
            for (int fold = 0; fold < splits.Count; fold++)
            {
                // A fresh context per fit, so a learner's random draws do not depend on which learners ran before it.
                var fitContext = new MLContext(seed);
                IEstimator<ITransformer> pipeline = dataSet.Featurisation(fitContext).Append(learner.Create(fitContext, dataSet.Task));
                // CPU time beside wall time: on a shared machine the wall clock also counts other processes' turns.
                TimeSpan processorBefore = ProcessorTime();
                var clock = Stopwatch.StartNew();
                ITransformer model = pipeline.Fit(splits[fold].TrainSet);
                double seconds = clock.Elapsed.TotalSeconds;
                double processorSeconds = (ProcessorTime() - processorBefore).TotalSeconds;
                FoldResult result = new(Evaluate(fitContext, dataSet.Task, model.Transform(splits[fold].TestSet)), seconds, processorSeconds, Learner.Epochs(model));
                foldResults.Add(result);
                string epochs = result.Epochs is { } e ? $", best epoch {e.Best} of {e.Run}" : string.Empty;
                log.WriteLine($"   {learner.Name,-12} fold {fold + 1}/{splits.Count}: {string.Join(", ", result.Metrics.Select(m => $"{m.Key} {m.Value:F4}"))}, {seconds:F2} s wall, {processorSeconds:F2} s CPU{epochs}");
            }

            results.Add((learner, foldResults));
        }

        return new DataSetResult(dataSet, rows, features, splits.Count, results);
    }

    private static TimeSpan ProcessorTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static Dictionary<string, double> Evaluate(MLContext context, LearningTask task, IDataView scored) => task switch
    {
        LearningTask.Regression => new() { ["R^2"] = context.Regression.Evaluate(scored).RSquared },
        LearningTask.BinaryClassification => Binary(context.BinaryClassification.Evaluate(scored)),
        _ => new() { ["Accuracy"] = context.MulticlassClassification.Evaluate(scored).MicroAccuracy },
    };

    private static Dictionary<string, double> Binary(CalibratedBinaryClassificationMetrics metrics)
        => new() { ["AUC"] = metrics.AreaUnderRocCurve, ["Accuracy"] = metrics.Accuracy };
}
