using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;
using HjMl.Training.Optimizers;
using Xunit.Abstractions;

namespace HjMl.Tests.Flows;

/// <summary>
/// The float32 path of a flow's training gradient (FlowObjective.Single.cs, <see cref="SinglePrecisionFlowPass"/>),
/// pinned to the double reference (FlowPass and the read-out's Objective): the loss and every parameter group's gradient
/// on real rows, at depths 1 to 4, with shared and per-step controls, a lift and an embedding; the same bits for any
/// thread count; and a training run that reaches the double run's validation loss.
/// </summary>
public class SinglePrecisionFlowTrainingTests(ITestOutputHelper log)
{
    // float32 rounds each product to about 6e-8 of its terms' magnitude; through the L steps' co-states and the
    // read-out's G W a parameter group's gradient lies within about 1e-6 of its norm of double's (the cases below), so
    // 1e-5 leaves a factor of ten. A wrong term (a missing step, a transposed product, a misplaced tile) moves it by order 1.
    private const double GradientTolerance = 1e-5;
    private const double LossTolerance = 1e-6;

    public static TheoryData<string, ModelKind, int, bool, int, FeatureEmbedding, int> Cases => new()
    {
        // file, kind, depth, shared controls, flow width, embedding, rows
        { "digits.csv", ModelKind.MulticlassClassification, 1, false, 0, FeatureEmbedding.None, 128 },
        { "digits.csv", ModelKind.MulticlassClassification, 2, false, 0, FeatureEmbedding.None, 128 },
        { "digits.csv", ModelKind.MulticlassClassification, 4, true, 0, FeatureEmbedding.None, 128 },
        { "digits.csv", ModelKind.MulticlassClassification, 4, false, 0, FeatureEmbedding.None, 1797 },
        { "digits.csv", ModelKind.MulticlassClassification, 3, false, 96, FeatureEmbedding.None, 200 },
        { "digits.csv", ModelKind.MulticlassClassification, 2, true, 80, FeatureEmbedding.None, 1100 },
        { "breast_cancer.csv", ModelKind.BinaryClassification, 2, false, 0, FeatureEmbedding.Periodic, 128 },
        { "breast_cancer.csv", ModelKind.BinaryClassification, 1, true, 0, FeatureEmbedding.Periodic, 569 },
        { "diabetes.csv", ModelKind.Regression, 3, false, 16, FeatureEmbedding.None, 300 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32GradientIsWithinToleranceOfTheDoubleAdjointOnRealRows(string file, ModelKind kind, int depth, bool shared, int flowWidth, FeatureEmbedding embedding, int rows)
    {
        FlowCase flowCase = FlowCase.Create(TestData.Load(file), kind, depth, shared, flowWidth, embedding, threads: 2);
        AssertClose(flowCase, Math.Min(rows, flowCase.Train.Rows));
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public void Float32GradientIsWithinToleranceOfTheDoubleAdjointOnMnistRows()
    {
        Dataset data = TestData.Load("mnist-10000.csv.gz");
        Dataset rows = data.Subset(Enumerable.Range(0, 2000).ToArray());
        AssertClose(FlowCase.Create(rows, ModelKind.MulticlassClassification, 4, false, 0, FeatureEmbedding.None, threads: 2), 128);
        AssertClose(FlowCase.Create(rows, ModelKind.MulticlassClassification, 2, true, 0, FeatureEmbedding.None, threads: 2), 1500);
    }

    [Theory]
    [InlineData(false, 0, FeatureEmbedding.None, 128)]
    [InlineData(true, 80, FeatureEmbedding.None, 1500)]
    [InlineData(false, 0, FeatureEmbedding.Periodic, 300)]
    public void Float32GradientHasTheSameBitsForOneTwoAndThreeThreads(bool shared, int flowWidth, FeatureEmbedding embedding, int rows)
    {
        string file = embedding == FeatureEmbedding.None ? "digits.csv" : "breast_cancer.csv";
        ModelKind kind = embedding == FeatureEmbedding.None ? ModelKind.MulticlassClassification : ModelKind.BinaryClassification;
        Dataset data = TestData.Load(file);
        (double Loss, double[] Gradient) Run(int threads)
        {
            FlowCase flowCase = FlowCase.Create(data, kind, 3, shared, flowWidth, embedding, threads);
            int count = Math.Min(rows, flowCase.Train.Rows);
            var gradient = new double[flowCase.Parameters.Length];
            double loss = flowCase.Single.Evaluate(flowCase.Parameters, flowCase.Viscosity, flowCase.Train.Inputs, flowCase.Train.Targets, null, count, gradient, out _);
            return (loss, gradient);
        }

        (double loss, double[] gradient) = Run(1);
        foreach (int threads in new[] { 2, 3, 1 })
        {
            (double otherLoss, double[] otherGradient) = Run(threads);
            Assert.Equal(BitConverter.DoubleToInt64Bits(loss), BitConverter.DoubleToInt64Bits(otherLoss));
            Assert.True(gradient.AsSpan().SequenceEqual(otherGradient), $"the gradient on {threads} threads differs from one thread's");
        }
    }

    [Fact]
    public void LbfgsAndLossAloneKeepTheExactDoublePath()
    {
        // L-BFGS (SinglePrecision false) and a loss without gradient (validation) give the double reference's bits.
        FlowCase flowCase = FlowCase.Create(TestData.Load("digits.csv"), ModelKind.MulticlassClassification, 2, false, 80, FeatureEmbedding.None, threads: 2);
        TrainingBlock train = flowCase.Train;
        var exact = new FlowObjective(flowCase.Readout, flowCase.Shape, flowCase.Options.FlowHorizon, flowCase.Options.FlowViscosity, 2, flowCase.Options.L2Regularisation)
        {
            Fused = new ReadoutLoss(ModelKind.MulticlassClassification, flowCase.Heads, flowCase.Options.NumberOfSupportPoints, flowCase.Options.L2Regularisation, RegressionLoss.Squared, 1, false, SinglePrecision: false),
        };
        var expected = new double[flowCase.Parameters.Length];
        var actual = new double[flowCase.Parameters.Length];
        double expectedLoss = flowCase.Double.Evaluate(flowCase.Parameters, flowCase.Viscosity, train.Inputs, train.Targets, null, 300, expected, out _);
        double actualLoss = exact.Evaluate(flowCase.Parameters, flowCase.Viscosity, train.Inputs, train.Targets, null, 300, actual, out _);
        Assert.Equal(BitConverter.DoubleToInt64Bits(expectedLoss), BitConverter.DoubleToInt64Bits(actualLoss));
        Assert.True(expected.AsSpan().SequenceEqual(actual), "the L-BFGS setting's gradient differs from the double reference's");
        double lossAlone = flowCase.Single.Evaluate(flowCase.Parameters, flowCase.Viscosity, train.Inputs, train.Targets, null, 300, default, out _);
        Assert.Equal(BitConverter.DoubleToInt64Bits(expectedLoss), BitConverter.DoubleToInt64Bits(lossAlone));
    }

    [Fact]
    public void Float32GradientAllocatesNothingPerMiniBatchOnceWarm()
    {
        // One thread, and every core (the kernels' own workers); Parallel.For, for counts between, allocates by design.
        Dataset data = TestData.Load("digits.csv");
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            FlowCase flowCase = FlowCase.Create(data, ModelKind.MulticlassClassification, 3, false, 80, FeatureEmbedding.None, threads);
            var gradient = new double[flowCase.Parameters.Length];
            long allocated = Allocations.Fewest(() =>
            {
                for (int batch = 0; batch < 8; batch++)
                {
                    flowCase.Single.Evaluate(flowCase.Parameters, flowCase.Viscosity, flowCase.Train.Inputs, flowCase.Train.Targets, null, 128, gradient, out _);
                }
            });
            Assert.True(allocated == 0, $"eight mini-batches on {threads} thread(s) allocated {allocated} bytes once warm");
        }
    }

    [Fact]
    public void Float32TrainingReachesTheDoubleRunsValidationLossOnDigits()
    {
        // Adam, depth 2, 8 epochs on 80% of digits, the rest validating: float32 and double from the same start and the
        // same batches. Rounding changes the path a little; the best validation loss must agree to 2% of its value.
        Dataset data = TestData.Load("digits.csv");
        int[] order = data.ShuffledRows(3);
        int split = (int)(0.8 * data.Rows);
        double Train(bool single)
        {
            FlowCase flowCase = FlowCase.Create(data.Subset(order[..split]), ModelKind.MulticlassClassification, 2, false, 0, FeatureEmbedding.None, threads: 2);
            TrainingBlock validation = TrainingBlock.Create(data.Subset(order[split..]), flowCase.Labels, flowCase.Scaling, null, order[split..]);
            var objective = new TrainingObjective(flowCase.Readout, flowCase.Train, ModelKind.MulticlassClassification, flowCase.Heads, false, single ? flowCase.Single : flowCase.Double);
            double[] parameters = flowCase.Start();
            HopfColeTrainerOptions options = flowCase.Options with { MaximumEpochs = 8, Patience = 8 };
            var run = new TrainingRun(options, objective, validation, parameters, flowCase.Shape.Width, System.Diagnostics.Stopwatch.StartNew(), null);
            Adam.Minimize(objective, run, parameters, new AdamSettings(8, 64, 0.003, CosineDecay: true), new Random(4), CancellationToken.None);
            return run.BestValidationLoss;
        }

        double singleLoss = Train(true), doubleLoss = Train(false);
        log.WriteLine($"best validation loss: float32 {singleLoss:R}, double {doubleLoss:R}");
        Assert.True(double.IsFinite(singleLoss) && singleLoss < 0.5, $"the float32 run's validation loss is {singleLoss}");
        Assert.True(Math.Abs(singleLoss - doubleLoss) <= 0.02 * doubleLoss, $"float32 reached {singleLoss:F5}, double {doubleLoss:F5}");
    }

    private void AssertClose(FlowCase flowCase, int rows)
    {
        TrainingBlock train = flowCase.Train;
        var single = new double[flowCase.Parameters.Length];
        var reference = new double[flowCase.Parameters.Length];
        double singleLoss = flowCase.Single.Evaluate(flowCase.Parameters, flowCase.Viscosity, train.Inputs, train.Targets, train.Weights, rows, single, out _);
        double doubleLoss = flowCase.Double.Evaluate(flowCase.Parameters, flowCase.Viscosity, train.Inputs, train.Targets, train.Weights, rows, reference, out _);
        Assert.True(Math.Abs(singleLoss - doubleLoss) <= LossTolerance * Math.Max(1, Math.Abs(doubleLoss)), $"loss: float32 {singleLoss:R}, double {doubleLoss:R}");
        foreach ((string name, int start, int length) in flowCase.Groups())
        {
            ReadOnlySpan<double> expected = reference.AsSpan(start, length);
            double norm = Math.Sqrt(TensorPrimitives.Dot(expected, expected));
            double gap = TensorPrimitives.Distance<double>(single.AsSpan(start, length), expected);
            log.WriteLine($"{name}: |gradient| {norm:E3}, |float32 - double| {gap:E3} ({gap / Math.Max(norm, 1e-300):E2} of it)");
            Assert.True(norm > 0, $"{name}'s gradient is zero: the case does not test it");
            Assert.True(gap <= GradientTolerance * norm, $"{name}: the float32 gradient is {gap / norm:E2} of the double gradient's norm away from it (tolerance {GradientTolerance:E0})");
        }
    }

    /// <summary>A flow's training set-up as HopfColeTrainer builds it, with parameters moved off the motionless start.</summary>
    private sealed class FlowCase
    {
        public required HopfColeTrainerOptions Options { get; init; }

        public required TrainingBlock Train { get; init; }

        public required LabelEncoding Labels { get; init; }

        public required FeatureScaling Scaling { get; init; }

        public required FlowShape Shape { get; init; }

        public required Objective Readout { get; init; }

        public required FlowObjective Single { get; init; }

        public required FlowObjective Double { get; init; }

        public required int Heads { get; init; }

        public required double[] Parameters { get; init; }

        public required double[] Initial { get; init; }

        public double Viscosity => Options.Viscosity;

        public double[] Start() => (double[])Initial.Clone();

        public static FlowCase Create(Dataset data, ModelKind kind, int depth, bool shared, int flowWidth, FeatureEmbedding embedding, int threads)
        {
            var options = new HopfColeTrainerOptions
            {
                Kind = kind,
                NumberOfSupportPoints = 6,
                Depth = depth,
                FlowWidth = flowWidth,
                FlowSupportPoints = 12,
                SharedFlowControls = shared,
                FeatureEmbedding = embedding,
                Optimizer = Optimizer.Adam,
                ValidationFraction = 0,
                L2Regularisation = 1e-4,
                MaximumDegreeOfParallelism = threads,
                Seed = 2,
            };
            var random = new Random(options.Seed);
            LabelEncoding labels = LabelEncoding.Fit(data, kind);
            int[] order = data.ShuffledRows(options.Seed);
            Dataset training = data.Subset(order);
            FeatureScaling scaling = FeatureScaling.Fit(training);
            TrainingBlock train = TrainingBlock.Create(training, labels, scaling, null, order);
            int heads = kind == ModelKind.MulticlassClassification ? labels.Classes.Length : 2;
            EmbeddingShape? embeddingShape = FlowSetup.Embedding(options, train);
            FlowSetup flow = FlowSetup.Create(options, data.Columns, train, train.Rows, random, embeddingShape);
            var readout = new Objective(kind, flow.Shape.Width, heads, options.NumberOfSupportPoints, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, false);
            var loss = new ReadoutLoss(kind, heads, options.NumberOfSupportPoints, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, false, SinglePrecision: true);
            var single = new FlowObjective(readout, flow.Shape, options.FlowHorizon, options.FlowViscosity, threads, options.L2Regularisation) { Fused = loss };
            var reference = new FlowObjective(readout, flow.Shape, options.FlowHorizon, options.FlowViscosity, threads, options.L2Regularisation);
            var initial = new double[single.ParameterCount(false)];
            SupportInitialiser.Place(options, flow.Start, heads, options.NumberOfSupportPoints, initial, random);
            flow.Parameters.CopyTo(initial.AsSpan(single.ReadoutLength));

            // Values and offsets away from 0, so that the flow moves the rows and every control's gradient is nonzero.
            double[] parameters = (double[])initial.Clone();
            var perturbation = new Random(7);
            for (int set = 0; set < flow.Shape.ControlSets; set++)
            {
                int values = single.ReadoutLength + flow.Shape.ValuesOffset(set);
                for (int i = 0; i < flow.Shape.Pieces * flow.Shape.Width; i++)
                {
                    parameters[values + i] = 0.5 * ((2 * perturbation.NextDouble()) - 1);
                }

                int offsets = single.ReadoutLength + flow.Shape.OffsetsOffset(set);
                for (int j = 0; j < flow.Shape.Pieces; j++)
                {
                    parameters[offsets + j] = (2 * perturbation.NextDouble()) - 1;
                }
            }

            return new FlowCase
            {
                Options = options,
                Train = train,
                Labels = labels,
                Scaling = scaling,
                Shape = flow.Shape,
                Readout = readout,
                Single = single,
                Double = reference,
                Heads = heads,
                Parameters = parameters,
                Initial = initial,
            };
        }

        // The parameter groups whose gradients are compared: the read-out's W and b, the lift or embedding, and each
        // control set's keys, offsets and values.
        public IEnumerable<(string Name, int Start, int Length)> Groups()
        {
            int readoutLength = Single.ReadoutLength;
            int all = readoutLength / (Shape.Width + 1);
            yield return ("read-out W", 0, all * Shape.Width);
            yield return ("read-out b", all * Shape.Width, all);
            if (Shape.LiftLength > 0)
            {
                yield return (Shape.Lifted ? "lift" : "embedding", readoutLength, Shape.LiftLength);
            }

            for (int set = 0; set < Shape.ControlSets; set++)
            {
                yield return ($"keys {set}", readoutLength + Shape.KeysOffset(set), Shape.Pieces * Shape.Width);
                yield return ($"offsets {set}", readoutLength + Shape.OffsetsOffset(set), Shape.Pieces);
                yield return ($"values {set}", readoutLength + Shape.ValuesOffset(set), Shape.Pieces * Shape.Width);
            }
        }
    }
}
