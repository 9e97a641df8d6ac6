using HjMl.Models;

namespace HjMl.Training;

/// <summary>How the viscosity eps behaves during training.</summary>
public enum ViscosityMode
{
    /// <summary>eps stays at <see cref="HopfColeTrainerOptions.Viscosity"/>.</summary>
    Fixed,

    /// <summary>log eps is a trained parameter starting at <see cref="HopfColeTrainerOptions.Viscosity"/> (d f / d eps = H(pi)).</summary>
    Learned,

    /// <summary>eps falls geometrically from <see cref="HopfColeTrainerOptions.Viscosity"/> to <see cref="HopfColeTrainerOptions.FinalViscosity"/> over the epochs.</summary>
    Annealed,

    /// <summary>The paper's choice eps = N^(-1/d) for N support points per head in d dimensions (THEORY.md section 7), fixed.</summary>
    WidthScaling,
}

/// <summary>Where the support points start.</summary>
public enum SupportInitialisation
{
    /// <summary>
    /// On training rows chosen by k-means++ seeding (D^2 sampling) within each class (or over all rows for regression),
    /// with initial data from the labels: the Hopf–Cole reading w_j = y_j / (2t), b_j = -g_j - |y_j|^2 / (4t). A
    /// classifier starts as a nearest-prototype rule; a regressor with g = -/+ y/2 on its two heads starts interpolating the labels.
    /// </summary>
    KMeansPlusPlus,

    /// <summary>Like <see cref="KMeansPlusPlus"/> but on uniformly sampled rows.</summary>
    Sampled,

    /// <summary>Weights drawn from N(0, 1/d), biases 0; no provenance.</summary>
    Random,
}

/// <summary>The optimiser.</summary>
public enum Optimizer
{
    /// <summary>
    /// L-BFGS while an Adam run would take fewer than <see cref="HopfColeTrainer.AutomaticAdamSteps"/> steps
    /// (<see cref="HopfColeTrainerOptions.MaximumEpochs"/> x mini-batches an epoch; or <see cref="HopfColeTrainerOptions.BatchSize"/>
    /// is 0) and rows x parameters (times L + 1 with a flow) stays within <see cref="HopfColeTrainer.AutomaticLbfgsLimit"/>;
    /// mini-batch Adam otherwise. With enough steps Adam's noise and early stopping generalise better than L-BFGS's
    /// full-batch optimum (docs/accuracy-experiments.md: digits 0.9801 -> 0.9836 and breast_cancer 0.9730 -> 0.9753,
    /// means over five split seeds); with few, Adam does not get far (iris, 100 steps: 0.9518 -> 0.93; a 2-D circle of
    /// 270 rows, 300 steps: 0.96 -> 0.93).
    /// </summary>
    Automatic,

    /// <summary>Adam, mini-batch (<see cref="HopfColeTrainerOptions.BatchSize"/> &gt; 0) or full-batch (0).</summary>
    Adam,

    /// <summary>Limited-memory BFGS on the full batch with a backtracking (Armijo) line search.</summary>
    Lbfgs,
}

/// <summary>How Adam's learning rate moves over the epochs.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant.</summary>
    Constant,

    /// <summary>Cosine decay from the learning rate to a tenth of it.</summary>
    Cosine,
}

/// <summary>The regression loss on the residual r = prediction - label (in standardised label units).</summary>
public enum RegressionLoss
{
    /// <summary>r^2 / 2.</summary>
    Squared,

    /// <summary>Huber: r^2 / 2 within <see cref="HopfColeTrainerOptions.HuberDelta"/>, linear beyond.</summary>
    Huber,
}

/// <summary>How numeric features enter the model (<see cref="HopfColeTrainerOptions.FeatureEmbedding"/>).</summary>
public enum FeatureEmbedding
{
    /// <summary>
    /// Periodic when the data has between 1 and <see cref="HopfColeTrainerOptions.AutomaticEmbeddingLimit"/> numeric
    /// features and at least as many training rows as the embedding has parameters, for a single run with a validation
    /// split (early stopping) and without a lift; none otherwise.
    /// </summary>
    Automatic,

    /// <summary>The standardised features themselves (the single Hopf–Cole layer at depth 0).</summary>
    None,

    /// <summary>Each numeric feature (more than two distinct training values) becomes max(0, L [sin(2 pi c x), cos(2 pi c x)] + b).</summary>
    Periodic,
}

/// <summary>Hyper-parameters of <see cref="HopfColeTrainer"/>. Learned state lives in <see cref="HopfColeModel"/>.</summary>
public sealed record HopfColeTrainerOptions
{
    /// <summary>What to learn.</summary>
    public ModelKind Kind { get; init; } = ModelKind.BinaryClassification;

