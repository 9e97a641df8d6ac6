using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Kernels;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

/// <summary>The fused float32 training path (<see cref="GradientKernel"/>) against the double path it replaces for Adam.</summary>
public class SinglePrecisionObjectiveTests
{
    [Theory]
    [InlineData(ModelKind.Regression, RegressionLoss.Squared, 1, 100, 4000)]
    [InlineData(ModelKind.Regression, RegressionLoss.Squared, 2, 100, 4000)]
    [InlineData(ModelKind.Regression, RegressionLoss.Huber, 3, 7, 37)]
    [InlineData(ModelKind.BinaryClassification, RegressionLoss.Squared, 5, 33, 1000)]
    [InlineData(ModelKind.MulticlassClassification, RegressionLoss.Squared, 16, 17, 301)]
    public void SinglePrecisionLossAndGradientMatchDouble(ModelKind kind, RegressionLoss loss, int d, int pieces, int rows)
    {
        foreach (VectorWidth width in Widths())
        {
            foreach (double eps in new[] { 0.05, 0.7, 4.0 })
            {
                Case problem = Case.Draw(kind, d, pieces, rows, weighted: kind != ModelKind.Regression, seed: d + pieces);
                var reference = problem.Objective(loss, threads: 2, single: false);
                var single = problem.Objective(loss, threads: 2, single: true, width);
                var expected = new double[problem.Parameters.Length];
                var actual = new double[problem.Parameters.Length];
                double expectedLoss = reference.Evaluate(problem.Parameters, eps, problem.Inputs, problem.Targets, problem.Weights, rows, expected, out _);
                double actualLoss = single.Evaluate(problem.Parameters, eps, problem.Inputs, problem.Targets, problem.Weights, rows, actual, out _);

                // float32 logits carry about 1e-7 |z / eps| of rounding into each score, so the bound scales with 1 / eps.
                double tolerance = 2e-5 * Math.Max(1, 1 / eps);
                Assert.True(Math.Abs(actualLoss - expectedLoss) <= tolerance * Math.Max(1, Math.Abs(expectedLoss)), $"{width} eps {eps}: loss {actualLoss} against {expectedLoss}");
                double scale = expected.Max(Math.Abs);
                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * Math.Max(1e-3, scale), $"{width} eps {eps}: gradient[{i}] {actual[i]} against {expected[i]} (largest {scale})");
                }
            }
        }
    }

    [Fact]
    public void SinglePrecisionIsBitIdenticalForAThreadCount()
    {
        Case problem = Case.Draw(ModelKind.Regression, 2, 100, 4000, weighted: false, seed: 3);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var first = new double[problem.Parameters.Length];
            var second = new double[problem.Parameters.Length];
            double a = problem.Objective(RegressionLoss.Squared, threads, single: true).Evaluate(problem.Parameters, 0.0707, problem.Inputs, problem.Targets, null, problem.Targets.Length, first, out _);
            double b = problem.Objective(RegressionLoss.Squared, threads, single: true).Evaluate(problem.Parameters, 0.0707, problem.Inputs, problem.Targets, null, problem.Targets.Length, second, out _);
            Assert.Equal(a, b);
            Assert.Equal(first, second);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SinglePrecisionStaysFiniteAndExactAtTinyEps(int d)
    {
        // At eps = 1e-3 nearly every exponential underflows: they must be exact zeros (no NaN, no subnormal), and the
        // loss must still match double's, whose winning piece carries all the weight.
        Case problem = Case.Draw(ModelKind.Regression, d, 64, 500, weighted: false, seed: 5);
        var expected = new double[problem.Parameters.Length];
        var actual = new double[problem.Parameters.Length];
        double expectedLoss = problem.Objective(RegressionLoss.Squared, 2, single: false).Evaluate(problem.Parameters, 1e-3, problem.Inputs, problem.Targets, null, 500, expected, out _);
        double actualLoss = problem.Objective(RegressionLoss.Squared, 2, single: true).Evaluate(problem.Parameters, 1e-3, problem.Inputs, problem.Targets, null, 500, actual, out _);
        Assert.True(double.IsFinite(actualLoss) && actual.All(double.IsFinite));
        Assert.True(Math.Abs(actualLoss - expectedLoss) <= 1e-3 * Math.Max(1, expectedLoss), $"loss {actualLoss} against {expectedLoss}");
    }

    [Fact]
    public void AdamOnTheFloat32PathReachesTheDoublePathsTestError()
    {
        // The paper's problem at a tenth of its length: |x| on [-2, 2]^2, 200 pieces (two heads of 100), eps 0.0707.
        var random = new Random(11);
        Dataset Draw(int rows)
        {
            var features = new double[rows * 2];
            for (int i = 0; i < features.Length; i++)
            {
                features[i] = (4 * random.NextDouble()) - 2;
            }

            return new Dataset(features, Enumerable.Range(0, rows).Select(r => Math.Sqrt((features[2 * r] * features[2 * r]) + (features[(2 * r) + 1] * features[(2 * r) + 1]))).ToArray(), ["x1", "x2"]);
        }

        Dataset train = Draw(1000), test = Draw(2000);
        var options = new HopfColeTrainerOptions
        {
            Kind = ModelKind.Regression,
            NumberOfSupportPoints = 100,
            Viscosity = 0.0707,
            Optimizer = Optimizer.Adam,
            MaximumEpochs = 300,
            BatchSize = 0,
            LearningRate = 0.006,
            ValidationFraction = 0,
            L2Regularisation = 0,
            Seed = 1,
        };
        double single = ModelMetrics.Evaluate(new HopfColeTrainer(options).Fit(train), test).RootMeanSquaredError;
        double reference = ModelMetrics.Evaluate(TrainInDouble(options, train), test).RootMeanSquaredError;
        Assert.True(single <= reference * 1.02, $"test RMSE: float32 path {single}, double path {reference}");
        Assert.True(single < 0.05, $"test RMSE {single}");
    }

    // The same Adam run as HopfColeTrainer's, with the objective kept in double (what Adam ran on before issue 20).
    private static HopfColeModel TrainInDouble(HopfColeTrainerOptions options, Dataset data)
    {
        LabelEncoding labels = LabelEncoding.Fit(data, options.Kind);
        int[] order = data.ShuffledRows(options.Seed);
        FeatureScaling scaling = FeatureScaling.Fit(data.Subset(order));
        TrainingBlock train = TrainingBlock.Create(data.Subset(order), labels, scaling, null, order);
        var random = new Random(options.Seed);
        var readout = new Objective(options.Kind, data.Columns, 2, options.NumberOfSupportPoints, Environment.ProcessorCount, 0, options.RegressionLoss, options.HuberDelta, false);
        var objective = new TrainingObjective(readout, train, options.Kind, 2, false);
        var parameters = new double[objective.ParameterCount];
        int[] support = SupportInitialiser.Place(options, train, 2, options.NumberOfSupportPoints, parameters, random);
        var run = new TrainingRun(options, objective, null, parameters, data.Columns, System.Diagnostics.Stopwatch.StartNew(), null);
        HjMl.Training.Optimizers.Adam.Minimize(objective, run, parameters, new(options.MaximumEpochs, 0, options.LearningRate, options.LearningRateSchedule == LearningRateSchedule.Cosine), random, default);
        var model = new HopfColeModel(options.Kind, objective.Layer(parameters, options.Viscosity), scaling, data.FeatureNames, labels.Classes, labels.Mean, labels.Scale, support, HopfColeTrainer.TimeFor(options, data.Columns));
        return model;
    }

    private static IEnumerable<VectorWidth> Widths()
    {
        yield return VectorWidth.Bits128;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            yield return VectorWidth.Bits256;
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            yield return VectorWidth.Bits512;
        }
    }

    private sealed record Case(ModelKind Kind, int Dimension, int Heads, int Pieces, double[] Parameters, double[] Inputs, double[] Targets, double[]? Weights)
    {
        public static Case Draw(ModelKind kind, int d, int pieces, int rows, bool weighted, int seed)
        {
            var random = new Random(seed);
            int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
            double[] features = LayerCase.Draw(random, rows * d, 1.5);
            var inputs = new double[rows * (d + 1)];
            for (int row = 0; row < rows; row++)
            {
                HjMl.Training.Objective.Augment(features.AsSpan(row * d, d), inputs.AsSpan(row * (d + 1), d + 1));
            }

            double[] targets = Enumerable.Range(0, rows).Select(i => kind switch
            {
                ModelKind.Regression => (3 * random.NextDouble()) - 1.5,
                ModelKind.BinaryClassification => random.Next(2),
                _ => (double)random.Next(heads),
            }).ToArray();
            double[]? weights = weighted ? Enumerable.Range(0, rows).Select(_ => 0.5 + random.NextDouble()).ToArray() : null;
            double[] parameters = LayerCase.Draw(random, (heads * pieces * d) + (heads * pieces), 1);
            return new Case(kind, d, heads, pieces, parameters, inputs, targets, weights);
        }

        public HjMl.Training.Objective Objective(RegressionLoss loss, int threads, bool single, VectorWidth? width = null)
            => new(Kind, Dimension, Heads, Pieces, threads, 0.01, loss, 0.3, learnViscosity: false) { SinglePrecision = single, SinglePrecisionWidth = width };
    }
}
