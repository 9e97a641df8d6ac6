using HjMl.Flows;

namespace HjMl.Tests.Flows;

public class FlowInputGradientTests
{
    public static TheoryData<bool, bool> Shapes => new()
    {
        { false, false },
        { false, true },
        { true, false },
        { true, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void InputGradientOfATerminalFunctionEqualsCentralDifferences(bool lifted, bool shared)
    {
        // F(x) = c . z_L(x): the adjoint from p_L = c, then the lift's transpose, must be the exact gradient of the
        // discrete flow, row by row within a batch.
        var random = new Random(9);
        const int d = 3, rows = 5;
        GibbsFlow flow = RandomFlow(random, d, lifted ? 6 : d, shared);
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
                const double step = 1e-5;
                double[] up = points[(row * d)..((row + 1) * d)], down = [.. up];
                up[k] += step;
                down[k] -= step;
                double numeric = (F(up) - F(down)) / (2 * step);
                worst = Math.Max(worst, Math.Abs(numeric - gradients[(row * d) + k]) / Math.Max(1, Math.Abs(numeric)));
            }
        }

        Assert.True(worst <= 1e-8, $"the largest gap between the adjoint's input gradient and central differences is {worst:E2}");
    }

    [Fact]
    public void TerminalStatesOfTheBatchAreTheFlowsTransportAndASecondCostateReusesThem()
    {
        var random = new Random(4);
        GibbsFlow flow = RandomFlow(random, 4, 7, shared: false);
        var adjoint = new FlowInputGradient(flow, 3);
        double[] points = [.. Enumerable.Range(0, 12).Select(_ => (2 * random.NextDouble()) - 1)];
        points.CopyTo(adjoint.Inputs);
        adjoint.Forward(3);
        var single = new double[7];
        for (int row = 0; row < 3; row++)
        {
            flow.Transport(points.AsSpan(row * 4, 4), single);
            for (int i = 0; i < 7; i++)
            {
                Assert.Equal(single[i], adjoint.Terminal(row)[i], 1e-12);
            }
        }

        double[] Gradient(int coordinate)
        {
            for (int row = 0; row < 3; row++)
            {
                adjoint.Costate(row).Clear();
                adjoint.Costate(row)[coordinate] = 1;
            }

            var gradients = new double[12];
            adjoint.Backward(gradients);
            return gradients;
        }

        double[] first = Gradient(2);
        Gradient(5);
        Assert.Equal(first, Gradient(2));
    }

    private static GibbsFlow RandomFlow(Random random, int d, int m, bool shared)
    {
        var shape = new FlowShape(d, m, Steps: 3, Pieces: 4, Lifted: m != d, SharedControls: shared);
        double[] parameters = [.. Enumerable.Range(0, shape.ParameterCount).Select(_ => 0.8 * ((2 * random.NextDouble()) - 1))];
        return new GibbsFlow(shape, horizon: 1.2, viscosity: 0.6, parameters);
    }
}
