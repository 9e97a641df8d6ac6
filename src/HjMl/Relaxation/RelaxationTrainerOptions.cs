using System.Globalization;

namespace HjMl.Relaxation;

/// <summary>The optimiser a <see cref="RelaxationTrainer"/> runs.</summary>
public enum RelaxationOptimizer
{
    /// <summary>Adam on mini-batches (the engine's; cosine-decayed rate).</summary>
    Adam,

    /// <summary>L-BFGS on the full batch (the engine's), one iteration an epoch.</summary>
    Lbfgs,
}

/// <summary>Hyper-parameters of a <see cref="RelaxationTrainer"/>; <see cref="Validate"/> names the option at fault.</summary>
public sealed record RelaxationTrainerOptions
{
    /// <summary>L, the relaxation steps. Default 2.</summary>
    public int Depth { get; init; } = 2;

    /// <summary>Dense or ADR steps. Default homogeneous ADR.</summary>
    public RelaxationMixing Mixing { get; init; } = RelaxationMixing.HomogeneousAdr;

    /// <summary>The lattice of the features (null: a line). Its sites must number the features.</summary>
    public GridShape? Grid { get; init; }

    /// <summary>Heterogeneous ADR: the side of the patch sharing one set of moments (1: per site). Default 1.</summary>
    public int MomentTile { get; init; } = 1;

    /// <summary>sigma. Default softplus (the two-piece LSE layer).</summary>
    public RelaxationActivation Activation { get; init; } = RelaxationActivation.Softplus;

    /// <summary>eps of softplus, &gt; 0. Default 1.</summary>
    public double Viscosity { get; init; } = 1.0;

    /// <summary>omega = gamma dt &gt; 0, the relaxation factor: 1 is the usual layer, &gt; 1 over-relaxes. Default 1.</summary>
    public double RelaxationFactor { get; init; } = 1.0;

    /// <summary>Whether omega is learned (as log omega, from <see cref="RelaxationFactor"/>). Default false.</summary>
    public bool LearnRelaxationFactor { get; init; }

    /// <summary>What the network outputs. Default softmax (classification).</summary>
    public RelaxationReadout Readout { get; init; } = RelaxationReadout.Softmax;

    /// <summary>K, the classes or outputs; 0 to infer it from the targets. Default 0.</summary>
    public int Outputs { get; init; }

    /// <summary>Passes over the training rows. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Rows per Adam step; 0 for full batch. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Adam's step size. Default 0.01.</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>The optimiser. Default Adam.</summary>
    public RelaxationOptimizer Optimizer { get; init; } = RelaxationOptimizer.Adam;

    /// <summary>Seed of the initialisation and the mini-batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Threads a pass uses; 0 for the processor count. Results are deterministic for a seed and thread count.</summary>
    public int Threads { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        RequireRelaxationFactor(RelaxationFactor);
        if (Activation == RelaxationActivation.Softplus && (!(Viscosity > 0) || !double.IsFinite(Viscosity)))
        {
            throw new ArgumentException(Text($"Option Viscosity is {Viscosity}; it must be finite and > 0 for softplus (it is eps of eps log(1 + e^(a/eps)))."), nameof(Viscosity));
        }

        if (!Enum.IsDefined(Activation) || !Enum.IsDefined(Mixing) || !Enum.IsDefined(Readout) || !Enum.IsDefined(Optimizer))
        {
            throw new ArgumentException($"Option Activation, Mixing, Readout or Optimizer is not a defined value ({Activation}, {Mixing}, {Readout}, {Optimizer}).", nameof(Activation));
        }

        Check(Depth >= 0 && Depth <= 10_000, nameof(Depth), Depth, "in [0, 10000]");
        Check(MomentTile >= 1, nameof(MomentTile), MomentTile, ">= 1");
        Check(Outputs >= 0, nameof(Outputs), Outputs, ">= 0 (0 infers it from the targets)");
        Check(Epochs >= 0, nameof(Epochs), Epochs, ">= 0");
        Check(BatchSize >= 0, nameof(BatchSize), BatchSize, ">= 0 (0 for full batch)");
        Check(Threads >= 0, nameof(Threads), Threads, ">= 0 (0 for the processor count)");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
        {
            throw new ArgumentException(Text($"Option LearningRate is {LearningRate}; it must be finite and > 0."), nameof(LearningRate));
        }
    }

    /// <summary>Throws unless omega is finite and &gt; 0, naming the option.</summary>
    internal static void RequireRelaxationFactor(double relaxationFactor)
    {
        if (!(relaxationFactor > 0) || !double.IsFinite(relaxationFactor))
        {
            throw new ArgumentException(Text($"Option RelaxationFactor is {relaxationFactor}; it must be finite and > 0 (it is omega = gamma dt of z_(k+1) = (1 - omega) z_k + omega sigma(W z_k - b); 1 is the usual layer)."), nameof(RelaxationFactor));
        }
    }

    private static void Check(bool ok, string option, int value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException(Text($"Option {option} is {value}; it must be {rule}."), option);
        }
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