    /// <summary>N, support points (pieces) per LSE head: the width.</summary>
    public int NumberOfSupportPoints { get; init; } = 32;

    /// <summary>How eps behaves.</summary>
    public ViscosityMode ViscosityMode { get; init; } = ViscosityMode.Fixed;

    /// <summary>eps (the starting eps for Learned and Annealed). Must be &gt; 0.</summary>
    public double Viscosity { get; init; } = 0.5;

    /// <summary>The final eps of <see cref="ViscosityMode.Annealed"/>.</summary>
    public double FinalViscosity { get; init; } = 0.05;

    /// <summary>
    /// t of the Hopf–Cole reading (support points y_j = 2t w_j), or null for d/4, which makes the initial logit gap
    /// |x - y_j|^2 / (4t) the mean squared per-feature distance between standardised rows, whatever d is.
    /// </summary>
    public double? Time { get; init; }

    /// <summary>Where support points start.</summary>
    public SupportInitialisation Initialisation { get; init; } = SupportInitialisation.KMeansPlusPlus;

    /// <summary>The optimiser.</summary>
    public Optimizer Optimizer { get; init; } = Optimizer.Automatic;

    /// <summary>Adam's mini-batch size; 0 for full batch.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>
    /// Adam's learning rate; 0 (the default) is Automatic: <see cref="HopfColeTrainer.AutomaticLearningRate"/>, that is
    /// <see cref="AutomaticLearningRateFloor"/> (Adam's usual default) when an epoch has at least
    /// <see cref="AutomaticLearningRateReach"/> / <see cref="AutomaticLearningRateFloor"/> = 50 mini-batches, and on fewer
    /// batches raised in proportion, up to <see cref="AutomaticLearningRateCeiling"/>, so that an epoch's steps, each moving
    /// a parameter by about the learning rate, reach at least <see cref="AutomaticLearningRateReach"/> whatever the number
    /// of rows. adult (183 batches) and mnist-10000 (57) keep 0.001 (which beat 0.003 on adult with its embedding and tied
    /// on mnist-10000); digits (11 batches) trains at 0.0045, where 0.001 was still improving at its last epoch (0.9718
    /// against 0.9861; docs/accuracy-experiments.md). Runs that L-BFGS trains do not read it.
    /// <see cref="TrainingResult.LearningRate"/> says which ran.
    /// </summary>
    public double LearningRate { get; init; }

    /// <summary>The learning rate <see cref="LearningRate"/> = 0 gives from 50 mini-batches an epoch up (Adam's usual default).</summary>
    public const double AutomaticLearningRateFloor = 0.001;

    /// <summary>The largest learning rate <see cref="LearningRate"/> = 0 gives (5 mini-batches an epoch or fewer).</summary>
    public const double AutomaticLearningRateCeiling = 0.01;

    /// <summary>How far an epoch's Adam steps move a parameter at least under <see cref="LearningRate"/> = 0: learning rate x batches an epoch.</summary>
    public const double AutomaticLearningRateReach = 0.05;

    /// <summary>Adam's learning-rate schedule.</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>
    /// Epochs (passes over the training rows; one iteration each for full-batch Adam and L-BFGS). 0 skips optimisation:
    /// the model is the Hopf–Cole construction itself (support points on training rows, initial data from the labels).
    /// </summary>
    public int MaximumEpochs { get; init; } = 100;

    /// <summary>The fraction of rows held out for early stopping (0 for none).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>
    /// Stop after this many validations without improvement of the validation loss. 0 (the default, Automatic) is
    /// <see cref="AutomaticEmbeddedPatience"/> when mini-batch Adam trains a feature embedding (its validation loss
    /// flattens within a few epochs of its best: adult kept the same AUC in two thirds of the epochs,
    /// docs/accuracy-experiments.md) and <see cref="AutomaticPatience"/> otherwise (L-BFGS on small sets still finds
    /// better epochs well after a pause of five). <see cref="TrainingResult.Patience"/> says which ran.
    /// </summary>
    public int Patience { get; init; }

    /// <summary>The patience <see cref="Patience"/> = 0 gives every run but an embedded one trained by Adam.</summary>
    public const int AutomaticPatience = 10;

    /// <summary>The patience <see cref="Patience"/> = 0 gives a feature embedding trained by mini-batch Adam.</summary>
    public const int AutomaticEmbeddedPatience = 5;

    /// <summary>Validate every this many epochs.</summary>
    public int ValidationFrequency { get; init; } = 1;

    /// <summary>L2 penalty lambda/2 |W|^2 on the weights.</summary>
    public double L2Regularisation { get; init; } = 1e-4;

    /// <summary>The regression loss.</summary>
    public RegressionLoss RegressionLoss { get; init; } = RegressionLoss.Squared;

    /// <summary>The Huber threshold, in standardised label units.</summary>
    public double HuberDelta { get; init; } = 1.0;

