using HjMl.MLNet;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Accuracy;

/// <summary>
/// A column of the table: a trainer a user would pick for each task, created from its catalog with default arguments.
/// </summary>
/// <param name="Name">The column heading.</param>
/// <param name="Create">The trainer for a task, on the given context.</param>
/// <param name="IsHjMl">True for HjMl's columns, whose gap to LightGbm the table shows.</param>
internal sealed record Learner(string Name, Func<MLContext, LearningTask, IEstimator<ITransformer>> Create, bool IsHjMl = false)
{
    /// <summary>Heading of the linear peer's column.</summary>
    public const string LinearName = "Linear";

    /// <summary>ML.NET's peers, in the table's order: LightGbm first, as the gaps are measured to it.</summary>
    public static IReadOnlyList<Learner> Peers { get; } =
    [
        new("LightGbm", (context, task) => task switch
        {
            LearningTask.Regression => context.Regression.Trainers.LightGbm(),
            LearningTask.BinaryClassification => context.BinaryClassification.Trainers.LightGbm(),
            _ => context.MulticlassClassification.Trainers.LightGbm(),
        }),
        // ML.NET has no multiclass FastTree; one-versus-all over the binary one is what its documentation suggests.
        new("FastTree", (context, task) => task switch
        {
            LearningTask.Regression => context.Regression.Trainers.FastTree(),
            LearningTask.BinaryClassification => context.BinaryClassification.Trainers.FastTree(),
            _ => context.MulticlassClassification.Trainers.OneVersusAll(context.BinaryClassification.Trainers.FastTree()),
        }),
        new(LinearName, (context, task) => task switch
        {
            LearningTask.Regression => context.Regression.Trainers.Sdca(),
            LearningTask.BinaryClassification => context.BinaryClassification.Trainers.LbfgsLogisticRegression(),
            _ => context.MulticlassClassification.Trainers.LbfgsMaximumEntropy(),
        }),
    ];

    /// <summary>HjMl's Hopf–Cole trainer for the task through the plug-in's catalog, with <paramref name="configuration"/> applied.</summary>
    public static Learner HjMl(HjMlConfiguration configuration) => new(configuration.Heading, (context, task) => task switch
    {
        LearningTask.Regression => context.Regression.Trainers.HopfCole(configuration.Apply(new HopfColeRegressionTrainer.Options())),
        LearningTask.BinaryClassification => context.BinaryClassification.Trainers.HopfCole(configuration.Apply(new HopfColeBinaryTrainer.Options())),
        _ => context.MulticlassClassification.Trainers.HopfCole(configuration.Apply(new HopfColeMulticlassTrainer.Options())),
    }, IsHjMl: true);

    /// <summary>HjMl's best and last epoch from a fitted pipeline, or null for another trainer.</summary>
    public static (int Best, int Run)? Epochs(ITransformer model)
        => model is TransformerChain<ITransformer> chain && chain.LastTransformer is HopfColePredictionTransformer hopfCole
            ? (hopfCole.Model.BestEpoch, hopfCole.Model.History.Count)
            : null;
}
