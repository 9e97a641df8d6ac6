using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class ObjectiveGradientTests
{
    [Theory]
    [InlineData(ModelKind.Regression, RegressionLoss.Squared, 1)]
    [InlineData(ModelKind.Regression, RegressionLoss.Huber, 3)]
    [InlineData(ModelKind.BinaryClassification, RegressionLoss.Squared, 2)]
    [InlineData(ModelKind.MulticlassClassification, RegressionLoss.Squared, 4)]
    public void FusedGradientMatchesFiniteDifferences(ModelKind kind, RegressionLoss loss, int d)
    {
        var random = new Random(17);
        int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
        const int pieces = 5;
        const int rows = 150;
        foreach (int threads in new[] { 1, 2 })
        {
            var objective = new Objective(kind, d, heads, pieces, threads, 0.01, loss, 0.3, learnViscosity: true);
            double[] parameters = LayerCase.Draw(random, objective.ParameterCount(false), 1);
            double[] features = LayerCase.Draw(random, rows * d, 1.5);
            double[] inputs = new double[rows * (d + 1)];
            for (int row = 0; row < rows; row++)
            {
                Objective.Augment(features.AsSpan(row * d, d), inputs.AsSpan(row * (d + 1), d + 1));
            }

            double[] targets = Enumerable.Range(0, rows).Select(i => kind switch
            {
                ModelKind.Regression => (3 * random.NextDouble()) - 1.5,
                ModelKind.BinaryClassification => random.Next(2),
                _ => (double)random.Next(heads),
            }).ToArray();
            double[] weights = Enumerable.Range(0, rows).Select(_ => 0.5 + random.NextDouble()).ToArray();
            const double eps = 0.7;
            var gradient = new double[parameters.Length];
            objective.Evaluate(parameters, eps, inputs, targets, weights, rows, gradient, out double viscosityGradient);
            const double step = 1e-6;
            for (int i = 0; i < parameters.Length; i++)
            {
                double saved = parameters[i];
                parameters[i] = saved + step;
                double plus = objective.Evaluate(parameters, eps, inputs, targets, weights, rows, default, out _);
                parameters[i] = saved - step;
                double minus = objective.Evaluate(parameters, eps, inputs, targets, weights, rows, default, out _);
                parameters[i] = saved;
                double numeric = (plus - minus) / (2 * step);
                Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"parameter {i} of {parameters.Length}: analytic {gradient[i]}, numeric {numeric}");
            }

            double lossPlus = objective.Evaluate(parameters, eps * Math.Exp(step), inputs, targets, weights, rows, default, out _);
            double lossMinus = objective.Evaluate(parameters, eps * Math.Exp(-step), inputs, targets, weights, rows, default, out _);
            double numericViscosity = (lossPlus - lossMinus) / (2 * step);
            Assert.True(Math.Abs(numericViscosity - viscosityGradient) <= 1e-6 * Math.Max(1, Math.Abs(numericViscosity)), $"d/dlog eps: analytic {viscosityGradient}, numeric {numericViscosity}");
        }
    }
}
