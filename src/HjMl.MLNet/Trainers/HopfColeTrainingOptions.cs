using HjMl.MLNet.Columns;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.MLNet.Trainers;

/// <summary>
/// What every Hopf–Cole trainer takes: the columns it reads and the hyper-parameters of HjMl's
/// <see cref="HopfColeTrainer"/>. Each trainer's nested <c>Options</c> derives from this. Mutable, as ML.NET options are.
/// </summary>
public abstract class HopfColeTrainingOptions
{
    /// <summary>The default number of support points per head.</summary>
    public const int DefaultNumberOfSupportPoints = 32;

    /// <summary>The default viscosity eps.</summary>
    public const double DefaultViscosity = 0.5;

    /// <summary>The default number of epochs.</summary>
    public const int DefaultMaximumEpochs = 100;

    private static readonly HopfColeTrainerOptions EngineDefaults = new();

    /// <summary>The features: a known-size vector of <see cref="float"/>. Default "Features".</summary>
    public string FeatureColumnName { get; set; } = DefaultColumnNames.Features;

    /// <summary>The label. Default "Label"; its type depends on the trainer (float, Boolean or key).</summary>
    public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

    /// <summary>An optional column of non-negative <see cref="float"/> example weights; null for none.</summary>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>N, support points (LSE pieces) per head: the width.</summary>
    public int NumberOfSupportPoints { get; set; } = DefaultNumberOfSupportPoints;

    /// <summary>The viscosity eps (&gt; 0): softmax temperature, PDE viscosity and entropy weight at once (THEORY.md section 1).</summary>
    public double Viscosity { get; set; } = DefaultViscosity;

    /// <summary>How eps behaves during training.</summary>
    public ViscosityMode ViscosityMode { get; set; } = EngineDefaults.ViscosityMode;

    /// <summary>The final eps of <see cref="ViscosityMode.Annealed"/>.</summary>
    public double FinalViscosity { get; set; } = EngineDefaults.FinalViscosity;

    /// <summary>t of the Hopf–Cole reading, or null for d/4.</summary>
    public double? Time { get; set; }

    /// <summary>Where the support points start (ML.NET's spelling; the engine's option is <c>Initialisation</c>).</summary>
    public SupportInitialisation Initialization { get; set; } = EngineDefaults.Initialisation;

    /// <summary>
    /// The optimiser. Automatic (the default) is L-BFGS while Adam would take fewer than 400 steps (epochs x mini-batches)
    /// and rows x parameters stays small, mini-batch Adam otherwise (<see cref="Optimizer.Automatic"/>).
    /// </summary>
    public Optimizer Optimizer { get; set; } = EngineDefaults.Optimizer;

    /// <summary>Adam's mini-batch size; 0 for full batch.</summary>
    public int BatchSize { get; set; } = EngineDefaults.BatchSize;

    /// <summary>
    /// Adam's learning rate; 0 (the default) is Automatic: 0.001 when an epoch has at least 50 mini-batches, on fewer
    /// 0.05 / batches, up to 0.01 (<see cref="HopfColeTrainerOptions.LearningRate"/>). Runs that L-BFGS trains do not read it.
    /// </summary>
    public double LearningRate { get; set; } = EngineDefaults.LearningRate;

    /// <summary>Epochs; 0 keeps the Hopf–Cole construction on training rows untrained.</summary>
    public int MaximumEpochs { get; set; } = DefaultMaximumEpochs;

    /// <summary>The fraction of rows held out for early stopping (0 for none).</summary>
    public double ValidationFraction { get; set; } = EngineDefaults.ValidationFraction;

    /// <summary>
    /// Validations without improvement before stopping; 0 (the default) is Automatic: 5 when Adam trains a feature
    /// embedding, 10 otherwise (<see cref="HopfColeTrainerOptions.Patience"/>).
    /// </summary>
    public int Patience { get; set; } = EngineDefaults.Patience;

    /// <summary>The L2 penalty on the weights (ML.NET's spelling; the engine's option is <c>L2Regularisation</c>).</summary>
    public double L2Regularization { get; set; } = EngineDefaults.L2Regularisation;

    /// <summary>
    /// L, Euler steps of a residual Gibbs flow before the LSE heads (THEORY.md section 9: depth is time): each step moves
    /// the standardised features by h times an attention-shaped velocity, a Gibbs expectation over learned keys and
    /// values. 0 (the default) is the single Hopf–Cole layer. Models of any depth save through ONNX, with their
    /// GibbsAttribution and feature-contribution columns (input contributions integrated along the flow).
    /// </summary>
    public int Depth { get; set; } = EngineDefaults.Depth;

    /// <summary>
    /// m, the flow's state width: 0 (the default) keeps the d features; a width above d lifts them with a learned linear
    /// map first. Used only when <see cref="Depth"/> &gt; 0.
    /// </summary>
    public int FlowWidth { get; set; } = EngineDefaults.FlowWidth;

