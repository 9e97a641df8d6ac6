using HjMl.MLNet;
using HjMl.MLNet.AutoML;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.AutoML;
using Microsoft.ML.SearchSpace;

/// <summary>The sample's automl mode (built with -p:HjMlWithAutoML=true): ML.NET AutoML sweeps the trainer's width and viscosity.</summary>
internal static class AutoMLSweep
{
    /// <summary>AutoML samples (width, eps) from HopfColeSearchSpace; each trial trains on the train split, scores accuracy on the test split.</summary>
    public static void Run(MLContext context, DataOperationsCatalog.TrainTestData split)
    {
        var sampled = new List<HopfColeSearchSpace>();
        SweepableEstimator sweepable = context.Auto().CreateSweepableEstimator(
            (trialContext, point) =>
            {
                sampled.Add(point);
                return trialContext.BinaryClassification.Trainers.HopfCole(point.ApplyTo(new HopfColeBinaryTrainer.Options { MaximumEpochs = 50, Seed = 1 }));
            },
            new SearchSpace<HopfColeSearchSpace>());
        AutoMLExperiment experiment = context.Auto().CreateExperiment(new AutoMLExperiment.AutoMLExperimentSettings { Seed = 1 })
            .SetPipeline(context.Transforms.NormalizeMeanVariance("Features").Append(sweepable))
            .SetDataset(split)
            .SetBinaryClassificationMetric(BinaryClassificationMetric.Accuracy, "Label")
            .SetMaxModelToExplore(12)
            .SetTrainingTimeInSeconds(120)
            .SetMonitor(new TrialPrinter(sampled));
        TrialResult best = experiment.Run();
        Console.WriteLine($"Best: trial {best.TrialSettings.TrialId}, accuracy {best.Metric:F4}");
    }
}

/// <summary>Prints each AutoML trial as it ends: the width and viscosity it tried and its accuracy.</summary>
internal sealed class TrialPrinter(List<HopfColeSearchSpace> sampled) : IMonitor
{
    public void ReportCompletedTrial(TrialResult result)
    {
        HopfColeSearchSpace point = sampled[^1];
        Console.WriteLine($"trial {result.TrialSettings.TrialId,2}: {point.NumberOfSupportPoints,2} support points, eps = {point.Viscosity:F3}: accuracy {result.Metric:F4} ({result.DurationInMilliseconds / 1000:F1} s)");
    }

    public void ReportBestTrial(TrialResult result)
    {
    }

    public void ReportFailTrial(TrialSettings settings, Exception? exception = null) => Console.WriteLine($"trial {settings.TrialId} failed: {exception?.Message}");

    public void ReportRunningTrial(TrialSettings settings)
    {
    }
}

