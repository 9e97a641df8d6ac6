using System.Diagnostics;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Training.Optimizers;

namespace HjMl.Training;

/// <summary>What <see cref="HopfColeTrainer.Train"/> returns: the model and how training went.</summary>
/// <param name="Model">The trained model (the parameters of the best validation epoch when a validation split is used).</param>
/// <param name="History">One entry per epoch.</param>
/// <param name="BestEpoch">The epoch whose parameters the model holds.</param>
/// <param name="ValidationLoss">The best validation loss (NaN without a validation split).</param>
/// <param name="ValidationMetric">Accuracy or R^2 on the validation rows at the best epoch (NaN without a split).</param>
/// <param name="ValidationRows">The 0-based rows of the caller's data held out for validation (empty without a split).</param>
public sealed record TrainingResult(HopfColeModel Model, IReadOnlyList<TrainingProgress> History, int BestEpoch, double ValidationLoss, double ValidationMetric, IReadOnlyList<int> ValidationRows)
{
    /// <summary>
    /// Why training stopped early for a reason other than early stopping (a training loss that was no longer finite:
    /// which epoch, and which epoch the model keeps), or null.
    /// </summary>
    public string? StopReason { get; init; }

    /// <summary>
    /// The optimiser that ran, <see cref="Optimizer.Lbfgs"/> or <see cref="Optimizer.Adam"/> (what <see cref="Optimizer.Automatic"/>
    /// resolved to); <see cref="Optimizer.Automatic"/> on a result that did not record it.
    /// </summary>
    public Optimizer Optimizer { get; init; }

    /// <summary>The patience early stopping used (what <see cref="HopfColeTrainerOptions.Patience"/> = 0 resolved to); 0 on a result that did not record it.</summary>
    public int Patience { get; init; }

    /// <summary>
    /// Adam's learning rate (what <see cref="HopfColeTrainerOptions.LearningRate"/> = 0 resolved to); 0 when L-BFGS trained
    /// or on a result that did not record it.
    /// </summary>
    public double LearningRate { get; init; }
}