    /// <summary>
    /// L, Euler steps of the residual Gibbs flow before the LSE read-out (THEORY.md section 9: depth is time). 0 is the
    /// single Hopf–Cole layer on the standardised features, exactly as without this option.
    /// </summary>
    public int Depth { get; init; }

    /// <summary>
    /// m, the flow's state width: 0 keeps the d standardised features (z_0 = x); a width above d lifts them with a learned
    /// linear map z_0 = P x + q. Used only when <see cref="Depth"/> &gt; 0.
    /// </summary>
    public int FlowWidth { get; init; }

    /// <summary>J, support points (attention keys and values) per flow step. Used only when <see cref="Depth"/> &gt; 0.</summary>
    public int FlowSupportPoints { get; init; } = 32;

    /// <summary>T, the flow's time horizon; each step is h = T / L. Used only when <see cref="Depth"/> &gt; 0.</summary>
    public double FlowHorizon { get; init; } = 1.0;

    /// <summary>eps of the flow's Gibbs weights (the attention temperature). Used only when <see cref="Depth"/> &gt; 0.</summary>
    public double FlowViscosity { get; init; } = 1.0;

    /// <summary>Whether every flow step shares one set of keys, offsets and values (a time-independent velocity field).</summary>
    public bool SharedFlowControls { get; init; }

    /// <summary>
    /// S, read-outs trained from different seeded starts on the same rows and pooled by log-sum-exp into one layer of S N
    /// support points per head (exact: each head scores eps log of the mean of exp(member score / eps)), so the model stays
    /// one Hopf–Cole layer with all its explanations and certificates; training and scoring take about S times as long.
    /// 1 is the single run. 0 (the default, Automatic) is <see cref="AutomaticEnsembleMembers"/> for a classifier that
    /// Adam trains (mini-batches, where members differ most) with depth 0, no feature embedding and a poolable eps, and 1
    /// otherwise (docs/accuracy-experiments.md: mnist-10000 0.9532 -> 0.9587; under Adam digits 0.9828 -> 0.9861 and
    /// breast_cancer 0.9718 -> 0.9735, higher on two other split seeds each; members trained by L-BFGS predict alike
    /// (digits) or lost (iris)). More than 1 needs depth 0 and a fixed or width-scaled eps
    /// (<see cref="HopfColeTrainer.CanPoolMembers"/>). A classifier's pooled head scores act as a soft vote of the members;
    /// a regressor's output f_0 - f_1 is then not the members' mean (docs/accuracy-experiments.md: it lowered R^2 on diabetes).
    /// The training result's history, best epoch and stop reason are the first member's; its validation loss and metric
    /// are the pooled model's. Under Adam the members train at the same time, each on a share of
    /// <see cref="MaximumDegreeOfParallelism"/>, and each is the model its seed alone would give.
    /// </summary>
    public int EnsembleMembers { get; init; }

    /// <summary>The members <see cref="EnsembleMembers"/> = 0 pools where it pools at all.</summary>
    public const int AutomaticEnsembleMembers = 3;

    /// <summary>
    /// How numeric features enter the flow or the read-out: a learned periodic embedding per numeric feature (Gorishniy et
    /// al. 2022, "PLR"), so that one feature's effect can turn at thresholds the linear pieces of a Hopf–Cole layer cannot
    /// place; binary and one-hot features pass through. Numeric: more than two distinct values among the training rows.
    /// Automatic embeds when there are 1 to <see cref="AutomaticEmbeddingLimit"/> numeric features (wide inputs such as
    /// images would multiply the read-out's width by <see cref="EmbeddingWidth"/>) and at least as many training rows as
    /// the embedding's n (K + 2 K e + e) parameters (fewer rows overfit it), and only for a single run with a validation
    /// split whose early stopping can catch an embedding fitting the rows. Attributions, certificates and ONNX
    /// export run through the embedding (docs/accuracy.md says what it measured).
    /// </summary>
    public FeatureEmbedding FeatureEmbedding { get; init; } = FeatureEmbedding.Automatic;

    /// <summary>K, learned frequencies per embedded feature.</summary>
    public int EmbeddingFrequencies { get; init; } = 32;

    /// <summary>e, the width of each embedded feature's vector.</summary>
    public int EmbeddingWidth { get; init; } = 16;

    /// <summary>sigma, the standard deviation of the frequencies' start (frequencies per standard deviation of the feature).</summary>
    public double EmbeddingScale { get; init; } = 4.0;

    /// <summary>The most numeric features <see cref="FeatureEmbedding.Automatic"/> embeds.</summary>
    public const int AutomaticEmbeddingLimit = 32;

    /// <summary>The seed of every random choice (initialisation, split, shuffling). Same seed and thread count give bit-identical models.</summary>
    public int Seed { get; init; }

