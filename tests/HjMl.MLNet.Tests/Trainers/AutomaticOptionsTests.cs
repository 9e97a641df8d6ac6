using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Training;
using Microsoft.ML;

namespace HjMl.MLNet.Tests.Trainers;

// The plug-in mirrors the engine's Automatic optimiser and learning rate (HopfColeTrainerOptions): the same defaults, and
// a default Fit trains with what the engine's rule picks.
public class AutomaticOptionsTests
{
    [Fact]
    public void OptimizerAndLearningRateDefaultToTheEnginesAutomatic()
    {
        var engine = new HopfColeTrainerOptions();
        foreach (HopfColeTrainingOptions options in new HopfColeTrainingOptions[] { new HopfColeBinaryTrainer.Options(), new HopfColeMulticlassTrainer.Options(), new HopfColeRegressionTrainer.Options() })
        {
            Assert.Equal((Optimizer.Automatic, 0.0), (options.Optimizer, options.LearningRate));
            Assert.Equal((engine.Optimizer, engine.LearningRate), (options.Optimizer, options.LearningRate));
        }
    }

    // breast_cancer: 513 training rows after the 10% validation split, 5 mini-batches of 128: 500 Adam steps in 100
    // epochs, 300 in 60; iris: 135 rows, 2 batches.
    [Theory]
    [InlineData("breast_cancer", 100, "Adam")]
    [InlineData("breast_cancer", 60, "L-BFGS")]
    [InlineData("iris", 100, "L-BFGS")]
    public void ADefaultFitTrainsByTheOptimizerTheEnginesStepRulePicks(string data, int epochs, string expected)
    {
        var context = new MLContext(seed: 1);
        var messages = new List<string>();
        context.Log += (_, message) => messages.Add(message.RawMessage);
        if (data == "iris")
        {
            context.MulticlassClassification.Trainers.HopfCole(new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = epochs }).Fit(MLNetData.Iris(context));
        }
        else
        {
            context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = epochs }).Fit(MLNetData.BreastCancer(context));
        }

        Assert.Contains(messages, message => message.StartsWith($"Optimizer: {expected} (chosen by Optimizer.Automatic", StringComparison.Ordinal));
    }
}
