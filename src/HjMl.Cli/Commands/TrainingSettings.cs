using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>The trainer options shared by <c>train</c> and <c>cross-validate</c>, read from the command line.</summary>
internal static class TrainingSettings
{
    public const string Usage = "[--task regression|binary|multiclass] [--width N] [--viscosity eps] [--viscosity-mode fixed|learned|annealed|width] [--final-viscosity eps] [--time t] [--optimizer auto|adam|lbfgs] [--epochs E] [--batch B] [--learning-rate r] [--validation f] [--l2 lambda] [--seed s] [--threads n] [--depth L [--flow-width m] [--flow-pieces J] [--horizon T] [--flow-viscosity eps]]";

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