    /// <summary>Threads for the gradient; 0 for all cores. Part of what makes a run reproducible.</summary>
    public int MaximumDegreeOfParallelism { get; init; }

    /// <summary>Validates every option; throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        Require(NumberOfSupportPoints >= 1, nameof(NumberOfSupportPoints), NumberOfSupportPoints, "must be at least 1");
        Require(Viscosity > 0 && double.IsFinite(Viscosity), nameof(Viscosity), Viscosity, "must be finite and > 0 for training (it is eps, the viscosity)");
        Require(ViscosityMode != ViscosityMode.Annealed || (FinalViscosity > 0 && double.IsFinite(FinalViscosity)), nameof(FinalViscosity), FinalViscosity, "must be finite and > 0");
        Require(Time is null || (Time > 0 && double.IsFinite(Time.Value)), nameof(Time), Time ?? 0, "must be finite and > 0 (or null for d/4)");
        Require(BatchSize >= 0, nameof(BatchSize), BatchSize, "must be >= 0 (0 is full batch)");
        Require(LearningRate >= 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be finite and >= 0 (0 is Automatic)");
        Require(MaximumEpochs >= 0, nameof(MaximumEpochs), MaximumEpochs, "must be >= 0 (0 keeps the Hopf–Cole construction)");
        Require(MaximumEpochs > 0 || Initialisation != SupportInitialisation.Random, nameof(MaximumEpochs), MaximumEpochs, "must be > 0 with random initialisation, which has nothing to keep untrained");
        Require(ValidationFraction >= 0 && ValidationFraction < 0.9, nameof(ValidationFraction), ValidationFraction, "must be in [0, 0.9)");
        Require(Patience >= 0, nameof(Patience), Patience, "must be at least 0 (0 is Automatic)");
        Require(ValidationFrequency >= 1, nameof(ValidationFrequency), ValidationFrequency, "must be at least 1");
        Require(L2Regularisation >= 0 && double.IsFinite(L2Regularisation), nameof(L2Regularisation), L2Regularisation, "must be finite and >= 0");
        Require(HuberDelta > 0 && double.IsFinite(HuberDelta), nameof(HuberDelta), HuberDelta, "must be finite and > 0");
        Require(Depth >= 0, nameof(Depth), Depth, "must be >= 0 (0 is the single Hopf–Cole layer)");
        Require(FlowWidth >= 0, nameof(FlowWidth), FlowWidth, "must be >= 0 (0 keeps the input width)");
        Require(FlowSupportPoints >= 1, nameof(FlowSupportPoints), FlowSupportPoints, "must be at least 1");
        Require(FlowHorizon > 0 && double.IsFinite(FlowHorizon), nameof(FlowHorizon), FlowHorizon, "must be finite and > 0");
        Require(FlowViscosity > 0 && double.IsFinite(FlowViscosity), nameof(FlowViscosity), FlowViscosity, "must be finite and > 0 (it is the flow's eps)");
        Require(EnsembleMembers >= 0, nameof(EnsembleMembers), EnsembleMembers, "must be at least 0 (0 is Automatic, 1 the single run)");
        Require(EnsembleMembers <= 1 || EnsemblePooling.Poolable(this), nameof(EnsembleMembers), EnsembleMembers, $"pools read-outs into one layer, which needs Depth 0 (now {Depth}; each member would carry its own flow) and ViscosityMode Fixed or WidthScaling (now {ViscosityMode})");
        Require(EmbeddingFrequencies >= 1, nameof(EmbeddingFrequencies), EmbeddingFrequencies, "must be at least 1");
        Require(EmbeddingWidth >= 1, nameof(EmbeddingWidth), EmbeddingWidth, "must be at least 1");
        Require(EmbeddingScale > 0 && double.IsFinite(EmbeddingScale), nameof(EmbeddingScale), EmbeddingScale, "must be finite and > 0");
        Require(FeatureEmbedding != FeatureEmbedding.Periodic || FlowWidth == 0, nameof(FlowWidth), FlowWidth, "must be 0 with FeatureEmbedding Periodic (the embedding sets the flow's width)");
        Require(FeatureEmbedding != FeatureEmbedding.Periodic || EnsembleMembers <= 1, nameof(EnsembleMembers), EnsembleMembers, "pools read-outs on one input, which FeatureEmbedding Periodic gives each member its own of; use FeatureEmbedding None (Automatic embeds only single runs)");
        Require(MaximumDegreeOfParallelism >= 0, nameof(MaximumDegreeOfParallelism), MaximumDegreeOfParallelism, "must be >= 0 (0 is all cores)");
    }

    private static void Require(bool condition, string option, object value, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"Option {option} is {value}; it {rule}.", option);
        }
    }
}
