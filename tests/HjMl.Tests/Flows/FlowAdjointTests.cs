using HjMl.Flows;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Tests.Flows;

public class FlowAdjointTests
{
    public static TheoryData<ModelKind, bool, bool> Cases => new()
    {
        { ModelKind.MulticlassClassification, true, false },
        { ModelKind.MulticlassClassification, false, true },
        { ModelKind.BinaryClassification, true, true },
        { ModelKind.Regression, false, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AdjointGradientEqualsFiniteDifferences(ModelKind kind, bool lifted, bool shared)
    {
        // Central differences in double: the discrete adjoint must be the exact gradient of the discrete flow's loss.
        var random = new Random(5);
        const int d = 3, rows = 150, pieces = 3, flowPieces = 4, steps = 3;
        int m = lifted ? 5 : d;
        int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
        var shape = new FlowShape(d, m, steps, flowPieces, lifted, shared);
        (double[] inputs, double[] targets, double[] weights) = Problem(random, kind, d, rows, heads);
        var readout = new Objective(kind, m, heads, pieces, 2, 1e-3, RegressionLoss.Squared, 1, false);
        var objective = new FlowObjective(readout, shape, horizon: 1.5, flowViscosity: 0.7, threads: 2, regularisation: 1e-3);
        double[] parameters = Enumerable.Range(0, objective.ParameterCount(false)).Select(_ => 0.6 * ((2 * random.NextDouble()) - 1)).ToArray();
        var gradient = new double[parameters.Length];
        objective.Evaluate(parameters, 0.4, inputs, targets, weights, rows, gradient, out _);

        double worst = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            double saved = parameters[i];
            const double step = 1e-5;
            parameters[i] = saved + step;
            double up = objective.Evaluate(parameters, 0.4, inputs, targets, weights, rows, default, out _);
            parameters[i] = saved - step;
            double down = objective.Evaluate(parameters, 0.4, inputs, targets, weights, rows, default, out _);
            parameters[i] = saved;
            double numeric = (up - down) / (2 * step);
            worst = Math.Max(worst, Math.Abs(numeric - gradient[i]) / Math.Max(1e-3, Math.Abs(numeric)));
        }

        Assert.True(worst <= 1e-6, $"the largest relative gap between the adjoint gradient and central differences is {worst:E2}");
    }

    [Fact]
    public void GradientIsTheSameForEveryThreadCountUpToRoundingAndBitIdenticalForOne()
    {
        var random = new Random(8);
        const int d = 4, rows = 600;
        var shape = new FlowShape(d, 6, 2, 5, true, false);
        (double[] inputs, double[] targets, double[] weights) = Problem(random, ModelKind.MulticlassClassification, d, rows, 3);
        double[] Gradient(int threads)
        {
            var readout = new Objective(ModelKind.MulticlassClassification, 6, 3, 4, threads, 0, RegressionLoss.Squared, 1, false);
            var objective = new FlowObjective(readout, shape, 1, 1, threads, 0);
            var parameters = Enumerable.Range(0, objective.ParameterCount(false)).Select(i => Math.Sin(i)).ToArray();
            var gradient = new double[parameters.Length];
            objective.Evaluate(parameters, 0.5, inputs, targets, weights, rows, gradient, out _);
            return gradient;
        }

        Assert.Equal(Gradient(2), Gradient(2));
        double[] one = Gradient(1), two = Gradient(2);
        for (int i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i], 1e-10);
        }
    }

    internal static (double[] Inputs, double[] Targets, double[] Weights) Problem(Random random, ModelKind kind, int d, int rows, int heads)
    {
        var inputs = new double[rows * (d + 1)];
        var targets = new double[rows];
        var weights = new double[rows];
        for (int row = 0; row < rows; row++)
        {
            double sum = 0;
            for (int k = 0; k < d; k++)
            {
                double value = (2 * random.NextDouble()) - 1;
                inputs[(row * (d + 1)) + k] = value;
                sum += value * (k + 1);
            }

            inputs[(row * (d + 1)) + d] = 1;
            targets[row] = kind switch
            {
                ModelKind.Regression => Math.Sin(sum),
                ModelKind.BinaryClassification => sum > 0 ? 1 : 0,
                _ => Math.Abs((int)Math.Floor(sum * 2)) % heads,
            };
            weights[row] = 0.5 + random.NextDouble();
        }

        return (inputs, targets, weights);
    }
}
