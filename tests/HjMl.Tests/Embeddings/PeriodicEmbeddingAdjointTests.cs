using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Tests.Flows;
using HjMl.Training;

namespace HjMl.Tests.Embeddings;

public class PeriodicEmbeddingAdjointTests
{
    public static TheoryData<ModelKind, int> Cases => new()
    {
        { ModelKind.MulticlassClassification, 0 },
        { ModelKind.MulticlassClassification, 2 },
        { ModelKind.BinaryClassification, 0 },
        { ModelKind.BinaryClassification, 2 },
        { ModelKind.Regression, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingGradientThroughAnEmbeddedFlowEqualsCentralDifferences(ModelKind kind, int steps)
    {
        // Every parameter of the training objective (read-out, steps, and the embedding's frequencies, L and b): the
        // adjoint through z_0 = [x_1, max(0, L_f [sin, cos](2 pi c_f x_f) + b_f)] must be the discrete loss's exact gradient.
        var random = new Random(11);
        const int d = 3, rows = 150;
        int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
        FlowShape shape = Shape(d, steps);
        (double[] inputs, double[] targets, double[] weights) = FlowAdjointTests.Problem(random, kind, d, rows, heads);
        var readout = new Objective(kind, shape.Width, heads, 3, 2, 1e-3, RegressionLoss.Squared, 1, false);
        var objective = new FlowObjective(readout, shape, horizon: 1.5, flowViscosity: 0.7, threads: 2, regularisation: 1e-3);
        double[] parameters = [.. Enumerable.Range(0, objective.ParameterCount(false)).Select(_ => 0.6 * ((2 * random.NextDouble()) - 1))];
        var gradient = new double[parameters.Length];
        objective.Evaluate(parameters, 0.4, inputs, targets, weights, rows, gradient, out _);

        double worst = 0;
        int moved = 0;
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
            bool embedding = i >= objective.ReadoutLength && i < objective.ReadoutLength + shape.LiftLength;
            moved += embedding && Math.Abs(numeric) > 1e-6 ? 1 : 0;
        }

        Assert.True(worst <= 1e-6, $"the largest relative gap between the adjoint gradient and central differences is {worst:E2}");
        Assert.True(moved >= shape.LiftLength / 2, $"only {moved} of the embedding's {shape.LiftLength} parameters move the loss");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void InputGradientThroughAnEmbeddedFlowEqualsCentralDifferences(int steps)
    {
        // F(x) = c . z_L(x) row by row in a batch: passed-through features by the identity, embedded ones by
        // dx_f = 2 pi sum_k c_fk (r_k cos a_k - r_(K+k) sin a_k).
        var random = new Random(12);
        const int d = 3, rows = 8;
        FlowShape shape = Shape(d, steps);
        double[] parameters = [.. Enumerable.Range(0, shape.ParameterCount).Select(_ => 0.8 * ((2 * random.NextDouble()) - 1))];
        var flow = new GibbsFlow(shape, horizon: 1.2, viscosity: 0.6, parameters);
        int m = flow.Width;
        double[] weights = [.. Enumerable.Range(0, m).Select(_ => (2 * random.NextDouble()) - 1)];
        double[] points = [.. Enumerable.Range(0, rows * d).Select(_ => 1.5 * ((2 * random.NextDouble()) - 1))];
        var adjoint = new FlowInputGradient(flow, rows);
        points.CopyTo(adjoint.Inputs);
        adjoint.Forward(rows);
        for (int row = 0; row < rows; row++)
        {
            weights.CopyTo(adjoint.Costate(row));
        }

        var gradients = new double[rows * d];
        adjoint.Backward(gradients);
        var terminal = new double[m];
        double F(double[] x)
        {
            flow.Transport(x, terminal);
            return weights.Zip(terminal, (a, b) => a * b).Sum();
        }

        double worst = 0;
        for (int row = 0; row < rows; row++)
        {
            for (int k = 0; k < d; k++)
            {
                const double step = 1e-6;
                double[] up = points[(row * d)..((row + 1) * d)], down = [.. up];
                up[k] += step;
                down[k] -= step;
                double numeric = (F(up) - F(down)) / (2 * step);
                worst = Math.Max(worst, Math.Abs(numeric - gradients[(row * d) + k]) / Math.Max(1e-3, Math.Abs(numeric)));
            }
        }

        Assert.True(worst <= 1e-6, $"the largest relative gap between the adjoint's input gradient and central differences is {worst:E2}");
    }

    // Features 0 and 2 embedded (K = 3, e = 4), feature 1 passed through: width 1 + 2 x 4.
    internal static FlowShape Shape(int d, int steps)
    {
        var embedding = new EmbeddingShape(d, [0, 2], frequencies: 3, width: 4);
        return new FlowShape(d, embedding.OutputWidth, steps, 4, false, false) { Embedding = embedding };
    }
}
