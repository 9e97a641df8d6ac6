using System.Diagnostics;
using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>What <see cref="HopfColeTrainer.Train"/> returns: the model and how training went.</summary>
/// <param name="Model">The trained model (the parameters of the best validation epoch when a validation split is used).</param>
/// <param name="History">One entry per epoch.</param>
/// <param name="BestEpoch">The epoch whose parameters the model holds.</param>
/// <param name="ValidationLoss">The best validation loss (NaN without a validation split).</param>
/// <param name="ValidationMetric">Accuracy or R^2 on the validation rows at the best epoch (NaN without a split).</param>
/// <param name="ValidationRows">The 0-based rows of the caller's data held out for validation (empty without a split).</param>
public sealed record TrainingResult(HopfColeModel Model, IReadOnlyList<TrainingProgress> History, int BestEpoch, double ValidationLoss, double ValidationMetric, IReadOnlyList<int> ValidationRows);

/// <summary>
/// Trains Hopf–Cole models: regression (a difference of two LSE heads, squared or Huber loss), binary classification
/// (margin of two LSE heads, logistic loss) and multiclass classification (one LSE head per class, softmax cross-entropy),
/// with Adam or L-BFGS, exact fused gradients, fixed / learned / annealed / width-scaled viscosity, Hopf–Cole
/// initialisation on training rows, feature standardisation stored in the model, and early stopping.
/// The same seed and thread count give bit-identical models.
/// </summary>
public sealed class HopfColeTrainer
{
    private const double MinimumLogViscosity = -13.8; // eps >= 1e-6 while learned
    private const double MaximumLogViscosity = 13.8;  // eps <= 1e6

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
    /// <exception cref="ArgumentException">The data cannot train this kind of model (too few rows, a single class, bad example weights).</exception>
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

