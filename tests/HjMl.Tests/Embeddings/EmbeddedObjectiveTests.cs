using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Tests.Embeddings;

public class EmbeddedObjectiveTests
{
    private const int Dimension = 6;
    private const int Pieces = 3;

    public static TheoryData<ModelKind> Kinds => new() { ModelKind.Regression, ModelKind.BinaryClassification, ModelKind.MulticlassClassification };

    [Fact]
    public void InlineScaledAddGivesTheBitsOfTensorPrimitivesMultiplyAddAtEveryLength()
    {
        var random = new Random(3);
        for (int length = 0; length <= 256; length++)
        {
            float[] x = [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];
            float[] start = [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];
            float scale = (float)(random.NextDouble() * 3);
            float[] expected = new float[length];
            TensorPrimitives.MultiplyAdd(x, scale, start, expected);
            float[] actual = [.. start];
            EmbeddedObjective<float>.AddScaled(x, scale, actual);
            Assert.Equal(expected, actual);

            double[] wide = [.. x.Select(value => (double)value)];
            double[] wideStart = [.. start.Select(value => (double)value)];
            double[] wideExpected = new double[length];
            TensorPrimitives.MultiplyAdd(wide, 0.1 * scale, wideStart, wideExpected);
            EmbeddedObjective<double>.AddScaled(wide, 0.1 * scale, wideStart);
            Assert.Equal(wideExpected, wideStart);
        }
    }

    [Fact]
    public void VectorConversionsGiveTheBitsOfTheScalarOnesAtEveryLength()
    {
        var random = new Random(8);
        for (int length = 0; length <= 256; length++)
        {
            double[] source = [.. Enumerable.Range(0, length).Select(_ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 8)))];
            double factor = 1 / 0.37;
            float[] single = new float[length];
            double[] wide = new double[length];
            PeriodicEmbedding.ScaleConvert<float>(source, factor, single);
            PeriodicEmbedding.ScaleConvert<double>(source, factor, wide);
            Assert.Equal(source.Select(value => (float)(value * factor)), single);
            Assert.Equal(source.Select(value => value * factor), wide);