    /// <summary>J, support points (attention keys and values) per flow step. Used only when <see cref="Depth"/> &gt; 0.</summary>
    public int FlowSupportPoints { get; set; } = EngineDefaults.FlowSupportPoints;

    /// <summary>T, the flow's time horizon; each step is h = T / L. Used only when <see cref="Depth"/> &gt; 0.</summary>
    public double FlowHorizon { get; set; } = EngineDefaults.FlowHorizon;

    /// <summary>eps of the flow's Gibbs weights (the attention temperature, &gt; 0). Used only when <see cref="Depth"/> &gt; 0.</summary>
    public double FlowViscosity { get; set; } = EngineDefaults.FlowViscosity;

    /// <summary>
    /// Whether every flow step shares one set of keys, offsets and values (a time-independent velocity field) instead of
    /// its own. Used only when <see cref="Depth"/> &gt; 0.
    /// </summary>
    public bool SharedFlowControls { get; set; } = EngineDefaults.SharedFlowControls;

    /// <summary>
    /// S, read-outs trained from different seeded starts and pooled by log-sum-exp into one layer of S N support points
    /// per head (the model stays one Hopf–Cole layer; training and scoring take about S times as long). 1 is the single
    /// run; 0 (the default, Automatic) pools 3 for a classifier that mini-batch Adam trains on large data at depth 0
    /// without a feature embedding, and 1 otherwise; more than 1 needs depth 0 and a fixed or width-scaled eps.
    /// docs/accuracy-experiments.md has what it measured.
    /// </summary>
    public int EnsembleMembers { get; set; } = EngineDefaults.EnsembleMembers;

    /// <summary>
    /// How numeric features (more than two distinct training values) enter the model: a learned periodic embedding per
    /// feature (Gorishniy et al. 2022) that lets one feature's effect turn at thresholds, or the features themselves.
    /// Automatic embeds when a data set has 1 to 32 numeric features, at least as many training rows as the embedding has
    /// parameters (n (K + 2 K e + e)), and trains a single run with a validation split and without a lift; one-hot and
    /// binary columns pass through.
    /// Explanations, certificates, Save/Load and ONNX run through the embedding.
    /// </summary>
    public FeatureEmbedding FeatureEmbedding { get; set; } = EngineDefaults.FeatureEmbedding;

    /// <summary>K, learned frequencies per embedded feature.</summary>
    public int EmbeddingFrequencies { get; set; } = EngineDefaults.EmbeddingFrequencies;

    /// <summary>e, the width of each embedded feature's vector.</summary>
    public int EmbeddingWidth { get; set; } = EngineDefaults.EmbeddingWidth;

    /// <summary>sigma, the spread of the frequencies' start, in cycles per standard deviation of the feature.</summary>
    public double EmbeddingScale { get; set; } = EngineDefaults.EmbeddingScale;

    /// <summary>
    /// The seed of every random choice; the same seed and thread count give bit-identical models. Null (the default)
    /// uses the seed of the MLContext whose catalog made the trainer (<c>new MLContext(seed)</c>); with a context made
    /// without one (<c>new MLContext()</c>) each Fit draws a seed from the context's random source, so runs differ, as
    /// with ML.NET's own trainers. The seed used, and where it came from, is written to <c>MLContext.Log</c>.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Threads for the gradient; 0 for all cores.</summary>
    public int MaximumDegreeOfParallelism { get; set; }

    /// <summary>Receives one report per epoch while <c>Fit</c> runs; null for none.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Cancels <c>Fit</c> (an <see cref="OperationCanceledException"/>); ML.NET's Fit has no token of its own.</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>The engine options these describe with <paramref name="seed"/>, validated (the message names a bad option).</summary>
    internal virtual HopfColeTrainerOptions ToEngineOptions(ModelKind kind, int seed)
    {
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = NumberOfSupportPoints,
            Viscosity = Viscosity,
            ViscosityMode = ViscosityMode,
            FinalViscosity = FinalViscosity,
            Time = Time,
            Initialisation = Initialization,
            Optimizer = Optimizer,
            BatchSize = BatchSize,
            LearningRate = LearningRate,
            MaximumEpochs = MaximumEpochs,
            ValidationFraction = ValidationFraction,
            Patience = Patience,
            L2Regularisation = L2Regularization,
            Depth = Depth,
            FlowWidth = FlowWidth,
            FlowSupportPoints = FlowSupportPoints,
            FlowHorizon = FlowHorizon,
            FlowViscosity = FlowViscosity,
            SharedFlowControls = SharedFlowControls,
            EnsembleMembers = EnsembleMembers,
            FeatureEmbedding = FeatureEmbedding,
            EmbeddingFrequencies = EmbeddingFrequencies,
            EmbeddingWidth = EmbeddingWidth,
            EmbeddingScale = EmbeddingScale,
            Seed = seed,
            MaximumDegreeOfParallelism = MaximumDegreeOfParallelism,
        };
        options.Validate();
        return options;
    }
}