        var stopwatch = Stopwatch.StartNew();
        var random = new Random(options.Seed);
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);

        // Split: a seeded shuffle, the first rows held out.
        int[] order = data.ShuffledRows(options.Seed);
        int validationRows = (int)Math.Floor(options.ValidationFraction * data.Rows);
        if (data.Rows - validationRows < 2)
        {
            validationRows = 0;
        }

        int[] trainingOrder = order[validationRows..];
        int[] validationOrder = order[..validationRows];
        Dataset training = data.Subset(trainingOrder);
        FeatureScaling scaling = FeatureScaling.Fit(training);
        Block train = Block.Create(training, labels, scaling, exampleWeights, trainingOrder);
        Block? validation = validationRows > 0 ? Block.Create(data.Subset(validationOrder), labels, scaling, exampleWeights, validationOrder) : null;

        int d = data.Columns;
        int heads = options.Kind == ModelKind.MulticlassClassification ? labels.Classes.Length : 2;
        int pieces = options.NumberOfSupportPoints;
        int threads = options.MaximumDegreeOfParallelism == 0 ? Environment.ProcessorCount : options.MaximumDegreeOfParallelism;
        bool learnViscosity = options.ViscosityMode == ViscosityMode.Learned;
        var objective = new Objective(options.Kind, d, heads, pieces, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, learnViscosity);
        var parameters = new double[objective.ParameterCount(learnViscosity)];
        int[] supportRows = Initialise(options, train, heads, pieces, parameters, random);
        if (learnViscosity)
        {
            parameters[^1] = Math.Log(options.Viscosity);
        }

        var run = new Run(options, objective, train, validation, parameters, learnViscosity, random, stopwatch, progress, cancellation);
        bool lbfgs = options.Optimizer == Optimizer.Lbfgs
            || (options.Optimizer == Optimizer.Automatic && (long)train.Rows * parameters.Length <= AutomaticLbfgsLimit);
        if (options.MaximumEpochs == 0)
        {
            run.KeepConstruction();
        }
        else if (lbfgs)
        {
            run.Lbfgs();
        }
        else
        {
            run.Adam();
        }

        double[] best = run.BestParameters ?? parameters;
        double viscosity = run.BestViscosity;
        var layer = new LseLayer<double>(best.AsSpan(0, objective.WeightCount), best.AsSpan(objective.WeightCount, objective.AllPieces), d, viscosity, heads);
        var model = new HopfColeModel(options.Kind, layer, scaling, data.FeatureNames, labels.Classes, labels.Mean, labels.Scale, supportRows, TimeFor(options, d));
        model = model.WithCoverageRadius(CoverageRadius(model, train));
        return new TrainingResult(model, run.History, run.BestEpoch, run.BestValidationLoss, run.BestValidationMetric, validationOrder);
    }

    /// <summary>
    /// <see cref="Optimizer.Automatic"/> picks full-batch L-BFGS while rows x parameters stays under this (about a
    /// second per iteration on two cores), and mini-batch Adam beyond, where one pass of many small steps learns faster.
    /// </summary>
    public const long AutomaticLbfgsLimit = 50_000_000;

    /// <summary>The t a run uses: the option, or d/4.</summary>
    public static double TimeFor(HopfColeTrainerOptions options, int dimension)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Time ?? (dimension / 4.0);
    }

    /// <summary>eps = N^(-1/d), the paper's width-scaled viscosity (THEORY.md section 7).</summary>
    public static double WidthScaledViscosity(int supportPoints, int dimension) => Math.Pow(supportPoints, -1.0 / dimension);

    // The 99th percentile of the training rows' distances to their nearest support point (HopfColeModel.CoverageRadius).
    private static double CoverageRadius(HopfColeModel model, Block train)
    {
        double[] weightSquaredNorms = SupportGeometry.WeightSquaredNorms(model.Layer);
        int d = train.Dimension;
        var logits = new double[model.Layer.Biases.Length];
        var distances = new double[train.Rows];
        for (int row = 0; row < train.Rows; row++)
        {
            ReadOnlySpan<double> z = train.Inputs.AsSpan(row * (d + 1), d);
            model.Layer.Logits(z, logits);
            distances[row] = SupportGeometry.NearestSupport(model.Layer, model.Time, z, logits, weightSquaredNorms).Distance;
        }

        Array.Sort(distances);
        return distances[Math.Min(distances.Length - 1, (int)Math.Ceiling(0.99 * distances.Length) - 1)];
    }

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

    // Places support points (THEORY.md section 1 read backwards): w_j = y_j / (2t), b_j = -g_j - |y_j|^2 / (4t).
    private static int[] Initialise(HopfColeTrainerOptions options, Block train, int heads, int pieces, double[] parameters, Random random)
    {
        int d = train.Dimension;
        int all = heads * pieces;
        var supportRows = new int[all];
        Array.Fill(supportRows, -1);
        if (options.Initialisation == SupportInitialisation.Random)
        {
            double scale = 1 / Math.Sqrt(d);
            for (int i = 0; i < all * d; i++)
            {
                parameters[i] = scale * Gaussian(random);
            }

            return supportRows;
        }

        bool kMeans = options.Initialisation == SupportInitialisation.KMeansPlusPlus;
        double time = TimeFor(options, d);
        for (int head = 0; head < heads; head++)
        {
            int[] chosen;
            if (options.Kind == ModelKind.Regression)
            {
                // Both heads share support points; their initial data g = -y/2 and +y/2 make f_0 - f_1 = u_1 - u_0 ~ y near each point.
                chosen = head == 0 ? SupportInitialiser.Choose(train.Inputs, d, d + 1, Enumerable.Range(0, train.Rows).ToArray(), pieces, kMeans, random) : supportRows[..pieces].Select(train.LocalIndexOf).ToArray();
            }
            else
            {
                // Binary: head 0 holds the positive class (target 1), head 1 the negative; multiclass: head c holds class c.
                double target = options.Kind == ModelKind.BinaryClassification ? 1 - head : head;
                int[] candidates = Enumerable.Range(0, train.Rows).Where(i => train.Targets[i] == target).ToArray();
                chosen = SupportInitialiser.Choose(train.Inputs, d, d + 1, candidates, pieces, kMeans, random);
            }

            for (int j = 0; j < pieces; j++)
            {
                int row = chosen[j];
                int piece = (head * pieces) + j;
                ReadOnlySpan<double> y = train.Inputs.AsSpan(row * (d + 1), d);
                double initialData = options.Kind == ModelKind.Regression ? (head == 0 ? -0.5 : 0.5) * train.Targets[row] : 0;
                TensorPrimitives.Divide(y, 2 * time, parameters.AsSpan(piece * d, d));
                parameters[(all * d) + piece] = -initialData - (TensorPrimitives.Dot(y, y) / (4 * time));
                supportRows[piece] = train.SourceRows[row];
            }
        }

        return supportRows;
    }

    private static double Gaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>
    /// Standardised rows, each followed by a constant 1 (the objective's bias column), with their targets and weights,
    /// and where each came from in the caller's data.
    /// </summary>
    private sealed class Block
    {
        private Dictionary<int, int>? localIndex;

        public required double[] Inputs { get; init; }

        public required double[] Targets { get; init; }

        public required double[]? Weights { get; init; }

        public required int[] SourceRows { get; init; }

        public required int Dimension { get; init; }

        public int Rows => Targets.Length;

        public static Block Create(Dataset data, LabelEncoding labels, FeatureScaling scaling, double[]? weights, int[] sourceRows)
        {
            int d = data.Columns;
            var inputs = new double[data.Rows * (d + 1)];
            var targets = new double[data.Rows];
            for (int row = 0; row < data.Rows; row++)
            {
                Span<double> augmented = inputs.AsSpan(row * (d + 1), d + 1);
                scaling.Apply(data.Row(row), augmented);
                augmented[d] = 1.0;
                targets[row] = labels.Encode(data.Labels[row]);
            }

            return new Block
            {
                Inputs = inputs,
                Targets = targets,
                Weights = weights is null ? null : sourceRows.Select(i => weights[i]).ToArray(),
                SourceRows = sourceRows,
                Dimension = d,
            };
        }

        public int LocalIndexOf(int sourceRow)
        {
            localIndex ??= SourceRows.Select((source, local) => (source, local)).ToDictionary(pair => pair.source, pair => pair.local);
            return localIndex[sourceRow];
        }
    }

    /// <summary>Maps labels to targets: standardised values (regression), 0/1 (binary), class indices (multiclass).</summary>
    private sealed class LabelEncoding
    {
        public double[] Classes { get; private init; } = [];

        public double Mean { get; private init; }

        public double Scale { get; private init; } = 1;

        public ModelKind Kind { get; private init; }

        public static LabelEncoding Fit(Dataset data, ModelKind kind)
        {
            ReadOnlySpan<double> labels = data.Labels;
            if (kind == ModelKind.Regression)
            {
                double mean = TensorPrimitives.Sum(labels) / labels.Length;
                double variance = 0;
                foreach (double label in labels)
                {
                    variance += (label - mean) * (label - mean);
                }

                double scale = Math.Sqrt(variance / Math.Max(1, labels.Length - 1));
                return new LabelEncoding { Kind = kind, Mean = mean, Scale = scale > 0 ? scale : 1 };
            }

            double[] classes = labels.ToArray().Distinct().Order().ToArray();
            if (classes.Length < 2)
            {
                throw new ArgumentException($"The label column '{data.LabelName}' holds a single class ({classes[0]}) in all {labels.Length} rows; classification needs at least two.", nameof(data));
            }

            if (kind == ModelKind.BinaryClassification && classes.Length != 2)
            {
                throw new ArgumentException($"The label column '{data.LabelName}' holds {classes.Length} classes ({string.Join(", ", classes.Take(10))}); binary classification needs exactly two (use multiclass).", nameof(data));
            }

            if (classes.Length > 1000)
            {
                throw new ArgumentException($"The label column '{data.LabelName}' holds {classes.Length} distinct values; that looks like a regression target, not classes.", nameof(data));
            }

            return new LabelEncoding { Kind = kind, Classes = classes };
        }

        public double Encode(double label) => Kind == ModelKind.Regression ? (label - Mean) / Scale : Array.BinarySearch(Classes, label);
    }

    /// <summary>One optimisation run: the optimiser loops, validation, early stopping and progress.</summary>
    private sealed class Run(
        HopfColeTrainerOptions options,
        Objective objective,
        Block train,
        Block? validation,
        double[] parameters,
        bool learnViscosity,
        Random random,
        Stopwatch stopwatch,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellation)
    {
        private int sinceImprovement;

        public List<TrainingProgress> History { get; } = [];

        public double[]? BestParameters { get; private set; }

        public double BestViscosity { get; private set; } = double.NaN;

        public int BestEpoch { get; private set; }

        public double BestValidationLoss { get; private set; } = double.NaN;

        public double BestValidationMetric { get; private set; } = double.NaN;

        public void KeepConstruction()
        {
            BestViscosity = ViscosityAt(1);
            BestEpoch = 0;
        }

        public void Adam()
        {
            const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
            int n = parameters.Length;
            var gradient = new double[n];
            var firstMoment = new double[n];
            var secondMoment = new double[n];
            var scratch = new double[n];
            int batch = options.BatchSize == 0 || options.BatchSize >= train.Rows ? train.Rows : options.BatchSize;
            int[] rows = Enumerable.Range(0, train.Rows).ToArray();
            double[] batchInputs = new double[batch * (train.Dimension + 1)];
            double[] batchTargets = new double[batch];
            double[]? batchWeights = train.Weights is null ? null : new double[batch];
            long step = 0;
            for (int epoch = 1; epoch <= options.MaximumEpochs; epoch++)
            {
                double rate = options.LearningRateSchedule == LearningRateSchedule.Cosine
                    ? options.LearningRate * (0.1 + (0.45 * (1 + Math.Cos(Math.PI * (epoch - 1) / Math.Max(1, options.MaximumEpochs - 1)))))
                    : options.LearningRate;
                double viscosity = ViscosityAt(epoch);
                double lossSum = 0;
                int batches = 0;
                if (batch < train.Rows)
                {
                    random.Shuffle(rows);
                }

                for (int first = 0; first < train.Rows; first += batch)
                {
                    cancellation.ThrowIfCancellationRequested();
                    int count = Math.Min(batch, train.Rows - first);
                    double loss;
                    if (count == train.Rows)
                    {
                        loss = Evaluate(viscosity, train.Inputs, train.Targets, train.Weights, count, gradient);
                    }
                    else
                    {
                        Gather(rows.AsSpan(first, count), batchInputs, batchTargets, batchWeights);
                        loss = Evaluate(viscosity, batchInputs, batchTargets, batchWeights, count, gradient);
                    }

                    step++;
                    // m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; theta -= rate * m_hat / (sqrt(v_hat) + epsilon).
                    TensorPrimitives.Multiply(firstMoment, beta1, firstMoment);
                    TensorPrimitives.MultiplyAdd(gradient, 1 - beta1, firstMoment, firstMoment);
                    TensorPrimitives.Multiply(gradient, gradient, scratch);
                    TensorPrimitives.Multiply(secondMoment, beta2, secondMoment);
                    TensorPrimitives.MultiplyAdd(scratch, 1 - beta2, secondMoment, secondMoment);
                    double correction1 = 1 - Math.Pow(beta1, step);
                    double correction2 = 1 - Math.Pow(beta2, step);
                    TensorPrimitives.Divide(secondMoment, correction2, scratch);
                    TensorPrimitives.Sqrt(scratch, scratch);
                    TensorPrimitives.Add(scratch, epsilon, scratch);
                    TensorPrimitives.Divide(firstMoment, scratch, scratch);
                    TensorPrimitives.MultiplyAdd(scratch, -rate / correction1, parameters, parameters);
                    ClampViscosity();
                    lossSum += loss * count;
                    batches += count;
                }

                if (EndEpoch(epoch, lossSum / batches))
                {
                    break;
                }
            }
        }

        public void Lbfgs()
        {
            const int memory = 10;
            int n = parameters.Length;
            var gradient = new double[n];
            var trialGradient = new double[n];
            var direction = new double[n];
            var trial = new double[n];
            var alphas = new double[memory];
            var steps = new List<double[]>();
            var changes = new List<double[]>();
            double viscosity = ViscosityAt(1);
            double loss = Evaluate(viscosity, train.Inputs, train.Targets, train.Weights, train.Rows, gradient);
            for (int epoch = 1; epoch <= options.MaximumEpochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                double nextViscosity = ViscosityAt(epoch);
                if (nextViscosity != viscosity)
                {
                    // Annealing changes the objective: restart the curvature history.
                    viscosity = nextViscosity;
                    loss = Evaluate(viscosity, train.Inputs, train.Targets, train.Weights, train.Rows, gradient);
                    steps.Clear();
                    changes.Clear();
                }

                // Two-loop recursion: direction = -H g (Nocedal and Wright, Algorithm 7.4).
                gradient.CopyTo(direction, 0);
                for (int i = steps.Count - 1; i >= 0; i--)
                {
                    alphas[i] = TensorPrimitives.Dot<double>(steps[i], direction) / TensorPrimitives.Dot<double>(changes[i], steps[i]);
                    TensorPrimitives.MultiplyAdd(changes[i], -alphas[i], direction, direction);
                }

                if (steps.Count > 0)
                {
                    double scale = TensorPrimitives.Dot<double>(steps[^1], changes[^1]) / TensorPrimitives.Dot<double>(changes[^1], changes[^1]);
                    TensorPrimitives.Multiply(direction, scale, direction);
                }

                for (int i = 0; i < steps.Count; i++)
                {
                    double beta = TensorPrimitives.Dot<double>(changes[i], direction) / TensorPrimitives.Dot<double>(changes[i], steps[i]);
                    TensorPrimitives.MultiplyAdd(steps[i], alphas[i] - beta, direction, direction);
                }

                TensorPrimitives.Negate(direction, direction);
                double slope = TensorPrimitives.Dot<double>(gradient, direction);
                if (!(slope < 0))
                {
                    TensorPrimitives.Negate(gradient, direction);
                    slope = -TensorPrimitives.Dot<double>(gradient, gradient);
                    steps.Clear();
                    changes.Clear();
                }

                double length = steps.Count == 0 ? Math.Min(1, 1 / Math.Max(1e-12, TensorPrimitives.Norm<double>(gradient))) : 1;
                double trialLoss = double.PositiveInfinity;
                for (int attempt = 0; attempt < 30; attempt++)
                {
                    TensorPrimitives.MultiplyAdd(direction, length, parameters, trial);
                    trialLoss = EvaluateAt(trial, viscosity, trialGradient);
                    if (trialLoss <= loss + (1e-4 * length * slope))
                    {
                        break;
                    }

                    length *= 0.5;
                }

                if (!(trialLoss <= loss))
                {
                    EndEpoch(epoch, loss);
                    break;
                }

                // The loss no longer moves at double precision: restart from steepest descent once, and stop if that
                // cannot move it either (further line searches would only burn time).
                bool stalled = loss - trialLoss <= 1e-13 * Math.Max(1, Math.Abs(loss));
                bool converged = stalled && steps.Count == 0;

                var step = new double[n];
                var change = new double[n];
                TensorPrimitives.Subtract(trial, parameters, step);
                TensorPrimitives.Subtract(trialGradient, gradient, change);
                if (stalled)
                {
                    steps.Clear();
                    changes.Clear();
                }
                else if (TensorPrimitives.Dot<double>(step, change) > 1e-12)
                {
                    if (steps.Count == memory)
                    {
                        steps.RemoveAt(0);
                        changes.RemoveAt(0);
                    }

                    steps.Add(step);
                    changes.Add(change);
                }

                trial.CopyTo(parameters, 0);
                ClampViscosity();
                trialGradient.CopyTo(gradient, 0);
                loss = trialLoss;
                if (EndEpoch(epoch, loss) || converged)
                {
                    break;
                }
            }
        }

        private double EvaluateAt(double[] at, double viscosity, double[] gradient)
        {
            double eps = learnViscosity ? Math.Exp(Math.Clamp(at[^1], MinimumLogViscosity, MaximumLogViscosity)) : viscosity;
            double value = objective.Evaluate(at, eps, train.Inputs, train.Targets, train.Weights, train.Rows, gradient, out double viscosityGradient);
            if (learnViscosity)
            {
                gradient[^1] = viscosityGradient;
            }

            return value;
        }

        private double Evaluate(double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, double[] gradient)
        {
            double value = objective.Evaluate(parameters, viscosity, inputs, targets, weights, rows, gradient, out double viscosityGradient);
            if (learnViscosity)
            {
                gradient[^1] = viscosityGradient;
            }

            return value;
        }

        private double ViscosityAt(int epoch) => options.ViscosityMode switch
        {
            ViscosityMode.Learned => Math.Exp(parameters[^1]),
            ViscosityMode.Annealed => options.Viscosity * Math.Pow(options.FinalViscosity / options.Viscosity, (epoch - 1) / (double)Math.Max(1, options.MaximumEpochs - 1)),
            ViscosityMode.WidthScaling => WidthScaledViscosity(options.NumberOfSupportPoints, train.Dimension),
            _ => options.Viscosity,
        };

        private void ClampViscosity()
        {
            if (learnViscosity)
            {
                parameters[^1] = Math.Clamp(parameters[^1], MinimumLogViscosity, MaximumLogViscosity);
            }
        }

        private void Gather(ReadOnlySpan<int> rows, double[] inputs, double[] targets, double[]? weights)
        {
            int stride = train.Dimension + 1;
            for (int i = 0; i < rows.Length; i++)
            {
                train.Inputs.AsSpan(rows[i] * stride, stride).CopyTo(inputs.AsSpan(i * stride, stride));
                targets[i] = train.Targets[rows[i]];
                if (weights is not null)
                {
                    weights[i] = train.Weights![rows[i]];
                }
            }
        }

        // Validates when due, keeps the best parameters, reports progress; returns true to stop early.
        private bool EndEpoch(int epoch, double trainingLoss)
        {
            double viscosity = ViscosityAt(epoch);
            double validationLoss = double.NaN, metric = double.NaN;
            bool stop = false;
            if (validation is null)
            {
                BestParameters = null;
                BestViscosity = viscosity;
                BestEpoch = epoch;
            }
            else if (epoch % options.ValidationFrequency == 0 || epoch == options.MaximumEpochs)
            {
                validationLoss = objective.Evaluate(parameters, viscosity, validation.Inputs, validation.Targets, validation.Weights, validation.Rows, default, out _);
                metric = Metric(viscosity);
                if (BestParameters is null || validationLoss < BestValidationLoss)
                {
                    BestParameters = (double[])parameters.Clone();
                    BestViscosity = viscosity;
                    BestEpoch = epoch;
                    BestValidationLoss = validationLoss;
                    BestValidationMetric = metric;
                    sinceImprovement = 0;
                }
                else
                {
                    stop = ++sinceImprovement >= options.Patience;
                }
            }

            var report = new TrainingProgress(epoch, options.MaximumEpochs, trainingLoss, validationLoss, metric, viscosity, stopwatch.Elapsed);
            History.Add(report);
            progress?.Report(report);
            return stop;
        }

        // Accuracy (classifiers) or R^2 (regression, in standardised units, which R^2 does not depend on) on the validation rows.
        private double Metric(double viscosity)
        {
            Block rows = validation!;
            int heads = objective.AllPieces / options.NumberOfSupportPoints;
            int d = rows.Dimension;

            // The layer on the augmented rows [x 1]: each piece's weights followed by its bias, and zero biases.
            var augmentedWeights = new double[objective.AllPieces * (d + 1)];
            for (int j = 0; j < objective.AllPieces; j++)
            {
                parameters.AsSpan(j * d, d).CopyTo(augmentedWeights.AsSpan(j * (d + 1), d));
                augmentedWeights[(j * (d + 1)) + d] = parameters[objective.WeightCount + j];
            }

            var layer = new LseLayer<double>(augmentedWeights, new double[objective.AllPieces], d + 1, viscosity, heads);
            var scores = new double[rows.Rows * heads];
            layer.EvaluateBatch(rows.Inputs, scores);
            if (options.Kind == ModelKind.Regression)
            {
                double mean = rows.Targets.Average();
                double residual = 0, total = 0;
                for (int i = 0; i < rows.Rows; i++)
                {
                    double error = scores[2 * i] - scores[(2 * i) + 1] - rows.Targets[i];
                    residual += error * error;
                    total += (rows.Targets[i] - mean) * (rows.Targets[i] - mean);
                }

                return total > 0 ? 1 - (residual / total) : double.NaN;
            }

            int correct = 0;
            for (int i = 0; i < rows.Rows; i++)
            {
                ReadOnlySpan<double> rowScores = scores.AsSpan(i * heads, heads);
                double predicted = options.Kind == ModelKind.BinaryClassification ? (rowScores[0] > rowScores[1] ? 1 : 0) : TensorPrimitives.IndexOfMax(rowScores);
                correct += predicted == rows.Targets[i] ? 1 : 0;
            }

            return correct / (double)rows.Rows;
        }
    }
}
