using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;
using HjMl.Training.Optimizers;

namespace HjMl.Benchmarks;

/// <summary>
/// One epoch of the plain layer's mini-batch Adam on mnist-10000 as the ML.NET plug-in's defaults train it: the 8000
/// training rows of <see cref="FlowCase"/> (784 features, 10 classes), 32 support points per class placed by k-means++,
/// eps 0.5, batch 128, learning rate 0.001, L2 1e-4, no validation split. <see cref="SinglePrecision"/> false is the double
/// path Adam ran on for d &gt; 16 before the wide float32 path (Objective.Wide.cs), true is that path; each on one thread
/// and on every core. Set-up (standardisation, support placement) is done once; an iteration is what Train does per
/// epoch: the shuffle, 63 mini-batches of loss, gradient and Adam update, and the end-of-epoch bookkeeping.
/// </summary>
[SimpleJob(warmupCount: 1, iterationCount: 6)]
public class ReadoutEpochBenchmarks
{
    private TrainingObjective objective = null!;
    private HopfColeTrainerOptions options = null!;
    private double[] initial = [];
    private double[] parameters = [];

    /// <summary>False: the double path; true: the wide float32 path.</summary>
    [Params(false, true)]
    public bool SinglePrecision { get; set; }

    /// <summary>1 thread, or 0 for every core.</summary>
    [Params(1, 0)]
    public int Threads { get; set; }

    /// <summary>Standardises the rows and places the support points as <see cref="HopfColeTrainer.Train"/> does.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Dataset data = FlowCase.Train;
        options = new HopfColeTrainerOptions
        {
            Kind = ModelKind.MulticlassClassification,
            NumberOfSupportPoints = 32,
            Viscosity = 0.5,
            Optimizer = Optimizer.Adam,
            BatchSize = 128,
            LearningRate = 0.001,
            L2Regularisation = 1e-4,
            MaximumEpochs = 1,
            ValidationFraction = 0,
            EnsembleMembers = 1,
            Seed = 1,
            MaximumDegreeOfParallelism = Threads,
        };
        var random = new Random(options.Seed);
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);
        int[] order = data.ShuffledRows(options.Seed);
        Dataset training = data.Subset(order);
        FeatureScaling scaling = FeatureScaling.Fit(training);
        TrainingBlock train = TrainingBlock.Create(training, labels, scaling, null, order);
        int heads = labels.Classes.Length;
        int threads = Threads == 0 ? Environment.ProcessorCount : Threads;
        var readout = new Objective(options.Kind, data.Columns, heads, options.NumberOfSupportPoints, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, learnViscosity: false)
        {
            SinglePrecision = SinglePrecision,
        };
        objective = new TrainingObjective(readout, train, options.Kind, heads, learnViscosity: false);
        initial = new double[objective.ParameterCount];
        SupportInitialiser.Place(options, train, heads, options.NumberOfSupportPoints, initial, random);
        parameters = (double[])initial.Clone();
    }

    /// <summary>One epoch from the initial parameters; returns its mean training loss.</summary>
    [Benchmark]
    public double Epoch()
    {
        initial.CopyTo(parameters, 0);
        var run = new TrainingRun(options, objective, null, parameters, objective.ReadoutDimension, Stopwatch.StartNew(), null);
        Adam.Minimize(objective, run, parameters, new AdamSettings(1, options.BatchSize, options.LearningRate, CosineDecay: false), new Random(options.Seed), CancellationToken.None);
        return run.History[^1].TrainingLoss;
    }
}
