using HjMl.MLNet.AutoML;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.AutoML;
using Microsoft.ML.Data;
using Microsoft.ML.SearchSpace;

namespace HjMl.MLNet.Tests.AutoML;

public class HopfColeSearchSpaceTests
{
    [Fact]
    public void AutoMLSweepsWidthAndViscosityInsideTheSearchSpace()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var points = new List<(int Width, double Viscosity)>();
        SweepableEstimator sweepable = context.Auto().CreateSweepableEstimator(
            (trialContext, point) =>
            {
                lock (points)
                {
                    points.Add((point.NumberOfSupportPoints, point.Viscosity));
                }

                return trialContext.BinaryClassification.Trainers.HopfCole(point.ApplyTo(new HopfColeBinaryTrainer.Options { MaximumEpochs = 15, Seed = 1 }));
            },
            new SearchSpace<HopfColeSearchSpace>());

        AutoMLExperiment experiment = context.Auto().CreateExperiment(new AutoMLExperiment.AutoMLExperimentSettings { Seed = 1 })
            .SetPipeline(new EstimatorChain<ITransformer>().Append(sweepable))
            .SetDataset(context.Data.TrainTestSplit(data, 0.25, seed: 1))
            .SetBinaryClassificationMetric(BinaryClassificationMetric.Accuracy, "Label")
            .SetMaxModelToExplore(6)
            .SetTrainingTimeInSeconds(600);
        TrialResult best = experiment.Run();

        Assert.True(best.Metric > 0.9, $"best accuracy {best.Metric}");
        Assert.True(points.Select(point => point.Width).Distinct().Count() > 1, "the width was not swept");
        Assert.True(points.Select(point => point.Viscosity).Distinct().Count() > 1, "the viscosity was not swept");
        Assert.All(points, point =>
        {
            Assert.InRange(point.Width, HopfColeSearchSpace.MinimumNumberOfSupportPoints, HopfColeSearchSpace.MaximumNumberOfSupportPoints);
            Assert.InRange(point.Viscosity, HopfColeSearchSpace.MinimumViscosity, HopfColeSearchSpace.MaximumViscosity);
        });
    }

    [Fact]
    public void ApplyToWritesWidthAndViscosityIntoTrainerOptions()
    {
        var point = new HopfColeSearchSpace { NumberOfSupportPoints = 7, Viscosity = 0.25 };

        HopfColeMulticlassTrainer.Options options = point.ApplyTo(new HopfColeMulticlassTrainer.Options { MaximumEpochs = 3 });

        Assert.Equal(7, options.NumberOfSupportPoints);
        Assert.Equal(0.25, options.Viscosity);
        Assert.Equal(3, options.MaximumEpochs);
    }
}
