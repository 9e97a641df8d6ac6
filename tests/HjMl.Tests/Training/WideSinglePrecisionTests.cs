using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

/// <summary>The float32 path through matrix products for d &gt; 16 (Objective.Wide.cs) against the double path it replaces for Adam.</summary>
public class WideSinglePrecisionTests
{
    [Theory]
    [InlineData(ModelKind.Regression, RegressionLoss.Huber, 17, 9, 300)]
    [InlineData(ModelKind.BinaryClassification, RegressionLoss.Squared, 40, 32, 1000)]
    [InlineData(ModelKind.MulticlassClassification, RegressionLoss.Squared, 100, 12, 2100)]
    public void WideLossAndGradientMatchDouble(ModelKind kind, RegressionLoss loss, int d, int pieces, int rows)
    {
        // 2100 rows span three blocks of 1024, whose gradients add up in double.
        foreach (double eps in new[] { 0.05, 0.7, 4.0 })
        {
            Case problem = Case.Draw(kind, d, pieces, rows, weighted: kind != ModelKind.Regression, seed: d + pieces);
            var expected = new double[problem.Parameters.Length];
            var actual = new double[problem.Parameters.Length];
            double expectedLoss = problem.Objective(loss, threads: 2, single: false).Evaluate(problem.Parameters, eps, problem.Inputs, problem.Targets, problem.Weights, rows, expected, out _);
            double actualLoss = problem.Objective(loss, threads: 2, single: true).Evaluate(problem.Parameters, eps, problem.Inputs, problem.Targets, problem.Weights, rows, actual, out _);

            // float32 logits carry about 1e-7 |z / eps| (and d products' rounding) into each score, so the bound scales with 1 / eps.
            double tolerance = 5e-5 * Math.Max(1, 1 / eps);
            Assert.True(Math.Abs(actualLoss - expectedLoss) <= tolerance * Math.Max(1, Math.Abs(expectedLoss)), $"eps {eps}: loss {actualLoss} against {expectedLoss}");
            double scale = expected.Max(Math.Abs);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * Math.Max(1e-3, scale), $"eps {eps}: gradient[{i}] {actual[i]} against {expected[i]} (largest {scale})");
            }
        }
    }

    [Fact]
    public void WideResultDoesNotDependOnTheThreadCount()
    {
        // Tiles are fixed by the shapes alone, so one, two or three threads (kernel workers or Parallel.For) give the same bits.
        Case problem = Case.Draw(ModelKind.MulticlassClassification, 50, 20, 1500, weighted: true, seed: 2);
        double[]? firstGradient = null;
        double firstLoss = 0;
        foreach (int threads in new[] { 1, 2, 3, Environment.ProcessorCount })
        {
            var gradient = new double[problem.Parameters.Length];
            double loss = problem.Objective(RegressionLoss.Squared, threads, single: true).Evaluate(problem.Parameters, 0.3, problem.Inputs, problem.Targets, problem.Weights, 1500, gradient, out _);
            if (firstGradient is null)
            {
                (firstGradient, firstLoss) = (gradient, loss);
                continue;
            }

            Assert.Equal(firstLoss, loss);
            Assert.Equal(firstGradient, gradient);
        }
    }

    [Fact]
    public void ReadingRowsInPlaceEqualsGatheringThemFirst()
    {
        Case problem = Case.Draw(ModelKind.BinaryClassification, 30, 16, 600, weighted: true, seed: 4);
        int stride = problem.Dimension + 1;
        int[] rows = Enumerable.Range(0, 600).Where(i => i % 3 != 1).Reverse().Take(150).ToArray();
        var inputs = new double[rows.Length * stride];
        for (int i = 0; i < rows.Length; i++)
        {
            problem.Inputs.AsSpan(rows[i] * stride, stride).CopyTo(inputs.AsSpan(i * stride));
        }

        double[] targets = rows.Select(i => problem.Targets[i]).ToArray();
        double[] weights = rows.Select(i => problem.Weights![i]).ToArray();
        HjMl.Training.Objective objective = problem.Objective(RegressionLoss.Squared, 2, single: true);
        Assert.True(objective.ReadsRowsInPlace);
        var gathered = new double[problem.Parameters.Length];
        var inPlace = new double[problem.Parameters.Length];
        double expected = objective.Evaluate(problem.Parameters, 0.5, inputs, targets, weights, rows.Length, gathered, out _);
        double actual = objective.EvaluateRows(problem.Parameters, 0.5, problem.Inputs, problem.Targets, problem.Weights, rows, inPlace);
        Assert.Equal(expected, actual);
        Assert.Equal(gathered, inPlace);
    }

    [Fact]
    public void WideStaysFiniteAndExactAtTinyEps()
    {
        // At eps = 1e-3 nearly every exponential underflows: exact zeros, no NaN, and the loss of the winning pieces.
        Case problem = Case.Draw(ModelKind.MulticlassClassification, 20, 24, 400, weighted: false, seed: 6);
        var expected = new double[problem.Parameters.Length];
        var actual = new double[problem.Parameters.Length];
        double expectedLoss = problem.Objective(RegressionLoss.Squared, 2, single: false).Evaluate(problem.Parameters, 1e-3, problem.Inputs, problem.Targets, null, 400, expected, out _);
        double actualLoss = problem.Objective(RegressionLoss.Squared, 2, single: true).Evaluate(problem.Parameters, 1e-3, problem.Inputs, problem.Targets, null, 400, actual, out _);
        Assert.True(double.IsFinite(actualLoss) && actual.All(double.IsFinite));
        Assert.True(Math.Abs(actualLoss - expectedLoss) <= 1e-3 * Math.Max(1, expectedLoss), $"loss {actualLoss} against {expectedLoss}");
    }

    [Fact]
    public void AdamOnWideInputsGivesTheSameModelOnOneOrEveryCore()
    {
        // Mini-batch Adam on d = 24 takes the wide path: tiles and the update's shares do not depend on the threads.
        var random = new Random(8);
        int rows = 700, d = 24;
        var features = new double[rows * d];
        var labels = new double[rows];
        for (int row = 0; row < rows; row++)
        {
            for (int k = 0; k < d; k++)
            {
                features[(row * d) + k] = random.NextDouble();
            }

            labels[row] = features[row * d] + features[(row * d) + 1] > 1 ? 1 : (features[(row * d) + 2] > 0.5 ? 2 : 0);
        }

        var data = new HjMl.Data.Dataset(features, labels, Enumerable.Range(0, d).Select(k => $"x{k}").ToArray());
        var options = new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, Optimizer = Optimizer.Adam, NumberOfSupportPoints = 8, MaximumEpochs = 4, BatchSize = 64, EnsembleMembers = 1, Seed = 3 };
        HopfColeModel one = new HopfColeTrainer(options with { MaximumDegreeOfParallelism = 1 }).Fit(data);
        HopfColeModel every = new HopfColeTrainer(options with { MaximumDegreeOfParallelism = 0 }).Fit(data);
        Assert.Equal(one.Layer.Weights.ToArray(), every.Layer.Weights.ToArray());
        Assert.Equal(one.Layer.Biases.ToArray(), every.Layer.Biases.ToArray());
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

            // Weights scaled by 1 / sqrt(d) keep the logits, hence the float32 rounding of each, as large at d = 100 as at d = 2.
            double[] parameters = LayerCase.Draw(random, (heads * pieces * d) + (heads * pieces), 1);
            for (int i = 0; i < heads * pieces * d; i++)
            {
                parameters[i] /= Math.Sqrt(d);
            }

            return new Case(kind, d, heads, pieces, parameters, inputs, targets, weights);
        }

        public HjMl.Training.Objective Objective(RegressionLoss loss, int threads, bool single)
            => new(Kind, Dimension, Heads, Pieces, threads, 0.01, loss, 0.3, learnViscosity: false) { SinglePrecision = single };
    }
}
