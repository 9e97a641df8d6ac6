using HjMl.Evaluation;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Training.Optimizers;

namespace HjMl.Training;

/// <summary>
/// The trainer's objective as the optimisers see it: <see cref="Objective"/> on the training rows, with theta laid out
/// as W (K N x d), b (K N) and, when eps is learned, log eps last (d f / d eps = H(pi), THEORY.md section 3).
/// It also scores a block of rows with the model theta stands for, for validation. With a flow before the read-out
/// (depth &gt; 0), <see cref="FlowObjective"/> takes the loss and theta holds the read-out (on the flow's width m), the flow's
/// controls, then log eps.
/// </summary>
internal sealed class TrainingObjective : IObjectiveFunction
{
    private const double MinimumLogViscosity = -13.8; // eps >= 1e-6 while learned
    private const double MaximumLogViscosity = 13.8;  // eps <= 1e6

    private readonly Objective objective;
    private readonly FlowObjective? flow;
    private readonly TrainingBlock train;
    private readonly ModelKind kind;
    private readonly bool learnViscosity;
    private TrainingBlock? batch;
    private double[]? validationScores;
    private double[]? validationOutputs;

    public TrainingObjective(Objective objective, TrainingBlock train, ModelKind kind, int heads, bool learnViscosity, FlowObjective? flow = null)
    {
        this.objective = objective;
        this.flow = flow;
        this.train = train;
        this.kind = kind;
        this.learnViscosity = learnViscosity;
        Heads = heads;
    }

    /// <summary>K, the LSE heads.</summary>
    public int Heads { get; }

    /// <summary>The length of theta.</summary>
    public int ParameterCount => flow?.ParameterCount(learnViscosity) ?? objective.ParameterCount(learnViscosity);

    /// <summary>The read-out's input width: the flow's m, or d.</summary>
    public int ReadoutDimension => flow?.Shape.Width ?? train.Dimension;

    /// <inheritdoc/>
    public int Rows => train.Rows;

    /// <inheritdoc/>
    public int Threads => objective.Threads;

