using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Tests.Interop;

public class MLContextTests
{
    [Fact]
    public void MLContextsSeedDecidesTheModelWhenOptionsSeedIsUnsetAndAnUnseededContextDrawsOne()
    {
        float[] Scores(int? contextSeed)
        {
            var context = new MLContext(contextSeed);
            IDataView data = MLNetData.Diabetes(context);
            var options = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 5, MaximumDegreeOfParallelism = 1 };
            return MLNetData.Floats(context.Regression.Trainers.HopfCole(options).Fit(data).Transform(data), "Score");
        }

        Assert.Equal(Scores(5), Scores(5));
        Assert.NotEqual(Scores(5), Scores(6));

        // Without a seed anywhere each Fit draws one, as ML.NET's trainers do (equal draws have odds of 2^-31).
        Assert.NotEqual(Scores(null), Scores(null));
    }

    [Fact]
    public void OptionsSeedWinsOverTheMLContextsSeed()
    {
        float[] Scores(int contextSeed)
        {
            var context = new MLContext(contextSeed);
            IDataView data = MLNetData.Diabetes(context);
            var options = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 5, MaximumDegreeOfParallelism = 1, Seed = 3 };
            return MLNetData.Floats(context.Regression.Trainers.HopfCole(options).Fit(data).Transform(data), "Score");
        }

        Assert.Equal(Scores(5), Scores(6));
    }

    [Fact]
    public void LogSubscriberSeesTheSeedEveryEpochTheChosenOptimizerAndWhyTrainingStopped()
    {
        var context = new MLContext(seed: 1);
        var messages = new List<LoggingEventArgs>();
        context.Log += (_, message) => messages.Add(message);
        IDataView data = MLNetData.BreastCancer(context);
        var progress = new List<TrainingProgress>();
        var options = new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 6, Progress = new Reports(progress) };

        HopfColePredictionTransformer model = context.BinaryClassification.Trainers.HopfCole(options).Fit(data);

        string[] ours = messages.Where(message => message.Source.Contains(nameof(HopfColeBinaryTrainer), StringComparison.Ordinal)).Select(message => message.RawMessage).ToArray();
        Assert.Contains(ours, message => message.StartsWith("Training a BinaryClassification Hopf–Cole model on 569 rows x 30 features", StringComparison.Ordinal) && message.Contains("seed 1 (the MLContext's seed)", StringComparison.Ordinal));
        Assert.Equal(model.Model.History.Count, ours.Count(message => message.StartsWith("Epoch ", StringComparison.Ordinal)));
        Assert.Contains(ours, message => message.StartsWith("Optimizer: L-BFGS (chosen by Optimizer.Automatic", StringComparison.Ordinal));
        Assert.Contains(ours, message => message.StartsWith($"Stopped after {model.Model.History.Count} of 6 epochs: ", StringComparison.Ordinal) && message.Contains($"keeps epoch {model.Model.BestEpoch}", StringComparison.Ordinal));
        Assert.Equal(messages.Count(message => message.Kind == ChannelMessageKind.Trace && message.RawMessage.StartsWith("Epoch ", StringComparison.Ordinal)), progress.Count);
    }

    [Fact]
    public void LogSaysWhichOptimizerRanWhenOneIsAskedForAndThatTheEpochLimitEndedTraining()
    {
        var context = new MLContext(seed: 1);
        var messages = new List<string>();
        context.Log += (_, message) => messages.Add(message.RawMessage);
        IDataView data = MLNetData.Diabetes(context);
        var options = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 3, Optimizer = Optimizer.Adam, ValidationFraction = 0, Seed = 9 };

        context.Regression.Trainers.HopfCole(options).Fit(data);

        Assert.Contains(messages, message => message.EndsWith("no validation split; seed 9 (Options.Seed).", StringComparison.Ordinal));
        Assert.Contains("Optimizer: Adam (as Options.Optimizer asked).", messages);
        Assert.Contains("Stopped after 3 of 3 epochs: the epoch limit (MaximumEpochs); the model keeps epoch 3.", messages);
    }

    // Progress<T> posts to the thread pool; the user's reports must arrive in order and before Fit returns.
    private sealed class Reports(List<TrainingProgress> received) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => received.Add(value);
    }
}
