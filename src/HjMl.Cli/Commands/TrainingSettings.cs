using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>The trainer options shared by <c>train</c> and <c>cross-validate</c>, read from the command line.</summary>
internal static class TrainingSettings
{
    public const string Usage = "[--task regression|binary|multiclass] [--width N] [--viscosity eps] [--viscosity-mode fixed|learned|annealed|width] [--final-viscosity eps] [--time t] [--optimizer auto|adam|lbfgs] [--epochs E] [--batch B] [--learning-rate r] [--validation f] [--l2 lambda] [--seed s] [--threads n] [--depth L [--flow-width m] [--flow-pieces J] [--horizon T] [--flow-viscosity eps]] [--embedding auto|periodic|none [--embedding-frequencies K] [--embedding-width e] [--embedding-scale sigma]]";

    /// <summary>The options <see cref="Read"/> reads, with their meanings and defaults.</summary>
    public static IReadOnlyList<VerbOption> Options { get; } =
    [
        new("task", "regression, binary or multiclass; inferred from the label when not given (two values: binary; text or a few whole numbers: multiclass; other numbers: regression)"),
        new("width", "support points per head (N)", OptionValue.Integer, "32"),
        new("viscosity", "eps, the viscosity: softmax temperature of the log-sum-exp heads (train: 2 when ML.NET featurises categorical, text or empty cells)", OptionValue.Number, "0.5"),
        new("viscosity-mode", "fixed, learned, annealed (from --viscosity to --final-viscosity) or width (eps = N^(-1/d))", OptionValue.Text, "fixed"),
        new("final-viscosity", "the eps annealing ends at", OptionValue.Number, "0.05"),
        new("time", "t of the Hopf–Cole reading (support points y = 2t w)", OptionValue.Number, "d/4"),
        new("optimizer", "auto, adam or lbfgs (auto: L-BFGS while Adam would take under 400 steps, epochs x batches, and rows x parameters is up to 5e7, else mini-batch Adam)", OptionValue.Text, "auto"),
        new("epochs", "the most epochs (L-BFGS iterations) trained; early stopping may end sooner", OptionValue.Integer, "100"),
        new("batch", "Adam's mini-batch rows; 0 for full batch", OptionValue.Integer, "128"),
        new("learning-rate", "Adam's learning rate; 0 for automatic: 0.05 / batches an epoch, within 0.001-0.01", OptionValue.Number, "0"),
        new("validation", "share of the training rows held out for early stopping; 0 for none", OptionValue.Number, "0.1"),
        new("l2", "L2 regularisation of the weights", OptionValue.Number, "1e-4"),
        new("seed", "seed of every random choice (same seed and threads: the same model)", OptionValue.Integer, "0"),
        new("threads", "threads for the gradient; 0 for all cores", OptionValue.Integer, "0"),
        new("depth", "Euler steps of a residual Gibbs flow before the read-out; 0 for the single layer", OptionValue.Integer, "0"),
        new("flow-width", "width m the flow lifts the features to (0: no lift)", OptionValue.Integer, "0"),
        new("flow-pieces", "keys and values per flow step", OptionValue.Integer, "32"),
        new("horizon", "the flow's time horizon T (step h = T / depth)", OptionValue.Number, "1"),
        new("flow-viscosity", "eps of the flow's attention", OptionValue.Number, "1"),
        new("embedding", "numeric features (more than two distinct values) through a learned periodic embedding: periodic, none, or auto (periodic for 1 to 32 numeric features, at least as many rows as embedding parameters and --validation > 0)", OptionValue.Text, "auto"),
        new("embedding-frequencies", "frequencies K per embedded feature", OptionValue.Integer, "32"),
        new("embedding-width", "the vector width e per embedded feature", OptionValue.Integer, "16"),
        new("embedding-scale", "sigma of the frequencies' start, in cycles per standard deviation", OptionValue.Number, "4"),
    ];

    public static HopfColeTrainerOptions Read(ParsedArguments arguments, ModelKind defaultKind)
    {
        var defaults = new HopfColeTrainerOptions();
        string? time = arguments.Text("time");
        return new HopfColeTrainerOptions
        {
            Kind = Kind(arguments.Text("task"), defaultKind),
            NumberOfSupportPoints = arguments.Integer("width", defaults.NumberOfSupportPoints),
            Viscosity = arguments.Number("viscosity", defaults.Viscosity),
            ViscosityMode = Choice(arguments.Text("viscosity-mode"), "viscosity-mode", defaults.ViscosityMode, ("fixed", ViscosityMode.Fixed), ("learned", ViscosityMode.Learned), ("annealed", ViscosityMode.Annealed), ("width", ViscosityMode.WidthScaling)),
            FinalViscosity = arguments.Number("final-viscosity", defaults.FinalViscosity),
            Time = time is null ? null : arguments.Number("time", 1),
            Optimizer = Choice(arguments.Text("optimizer"), "optimizer", defaults.Optimizer, ("auto", Optimizer.Automatic), ("adam", Optimizer.Adam), ("lbfgs", Optimizer.Lbfgs)),
            MaximumEpochs = arguments.Integer("epochs", defaults.MaximumEpochs),
            BatchSize = arguments.Integer("batch", defaults.BatchSize),
            LearningRate = arguments.Number("learning-rate", defaults.LearningRate),
            ValidationFraction = arguments.Number("validation", defaults.ValidationFraction),
            L2Regularisation = arguments.Number("l2", defaults.L2Regularisation),
            Seed = arguments.Integer("seed", defaults.Seed),
            MaximumDegreeOfParallelism = arguments.Integer("threads", defaults.MaximumDegreeOfParallelism),
            Depth = arguments.Integer("depth", defaults.Depth),
            FlowWidth = arguments.Integer("flow-width", defaults.FlowWidth),
            FlowSupportPoints = arguments.Integer("flow-pieces", defaults.FlowSupportPoints),
            FlowHorizon = arguments.Number("horizon", defaults.FlowHorizon),
            FlowViscosity = arguments.Number("flow-viscosity", defaults.FlowViscosity),
            FeatureEmbedding = Choice(arguments.Text("embedding"), "embedding", defaults.FeatureEmbedding, ("auto", FeatureEmbedding.Automatic), ("periodic", FeatureEmbedding.Periodic), ("none", FeatureEmbedding.None)),
            EmbeddingFrequencies = arguments.Integer("embedding-frequencies", defaults.EmbeddingFrequencies),
            EmbeddingWidth = arguments.Integer("embedding-width", defaults.EmbeddingWidth),
            EmbeddingScale = arguments.Number("embedding-scale", defaults.EmbeddingScale),
        };
    }

    public static ModelKind Kind(string? text, ModelKind fallback)
        => Choice(text, "task", fallback, ("regression", ModelKind.Regression), ("binary", ModelKind.BinaryClassification), ("multiclass", ModelKind.MulticlassClassification));

    public static string TaskName(ModelKind kind) => kind switch
    {
        ModelKind.Regression => "regression",
        ModelKind.BinaryClassification => "binary",
        _ => "multiclass",
    };

    private static T Choice<T>(string? text, string option, T fallback, params (string Name, T Value)[] choices)
    {
        if (text is null)
        {
            return fallback;
        }

        foreach ((string name, T value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw new UsageException($"--{option} is '{text}'; choose one of {string.Join(", ", choices.Select(c => c.Name))}.");
    }
}