            double[] sums = [.. source];
            double[] expected = [.. source.Select((value, i) => value + single[i])];
            PeriodicEmbedding.Add<float>(single, sums);
            Assert.Equal(expected, sums);
            double[] wideSums = [.. source];
            PeriodicEmbedding.Add<double>(wide, wideSums);
            Assert.Equal(source.Select((value, i) => value + wide[i]), wideSums);
        }
    }

    [Fact]
    public void InlineRectifierGivesTheBitsOfTensorPrimitivesMaxWithZeroAtEveryLength()
    {
        var random = new Random(5);
        for (int length = 0; length <= 256; length++)
        {
            // Finite values of both signs, with zeros of both signs among them.
            float[] values = [.. Enumerable.Range(0, length).Select(i => i % 7 == 0 ? (i % 2 == 0 ? 0f : -0f) : (float)(random.NextDouble() - 0.5))];
            float[] expected = new float[length];
            TensorPrimitives.Max(values, 0f, expected);
            float[] actual = [.. values];
            PeriodicEmbedding.Rectify<float>(actual);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));

            double[] wide = [.. values.Select(value => (double)value)];
            double[] wideExpected = new double[length];
            TensorPrimitives.Max(wide, 0.0, wideExpected);
            PeriodicEmbedding.Rectify<double>(wide);
            Assert.Equal(wideExpected.Select(BitConverter.DoubleToInt64Bits), wide.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FusedLossAndGradientEqualTheGenericPathsInDouble(ModelKind kind)
    {
        // The fused path (sparse passed-through features, the embedding in blocks) computes the same function as FlowPass
        // followed by the read-out's Objective: 700 rows make two chunks of several tiles on two threads.
        (FlowObjective generic, FlowObjective fused, double[] parameters, Problem problem) = Objectives(kind, rows: 700, threads: 2, singlePrecision: false);
        var expected = new double[parameters.Length];
        var actual = new double[parameters.Length];
        double expectedLoss = generic.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, expected, out _);
        double actualLoss = fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, actual, out _);
        double lossOnly = fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, default, out _);

        Assert.Equal(expectedLoss, actualLoss, 1e-12 * Math.Abs(expectedLoss));
        Assert.Equal(actualLoss, lossOnly);
        double scale = expected.Max(Math.Abs);
        double worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-12 * scale, $"the fused gradient differs from the generic one by up to {worst:E2} (largest entry {scale:E2})");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FusedGradientEqualsCentralDifferences(ModelKind kind)
    {
        (_, FlowObjective fused, double[] parameters, Problem problem) = Objectives(kind, rows: 150, threads: 2, singlePrecision: false);
        var gradient = new double[parameters.Length];
        fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, gradient, out _);

        double worst = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            double saved = parameters[i];
            const double step = 1e-5;
            parameters[i] = saved + step;
            double up = fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, default, out _);
            parameters[i] = saved - step;
            double down = fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, default, out _);
            parameters[i] = saved;
            double numeric = (up - down) / (2 * step);
            worst = Math.Max(worst, Math.Abs(numeric - gradient[i]) / Math.Max(1e-3, Math.Abs(numeric)));
        }

        Assert.True(worst <= 1e-6, $"the largest relative gap between the fused gradient and central differences is {worst:E2}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SinglePrecisionStaysWithinFloatRoundingOfDouble(ModelKind kind)
    {
        (FlowObjective generic, FlowObjective single, double[] parameters, Problem problem) = Objectives(kind, rows: 700, threads: 2, singlePrecision: true);
        var expected = new double[parameters.Length];
        var actual = new double[parameters.Length];
        double expectedLoss = generic.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, expected, out _);
        double actualLoss = single.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, actual, out _);

        Assert.Equal(expectedLoss, actualLoss, 1e-5 * Math.Abs(expectedLoss));
        double scale = expected.Max(Math.Abs);
        double worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-4 * scale, $"the float32 gradient differs from the double one by up to {worst:E2} (largest entry {scale:E2})");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedEvaluationIsBitIdenticalForAThreadCount(bool singlePrecision)
    {
        double[] Gradient()
        {
            (_, FlowObjective fused, double[] parameters, Problem problem) = Objectives(ModelKind.MulticlassClassification, rows: 500, threads: 2, singlePrecision);
            var gradient = new double[parameters.Length + 1];
            gradient[^1] = fused.Evaluate(parameters, 0.4, problem.Inputs, problem.Targets, problem.Weights, problem.Rows, gradient.AsSpan(0, parameters.Length), out _);
            return gradient;
        }

        Assert.Equal(Gradient(), Gradient());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OnePassValidationGivesTheObjectivesLossBitForBitAndTheMetricOfItsScores(ModelKind kind)
    {
        (_, FlowObjective fused, double[] parameters, Problem problem) = Objectives(kind, rows: 700, threads: 2, singlePrecision: true);
        int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
        double[] features = [.. Enumerable.Range(0, problem.Rows).SelectMany(row => problem.Inputs.Skip(row * (Dimension + 1)).Take(Dimension))];
        var data = new HjMl.Data.Dataset(features, problem.Targets, [.. Enumerable.Range(0, Dimension).Select(i => $"x{i}")]);
        TrainingBlock block = TrainingBlock.Create(data, LabelEncoding.Fit(data, kind), FeatureScaling.Fit(data), problem.Weights, [.. Enumerable.Range(0, problem.Rows)]);
        var readout = new Objective(kind, fused.Shape.Width, heads, Pieces, 2, 1e-3, RegressionLoss.Huber, 0.8, false);
        var objective = new TrainingObjective(readout, block, kind, heads, false, fused);
        var options = new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = Pieces, L2Regularisation = 1e-3, RegressionLoss = RegressionLoss.Huber, HuberDelta = 0.8, MaximumDegreeOfParallelism = 2 };

        (double expectedLoss, double expectedMetric) = objective.Validate(parameters, 0.4, block);
        (double loss, double metric) = EmbeddedValidation.For(options, heads, fused.Shape)!.Validate(parameters, 0.4, block);

        Assert.Equal(expectedLoss, loss);
        Assert.Equal(expectedMetric, metric, 1e-12);
        Assert.Null(EmbeddedValidation.For(options with { ViscosityMode = ViscosityMode.Learned }, heads, fused.Shape));
        Assert.Null(EmbeddedValidation.For(options, heads, fused.Shape with { Steps = 1 }));
    }

    // The generic and the fused objective on one problem: features 0 and 3 embedded (K = 3, e = 4); 1, 2 and 4 binary
    // (standardised 0/1 columns of different frequencies, as one-hot columns are), 5 continuous; all four passed through.
    private static (FlowObjective Generic, FlowObjective Fused, double[] Parameters, Problem Problem) Objectives(ModelKind kind, int rows, int threads, bool singlePrecision)
    {
        var random = new Random(kind == ModelKind.Regression ? 21 : kind == ModelKind.BinaryClassification ? 22 : 23);
        int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
        var embedding = new EmbeddingShape(Dimension, [0, 3], frequencies: 3, width: 4);
        var shape = new FlowShape(Dimension, embedding.OutputWidth, 0, 4, false, false) { Embedding = embedding };
        Problem problem = Problem.Create(random, kind, rows, heads);
        var readout = new Objective(kind, shape.Width, heads, Pieces, threads, 1e-3, RegressionLoss.Huber, 0.8, false);
        var generic = new FlowObjective(readout, shape, 1, 1, threads, 1e-3);
        var fused = new FlowObjective(readout, shape, 1, 1, threads, 1e-3)
        {
            Fused = new ReadoutLoss(kind, heads, Pieces, 1e-3, RegressionLoss.Huber, 0.8, LearnViscosity: false, singlePrecision),
        };
        double[] parameters = [.. Enumerable.Range(0, generic.ParameterCount(false)).Select(_ => 0.6 * ((2 * random.NextDouble()) - 1))];
        return (generic, fused, parameters, problem);
    }

    private sealed record Problem(double[] Inputs, double[] Targets, double[] Weights, int Rows)
    {
        public static Problem Create(Random random, ModelKind kind, int rows, int heads)
        {
            const int stride = Dimension + 1;
            var inputs = new double[rows * stride];
            var targets = new double[rows];
            var weights = new double[rows];
            double[] frequencies = [0.1, 0.5, 0.8];
            for (int row = 0; row < rows; row++)
            {
                Span<double> x = inputs.AsSpan(row * stride, stride);
                x[0] = (2 * random.NextDouble()) - 1;
                x[3] = 1.5 * ((2 * random.NextDouble()) - 1);
                x[5] = (2 * random.NextDouble()) - 1;
                x[1] = Binary(random, frequencies[0]);
                x[2] = Binary(random, frequencies[1]);
                x[4] = Binary(random, frequencies[2]);
                x[Dimension] = 1;
                double sum = x[0] + (2 * Math.Sin(3 * x[3])) + x[1] - x[4] + (0.5 * x[5]);
                targets[row] = kind switch
                {
                    ModelKind.Regression => sum,
                    ModelKind.BinaryClassification => sum > 0 ? 1 : 0,
                    _ => Math.Abs((int)Math.Floor(sum * 2)) % heads,
                };
                weights[row] = 0.5 + random.NextDouble();
            }

            return new Problem(inputs, targets, weights, rows);
        }

        // A standardised 0/1 column that is 1 with probability p.
        private static double Binary(Random random, double p)
        {
            double deviation = Math.Sqrt(p * (1 - p));
            return ((random.NextDouble() < p ? 1 : 0) - p) / deviation;
        }
    }
}