/// <summary>
/// Trains Hopf–Cole models: regression (a difference of two LSE heads, squared or Huber loss), binary classification
/// (margin of two LSE heads, logistic loss) and multiclass classification (one LSE head per class, softmax cross-entropy),
/// with Adam or L-BFGS, exact fused gradients, fixed / learned / annealed / width-scaled viscosity, Hopf–Cole
/// initialisation on training rows, feature standardisation stored in the model, and early stopping.
/// The same seed and thread count give bit-identical models.
/// </summary>
public sealed class HopfColeTrainer
{
    /// <summary>Creates a trainer; the options are validated here.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public HopfColeTrainer(HopfColeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The hyper-parameters.</summary>
    public HopfColeTrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="data"/> and returns the model (see <see cref="Train"/>).</summary>
    public HopfColeModel Fit(Dataset data, double[]? exampleWeights = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
        => Train(data, exampleWeights, progress, cancellation).Model;

    /// <summary>
    /// Trains on <paramref name="data"/>: validates it, splits off <see cref="HopfColeTrainerOptions.ValidationFraction"/>
    /// of the rows (seeded), standardises features on the training rows, places support points, and optimises.
    /// </summary>
    /// <exception cref="ArgumentException">The data cannot train this kind of model (too few rows, a single class, bad example
    /// weights), or the sizes would not fit in memory (<see cref="TrainingSize.Check"/>, naming the sizes).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> fired.</exception>
    public TrainingResult Train(Dataset data, double[]? exampleWeights = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        HopfColeTrainerOptions options = Options;
        ValidateWeights(data, exampleWeights);
        if (data.Rows < 2)
        {
            throw new ArgumentException($"The data set has {data.Rows} row; training needs at least 2.", nameof(data));
        }

        // Refuse sizes that cannot fit before anything large is allocated. Support points beyond the rows are allowed here
        // (placement repeats rows); the command line refuses them.
        TrainingSize.Check(data, options, checkRows: false);

        var stopwatch = Stopwatch.StartNew();
        var random = new Random(options.Seed);
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);

        (int[] trainingOrder, int[] validationOrder) = Split(data, options);
        Dataset training = data.Subset(trainingOrder);
        FeatureScaling scaling = FeatureScaling.Fit(training);
        TrainingBlock train = TrainingBlock.Create(training, labels, scaling, exampleWeights, trainingOrder);
        TrainingBlock? validation = validationOrder.Length > 0 ? TrainingBlock.Create(data.Subset(validationOrder), labels, scaling, exampleWeights, validationOrder) : null;

        int d = data.Columns;
        int heads = options.Kind == ModelKind.MulticlassClassification ? labels.Classes.Length : 2;
        int pieces = options.NumberOfSupportPoints;
        int threads = options.MaximumDegreeOfParallelism == 0 ? Environment.ProcessorCount : options.MaximumDegreeOfParallelism;
        EmbeddingShape? embedding = FlowSetup.Embedding(options, train);
        bool lbfgs = ChoosesLbfgs(options, train.Rows, d, heads, embedding);
        // Automatic patience: shorter for an embedding under Adam (HopfColeTrainerOptions.Patience); Automatic learning
        // rate from the batches an epoch (HopfColeTrainerOptions.LearningRate).
        options = options with
        {
            Patience = options.Patience != 0 ? options.Patience
                : embedding is not null && !lbfgs ? HopfColeTrainerOptions.AutomaticEmbeddedPatience
                : HopfColeTrainerOptions.AutomaticPatience,
            LearningRate = options.LearningRate != 0 ? options.LearningRate : AutomaticLearningRate(train.Rows, options.BatchSize),
        };
        int rowsAtOnce = Math.Max(lbfgs || options.BatchSize == 0 ? train.Rows : Math.Min(options.BatchSize, train.Rows), validation?.Rows ?? 0);
        FlowSetup? flow = options.Depth > 0 || embedding is not null ? FlowSetup.Create(options, d, train, rowsAtOnce, random, embedding) : null;
        int readoutDimension = flow?.Shape.Width ?? d;
        // Automatic pools members for classifiers that Adam trains on the plain layer (HopfColeTrainerOptions.EnsembleMembers).
        int members = options.EnsembleMembers != 0 ? options.EnsembleMembers
            : !lbfgs && flow is null && options.Kind != ModelKind.Regression && EnsemblePooling.Poolable(options) ? HopfColeTrainerOptions.AutomaticEnsembleMembers
            : 1;
        // Members of a plain layer under Adam train at once, each on its share of the threads: one member's mini-batches
        // are too small to keep the cores busy (digits: three members one after another took 1.2 s on two threads and
        // 1.3 s on one; at once, a fold's fit fell from 0.97 s to 0.75 s and mnist-10000's from 15 s to 10 s, with the
        // same models), and on the float32 path a member's result depends on its seed alone, not on its thread count or
        // what runs beside it (L-BFGS's double path splits rows by the thread count, so its members train in turn).
        bool concurrent = members > 1 && flow is null && !lbfgs && threads > 1;
        int memberThreads = concurrent ? Math.Max(1, threads / members) : threads;
        TrainingObjective objective = CreateObjective(options, flow, train, readoutDimension, heads, pieces, memberThreads, lbfgs);
        // Further members start first when they train at once, so that member 0 (which reports progress) runs beside them.
        Task<Member>[] others = concurrent
            ? Enumerable.Range(1, members - 1)
                .Select(member => Task.Factory.StartNew(
                    () => TrainMember(options, CreateObjective(options, null, train, readoutDimension, heads, pieces, memberThreads, lbfgs), null, train, validation, heads, pieces, readoutDimension, MemberRandom(options, member), lbfgs, stopwatch, null, cancellation),
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default))
                .ToArray()
            : [];
        Member first;
        try
        {
            first = TrainMember(options, objective, flow, train, validation, heads, pieces, readoutDimension, random, lbfgs, stopwatch, progress, cancellation);
        }
        catch
        {
            // The others see the same cancellation; wait for them so that none outlives the call.
            try
            {
                Task.WaitAll(others);
            }
            catch (AggregateException)
            {
            }

            throw;
        }

        var pooled = new List<Member> { first };
        pooled.AddRange(Task.WhenAll(others).GetAwaiter().GetResult());
        for (int member = pooled.Count; member < members; member++)
        {
            pooled.Add(TrainMember(options, objective, null, train, validation, heads, pieces, readoutDimension, MemberRandom(options, member), lbfgs, stopwatch, null, cancellation));
        }

        double[] best = first.Parameters;
        int[] supportRows = first.SupportRows;
        double validationLoss = first.Run.BestValidationLoss, validationMetric = first.Run.BestValidationMetric;
        if (members > 1)
        {
            // Further members differ only in their seeded choices (support rows, batch order); the split and scaling are shared.
            (best, supportRows) = EnsemblePooling.Pool(pooled.Select(m => (m.Parameters, m.SupportRows)).ToArray(), heads, pieces, readoutDimension, first.Run.BestViscosity);
            var pooledReadout = new Objective(options.Kind, readoutDimension, heads, members * pieces, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, false);
            objective = new TrainingObjective(pooledReadout, train, options.Kind, heads, false);
            if (validation is not null)
            {
                validationLoss = objective.Loss(best, first.Run.BestViscosity, validation);
                validationMetric = TrainingRun.Metric(objective, options.Kind, best, validation, first.Run.BestViscosity);
            }
        }

        TrainingRun run = first.Run;
        LseLayer<double> layer = objective.Layer(best, run.BestViscosity);
        GibbsFlow? trained = objective.Flow(best);
        var model = new HopfColeModel(options.Kind, layer, scaling, data.FeatureNames, labels.Classes, labels.Mean, labels.Scale, supportRows, TimeFor(options, readoutDimension), flow: trained);
        model = model.WithCoverageRadius(CoverageCalibration.Radius(model, train, trained, threads));
        return new TrainingResult(model, run.History, run.BestEpoch, validationLoss, validationMetric, validationOrder) { StopReason = run.StopReason, Optimizer = lbfgs ? Optimizer.Lbfgs : Optimizer.Adam, Patience = options.Patience, LearningRate = lbfgs ? 0 : options.LearningRate };
    }