    /// <inheritdoc/>
    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, Span<double> gradient)
        => Evaluate(parameters, viscosity, train, gradient);

    /// <inheritdoc/>
    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, ReadOnlySpan<int> rows, Span<double> gradient)
    {
        if (flow is null && objective.ReadsRowsInPlace)
        {
            // The wide float32 path converts each row as it reads it: a gathered copy in double would only be read once.
            return objective.EvaluateRows(parameters, viscosity, train.Inputs, train.Targets, train.Weights, rows, gradient);
        }

        if (batch is null || batch.Targets.Length < rows.Length)
        {
            batch = TrainingBlock.Buffer(rows.Length, train.Dimension, train.Weights is not null);
        }

        batch.Gather(train, rows);
        return Evaluate(parameters, viscosity, batch, gradient);
    }

    /// <inheritdoc/>
    public double ViscosityOf(ReadOnlySpan<double> parameters, double scheduled)
        => learnViscosity ? Math.Exp(Math.Clamp(parameters[^1], MinimumLogViscosity, MaximumLogViscosity)) : scheduled;

    /// <inheritdoc/>
    public void Project(Span<double> parameters)
    {
        if (learnViscosity)
        {
            parameters[^1] = Math.Clamp(parameters[^1], MinimumLogViscosity, MaximumLogViscosity);
        }
    }

    /// <summary>The loss alone (no gradient) of theta on <paramref name="rows"/> at <paramref name="viscosity"/>.</summary>
    public double Loss(ReadOnlySpan<double> parameters, double viscosity, TrainingBlock rows)
        => flow is null
            ? objective.Evaluate(parameters, viscosity, rows.Inputs, rows.Targets, rows.Weights, rows.Rows, default, out _)
            : flow.Evaluate(parameters, viscosity, rows.Inputs, rows.Targets, rows.Weights, rows.Rows, default, out _);

    /// <summary>
    /// The loss alone of theta on <paramref name="rows"/> at <paramref name="viscosity"/> and the accuracy (classifiers) or
    /// R^2 (regression) of its scores: on the wide float32 path both from one pass, else <see cref="Loss"/> and
    /// <see cref="TrainingRun.Metric"/>.
    /// </summary>
    public (double Loss, double Metric) Validate(double[] parameters, double viscosity, TrainingBlock rows)
    {
        if (flow is not null || !objective.ReadsRowsInPlace)
        {
            return (Loss(parameters, viscosity, rows), TrainingRun.Metric(this, kind, parameters, rows, viscosity));
        }

        int count = rows.Rows;
        if (validationScores is null || validationScores.Length < count * Heads)
        {
            validationScores = new double[count * Heads];
            validationOutputs = new double[count * Heads];
        }

        double loss = objective.LossAndScores(parameters, viscosity, rows.Inputs, rows.Targets, rows.Weights, count, validationScores);
        int length = ScoreInterpretation.OutputLength(kind, Heads);
        for (int i = 0; i < count; i++)
        {
            if (kind == ModelKind.MulticlassClassification)
            {
                validationScores.AsSpan(i * Heads, Heads).CopyTo(validationOutputs.AsSpan(i * Heads));
            }
            else
            {
                validationOutputs![i] = validationScores[2 * i] - validationScores[(2 * i) + 1];
            }
        }

        return (loss, ModelMetrics.FromScores(kind, Classes(), validationOutputs.AsSpan(0, count * length), rows.Targets.AsSpan(0, count)).Primary);
    }

    /// <summary>The class indices 0..K-1 (binary: 0 negative, 1 positive) as the labels validation targets hold; none for regression.</summary>
    public double[] Classes() => kind == ModelKind.Regression ? [] : Enumerable.Range(0, Heads).Select(c => (double)c).ToArray();

    /// <summary>
    /// The scores of <paramref name="rows"/> under theta with <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s
    /// convention, regression in standardised label units: f_0 - f_1 for regression and binary, the K head scores for multiclass.
    /// </summary>
    public void Score(ReadOnlySpan<double> parameters, double viscosity, TrainingBlock rows, Span<double> scores)
    {
        double[] inputs = rows.Inputs;
        int d = rows.Dimension;
        if (flow is not null)
        {
            // The read-out scores the terminal states [z_L 1].
            d = flow.Shape.Width;
            inputs = FlowSetup.Terminal(Flow(parameters)!, rows).Inputs;
        }

        int stride = d + 1;
        int all = objective.AllPieces;

        // The layer on the augmented rows [x 1]: each piece's weights followed by its bias, and zero biases.
        var augmentedWeights = new double[all * (d + 1)];
        for (int j = 0; j < all; j++)
        {
            parameters.Slice(j * d, d).CopyTo(augmentedWeights.AsSpan(j * (d + 1), d));
            augmentedWeights[(j * (d + 1)) + d] = parameters[objective.WeightCount + j];
        }

        var layer = new LseLayer<double>(augmentedWeights, new double[all], d + 1, viscosity, Heads);
        if (kind == ModelKind.MulticlassClassification)
        {
            layer.EvaluateBatch(inputs.AsSpan(0, rows.Rows * stride), scores[..(rows.Rows * Heads)]);
            return;
        }

        var headScores = new double[rows.Rows * Heads];
        layer.EvaluateBatch(inputs.AsSpan(0, rows.Rows * stride), headScores);
        for (int i = 0; i < rows.Rows; i++)
        {
            scores[i] = headScores[2 * i] - headScores[(2 * i) + 1];
        }
    }

    /// <summary>The layer theta stands for, on standardised features, at <paramref name="viscosity"/>.</summary>
    public LseLayer<double> Layer(ReadOnlySpan<double> parameters, double viscosity)
        => new(parameters[..objective.WeightCount], parameters.Slice(objective.WeightCount, objective.AllPieces), ReadoutDimension, viscosity, Heads);

    /// <summary>The flow theta stands for, or null at depth 0.</summary>
    public GibbsFlow? Flow(ReadOnlySpan<double> parameters)
        => flow is null ? null : new GibbsFlow(flow.Shape, flow.Horizon, flow.FlowViscosity, parameters.Slice(flow.ReadoutLength, flow.Shape.ParameterCount).ToArray());

    private double Evaluate(ReadOnlySpan<double> parameters, double viscosity, TrainingBlock rows, Span<double> gradient)
    {
        double value = flow is null
            ? objective.Evaluate(parameters, viscosity, rows.Inputs, rows.Targets, rows.Weights, rows.Rows, gradient, out double viscosityGradient)
            : flow.Evaluate(parameters, viscosity, rows.Inputs, rows.Targets, rows.Weights, rows.Rows, gradient, out viscosityGradient);
        if (learnViscosity)
        {
            gradient[^1] = viscosityGradient;
        }

        return value;
    }
}
