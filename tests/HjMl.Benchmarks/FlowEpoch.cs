using System.Diagnostics;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;
using HjMl.Training.Optimizers;

namespace HjMl.Benchmarks;

/// <summary>
/// One training epoch of a flow, apart from its set-up: the objective, the initial parameters and the run are built
/// once as <see cref="HopfColeTrainer.Train"/> builds them (label encoding, standardisation, the flow's initial
/// controls, k-means++ support points on z_0), and <see cref="Run"/> is what Train does per epoch: a seeded shuffle,
/// then per mini-batch the gather, the flow's forward pass, the read-out's loss and gradient, the adjoint pass back
/// through the flow, the in-order reduction and Adam's update, and the end-of-epoch bookkeeping (the finite check and
/// the copy of the parameters a run without validation keeps).
/// </summary>
internal sealed class FlowEpoch
{
    private readonly HopfColeTrainerOptions options;
    private readonly TrainingObjective objective;
    private readonly double[] initial;
    private readonly int readoutDimension;

    private FlowEpoch(HopfColeTrainerOptions options, TrainingObjective objective, double[] initial, int readoutDimension, TrainingBlock train, Objective readout, FlowObjective flow)
    {
        this.options = options;
        this.objective = objective;
        this.initial = initial;
        this.readoutDimension = readoutDimension;
        Parameters = (double[])initial.Clone();
        Train = train;
        Readout = readout;
        Flow = flow;
    }

    /// <summary>The standardised training rows.</summary>
    public TrainingBlock Train { get; }

    /// <summary>The read-out's objective.</summary>
    public Objective Readout { get; }

    /// <summary>The flow's objective (shape, step size, viscosity).</summary>
    public FlowObjective Flow { get; }

    /// <summary>The options the epoch runs with.</summary>
    public HopfColeTrainerOptions Options => options;

    /// <summary>The initial parameters (do not modify).</summary>
    public double[] Initial => initial;

    /// <summary>The parameters after the last <see cref="Run"/>.</summary>
    public double[] Parameters { get; }

    /// <summary>The parameter count (read-out, flow).</summary>
    public int ParameterCount => initial.Length;

    /// <summary>
    /// Builds the set-up of <see cref="HopfColeTrainer.Train"/> for <paramref name="data"/> (no validation split); the
    /// gradients in float32 as Train computes them under Adam, or in double (<paramref name="singlePrecision"/> false:
    /// the path flows trained on before, which L-BFGS keeps).
    /// </summary>
    public static FlowEpoch Create(Dataset data, HopfColeTrainerOptions options, bool singlePrecision = true)
    {
        if (options.Depth < 1 || options.ValidationFraction != 0 || options.Optimizer != Optimizer.Adam || options.BatchSize < 1)
        {
            throw new ArgumentException("FlowEpoch times a flow (Depth >= 1) trained by mini-batch Adam without a validation split.", nameof(options));
        }

        var random = new Random(options.Seed);
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);
        int[] order = data.ShuffledRows(options.Seed);
        Dataset training = data.Subset(order);
        FeatureScaling scaling = FeatureScaling.Fit(training);
        TrainingBlock train = TrainingBlock.Create(training, labels, scaling, null, order);
        int heads = options.Kind == ModelKind.MulticlassClassification ? labels.Classes.Length : 2;
        int threads = options.MaximumDegreeOfParallelism == 0 ? Environment.ProcessorCount : options.MaximumDegreeOfParallelism;
        FlowSetup flow = FlowSetup.Create(options, data.Columns, train, Math.Min(options.BatchSize, train.Rows), random, embedding: null);
        var readout = new Objective(options.Kind, flow.Shape.Width, heads, options.NumberOfSupportPoints, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, learnViscosity: false);
        var flowObjective = new FlowObjective(readout, flow.Shape, options.FlowHorizon, options.FlowViscosity, threads, options.L2Regularisation)
        {
            Fused = new ReadoutLoss(options.Kind, heads, options.NumberOfSupportPoints, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, LearnViscosity: false, singlePrecision),
        };
        var objective = new TrainingObjective(readout, train, options.Kind, heads, learnViscosity: false, flowObjective);
        var parameters = new double[objective.ParameterCount];
        SupportInitialiser.Place(options, flow.Start, heads, options.NumberOfSupportPoints, parameters, random);
        flow.Parameters.CopyTo(parameters.AsSpan(readout.ParameterCount(false)));
        return new FlowEpoch(options, objective, parameters, flow.Shape.Width, train, readout, flowObjective);
    }

    /// <summary>One epoch from the initial parameters; returns the epoch's mean training loss.</summary>
    public double Run()
    {
        initial.CopyTo(Parameters, 0);
        var settings = new AdamSettings(1, options.BatchSize, options.LearningRate, options.LearningRateSchedule == LearningRateSchedule.Cosine);
        var run = new TrainingRun(options with { MaximumEpochs = 1 }, objective, null, Parameters, readoutDimension, Stopwatch.StartNew(), null);
        Adam.Minimize(objective, run, Parameters, settings, new Random(options.Seed), CancellationToken.None);
        return run.History[^1].TrainingLoss;
    }
}