    /// <summary>
    /// The optimiser <see cref="Train"/> runs for <paramref name="options"/> on <paramref name="data"/>:
    /// <see cref="Optimizer.Automatic"/> resolved as Train resolves it (from the training rows after the validation
    /// split, the parameters and the steps <see cref="HopfColeTrainerOptions.MaximumEpochs"/> epochs take), else the
    /// option. A search that trains candidates for fewer epochs pins this, so that its short runs take the optimiser the
    /// full run will.
    /// </summary>
    /// <exception cref="ArgumentException">The data cannot train this kind of model (as <see cref="Train"/> says).</exception>
    public static Optimizer ResolvedOptimizer(HopfColeTrainerOptions options, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        if (options.Optimizer != Optimizer.Automatic)
        {
            return options.Optimizer;
        }

        // The split, scaling and block Train makes, for the training rows' count and the embedding's decision.
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);
        int[] trainingOrder = Split(data, options).Training;
        Dataset training = data.Subset(trainingOrder);
        TrainingBlock train = TrainingBlock.Create(training, labels, FeatureScaling.Fit(training), null, trainingOrder);
        int heads = options.Kind == ModelKind.MulticlassClassification ? labels.Classes.Length : 2;
        return ChoosesLbfgs(options, train.Rows, data.Columns, heads, FlowSetup.Embedding(options, train)) ? Optimizer.Lbfgs : Optimizer.Adam;
    }

    // The split: a seeded shuffle, its first ValidationFraction of the rows held out (none if fewer than 2 would train).
    private static (int[] Training, int[] Validation) Split(Dataset data, HopfColeTrainerOptions options)
    {
        int[] order = data.ShuffledRows(options.Seed);
        int validationRows = (int)Math.Floor(options.ValidationFraction * data.Rows);
        if (data.Rows - validationRows < 2)
        {
            validationRows = 0;
        }

        return (order[validationRows..], order[..validationRows]);
    }

    // Automatic: full-batch L-BFGS while rows x parameters x (L + 1) stays small (a flow's pass costs about L + 1
    // read-out passes, and every line-search trial pays one) and Adam would take few steps, mini-batch Adam otherwise.
    private static bool ChoosesLbfgs(HopfColeTrainerOptions options, int trainingRows, int dimension, int heads, EmbeddingShape? embedding)
        => options.Optimizer == Optimizer.Lbfgs
            || (options.Optimizer == Optimizer.Automatic && (long)trainingRows * ParameterEstimate(options, dimension, heads, embedding) * (options.Depth + 1) <= AutomaticLbfgsLimit
                && (options.BatchSize == 0 || (long)options.MaximumEpochs * BatchesPerEpoch(trainingRows, options.BatchSize) < AutomaticAdamSteps));

    /// <summary>
    /// Whether read-outs trained with <paramref name="options"/> pool exactly into one layer (<see cref="HopfColeTrainerOptions.EnsembleMembers"/>
    /// &gt; 1): depth 0 (each member of a flow would carry its own flow) and a fixed or width-scaled eps (a learned or
    /// annealed eps differs between members).
    /// </summary>
    public static bool CanPoolMembers(HopfColeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return EnsemblePooling.Poolable(options);
    }

    // The objective one run optimises, on threads threads: the read-out (fused float32 under Adam on the plain layer) and
    // the flow's objective before it, if any.
    private static TrainingObjective CreateObjective(HopfColeTrainerOptions options, FlowSetup? flow, TrainingBlock train, int readoutDimension, int heads, int pieces, int threads, bool lbfgs)
    {
        bool learnViscosity = options.ViscosityMode == ViscosityMode.Learned;
        var readout = new Objective(options.Kind, readoutDimension, heads, pieces, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, learnViscosity)
        {
            // Issue 20: Adam trains the single layer on the fused float32 path; L-BFGS's line search and flows keep double.
            SinglePrecision = !lbfgs && flow is null,
        };
        // An embedding alone before the read-out (depth 0) trains on FlowObjective's fused path: its gradients in float32
        // under Adam as the plain layer's are (the same AUC on adult within the folds' spread, 16% less time a fold;
        // docs/accuracy-experiments.md), in double under L-BFGS, whose line search compares losses to rounding.
        FlowObjective? flowObjective = flow is null ? null : new FlowObjective(readout, flow.Shape, options.FlowHorizon, options.FlowViscosity, threads, options.L2Regularisation)
        {
            Fused = new ReadoutLoss(options.Kind, heads, pieces, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, learnViscosity, SinglePrecision: !lbfgs),
        };
        return new TrainingObjective(readout, train, options.Kind, heads, learnViscosity, flowObjective);
    }

    // A further member's seeded choices: a fixed function of the run's seed (HashCode.Combine would differ between processes).
    private static Random MemberRandom(HopfColeTrainerOptions options, int member) => new(unchecked((options.Seed * 1_000_003) + member));

    // One optimisation from a fresh start: support placement, then L-BFGS or Adam under a TrainingRun.
    private static Member TrainMember(HopfColeTrainerOptions options, TrainingObjective objective, FlowSetup? flow, TrainingBlock train, TrainingBlock? validation, int heads, int pieces, int readoutDimension, Random random, bool lbfgs, Stopwatch stopwatch, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
    {
        var parameters = new double[objective.ParameterCount];
        int readoutLength = heads * pieces * (readoutDimension + 1);

        // The read-out's support points start on the rows as the flow first carries them (z_0: with zero values the
        // initial flow moves nothing), so depth starts from the single layer's Hopf–Cole construction on z_0.
        int[] supportRows = SupportInitialiser.Place(options, flow?.Start ?? train, heads, pieces, parameters, random);
        flow?.Parameters.CopyTo(parameters.AsSpan(readoutLength));
        if (options.ViscosityMode == ViscosityMode.Learned)
        {
            parameters[^1] = Math.Log(options.Viscosity);
        }

        var run = new TrainingRun(options, objective, validation, parameters, readoutDimension, stopwatch, progress) { FusedValidation = EmbeddedValidation.For(options, heads, flow?.Shape) };
        if (options.MaximumEpochs == 0)
        {
            run.KeepConstruction();
        }
        else if (lbfgs)
        {
            Lbfgs.Minimize(objective, run, parameters, options.MaximumEpochs, cancellation);
        }
        else
        {
            var settings = new AdamSettings(options.MaximumEpochs, options.BatchSize, options.LearningRate, options.LearningRateSchedule == LearningRateSchedule.Cosine);
            Adam.Minimize(objective, run, parameters, settings, random, cancellation);
        }

        return new Member(run.BestParameters ?? parameters, supportRows, run);
    }

    private sealed record Member(double[] Parameters, int[] SupportRows, TrainingRun Run);

    /// <summary>
    /// <see cref="Optimizer.Automatic"/> picks full-batch L-BFGS while rows x parameters stays under this (about a
    /// second per iteration on two cores), and mini-batch Adam beyond, where one pass of many small steps learns faster.
    /// </summary>
    public const long AutomaticLbfgsLimit = 50_000_000;

    /// <summary>
    /// <see cref="Optimizer.Automatic"/> picks mini-batch Adam, even on data small enough for L-BFGS, once a run of
    /// <see cref="HopfColeTrainerOptions.MaximumEpochs"/> epochs of <see cref="HopfColeTrainerOptions.BatchSize"/> rows takes
    /// at least this many steps: then Adam's noisy steps and early stopping generalise better than L-BFGS's full-batch
    /// optimum, and with fewer they do not get far (docs/accuracy-experiments.md: 1,100 steps on digits and 400 on
    /// breast_cancer gained; 100 on iris and 300 on the plug-in sample's circle lost). At the default 100 epochs: from 4
    /// mini-batches of rows.
    /// </summary>
    public const int AutomaticAdamSteps = 400;

    /// <summary>
    /// The learning rate <see cref="HopfColeTrainerOptions.LearningRate"/> = 0 gives Adam on <paramref name="trainingRows"/>
    /// rows in mini-batches of <paramref name="batchSize"/> (0: one full batch): reach / B for B batches an epoch, within
    /// [<see cref="HopfColeTrainerOptions.AutomaticLearningRateFloor"/>, <see cref="HopfColeTrainerOptions.AutomaticLearningRateCeiling"/>],
    /// with reach <see cref="HopfColeTrainerOptions.AutomaticLearningRateReach"/>: Adam moves a parameter by about the
    /// learning rate a step, so an epoch's B steps reach at least that far however few rows there are.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or there are no rows.</exception>
    public static double AutomaticLearningRate(int trainingRows, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trainingRows);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        return Math.Clamp(HopfColeTrainerOptions.AutomaticLearningRateReach / BatchesPerEpoch(trainingRows, batchSize), HopfColeTrainerOptions.AutomaticLearningRateFloor, HopfColeTrainerOptions.AutomaticLearningRateCeiling);
    }

    // Adam's steps an epoch: the mini-batches, the last one partial (0 is one full batch).
    private static int BatchesPerEpoch(int trainingRows, int batchSize) => batchSize == 0 ? 1 : (int)(((long)trainingRows + batchSize - 1) / batchSize);

    // The parameter count (read-out W and b on the flow's width, the flow's controls, log eps), which Automatic weighs
    // against the rows; a flow's pass also costs about L + 1 read-out passes, which the caller multiplies in.
    private static long ParameterEstimate(HopfColeTrainerOptions options, int dimension, int heads, EmbeddingShape? embedding)
    {
        FlowShape? shape = options.Depth > 0 || embedding is not null ? FlowSetup.ShapeFor(options, dimension, embedding) : null;
        int width = shape?.Width ?? dimension;
        long flow = shape?.ParameterCount ?? 0;
        return ((long)heads * options.NumberOfSupportPoints * (width + 1)) + flow + (options.ViscosityMode == ViscosityMode.Learned ? 1 : 0);
    }

    /// <summary>The t a run uses: the option, or d/4.</summary>
    public static double TimeFor(HopfColeTrainerOptions options, int dimension)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Time ?? (dimension / 4.0);
    }

    /// <summary>eps = N^(-1/d), the paper's width-scaled viscosity (THEORY.md section 7).</summary>
    public static double WidthScaledViscosity(int supportPoints, int dimension) => Math.Pow(supportPoints, -1.0 / dimension);

    private static void ValidateWeights(Dataset data, double[]? weights)
    {
        if (weights is null)
        {
            return;
        }

        if (weights.Length != data.Rows)
        {
            throw new ArgumentException($"exampleWeights has {weights.Length} entries but the data has {data.Rows} rows.", "exampleWeights");
        }

        for (int i = 0; i < weights.Length; i++)
        {
            if (!double.IsFinite(weights[i]) || weights[i] < 0)
            {
                throw new ArgumentException($"exampleWeights[{i}] (row {i + 1}) is {weights[i]}; example weights must be finite and >= 0.", "exampleWeights");
            }
        }

        if (!(weights.Sum() > 0))
        {
            throw new ArgumentException("exampleWeights are all zero; at least one row must carry weight.", "exampleWeights");
        }
    }
}
