using HjMl.Numerics;
using HjMl.Relaxation;

namespace HjMl.Tests.Relaxation;

public class RelaxationGradientTests
{
    public static TheoryData<RelaxationMixing, RelaxationActivation, RelaxationReadout, bool, int> Cases => new()
    {
        { RelaxationMixing.HomogeneousAdr, RelaxationActivation.Identity, RelaxationReadout.State, false, 1 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Softplus, RelaxationReadout.Softmax, true, 1 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Tanh, RelaxationReadout.Linear, false, 2 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Logistic, RelaxationReadout.Softmax, true, 4 },
        { RelaxationMixing.Dense, RelaxationActivation.Softplus, RelaxationReadout.Softmax, true, 1 },
        { RelaxationMixing.Dense, RelaxationActivation.Tanh, RelaxationReadout.State, false, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AdjointGradientEqualsFiniteDifferences(RelaxationMixing mixing, RelaxationActivation activation, RelaxationReadout readout, bool learnOmega, int height)
    {
        // Central differences in double on every moment (or weight), the read-out and log omega.
        var random = new Random(11);
        const int n = 12, rows = 150;
        GridShape grid = height == 1 ? GridShape.Line(n) : new GridShape(height, n / height);
        var shape = new RelaxationShape(n, 3, mixing, grid, 1, readout, 3);
        double[] inputs = Enumerable.Range(0, rows * n).Select(_ => (2 * random.NextDouble()) - 1).ToArray();
        double[] targets = readout switch
        {
            RelaxationReadout.Softmax => Enumerable.Range(0, rows).Select(_ => (double)random.Next(3)).ToArray(),
            RelaxationReadout.Linear => Enumerable.Range(0, rows * 3).Select(_ => random.NextDouble()).ToArray(),
            _ => Enumerable.Range(0, rows * n).Select(_ => random.NextDouble() - 0.5).ToArray(),
        };
        var objective = new RelaxationObjective(shape, activation, 0.7, 1.3, learnOmega, inputs, targets, rows, threads: 2);
        double[] theta = Enumerable.Range(0, objective.ParameterCount).Select(_ => 0.4 * ((2 * random.NextDouble()) - 1)).ToArray();
        var gradient = new double[theta.Length];
        objective.Evaluate(theta, 1.0, gradient);
        const double h = 1e-5;
        var scratch = new double[theta.Length];
        for (int i = 0; i < theta.Length; i += Math.Max(1, theta.Length / 60))
        {
            double keep = theta[i];
            theta[i] = keep + h;
            double up = objective.Evaluate(theta, 1.0, scratch);
            theta[i] = keep - h;
            double down = objective.Evaluate(theta, 1.0, scratch);
            theta[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"parameter {i}: adjoint {gradient[i]}, finite difference {numeric}");
        }

        if (learnOmega)
        {
            Assert.NotEqual(0.0, gradient[^1]);
        }
    }

    [Fact]
    public void SoftplusIsTheTwoPieceLogSumExp()
    {
        // eps log(1 + e^(a/eps)) = LSE_eps(0, a), the Hopf–Cole layer with two pieces (sections 1 and 2).
        var work = new double[2];
        foreach (double eps in new[] { 1e-3, 0.1, 1.0, 30.0 })
        {
            foreach (double a in new[] { -800.0, -3.0, 0.0, 1e-9, 2.5, 700.0 })
            {
                double expected = LogSumExp.Evaluate<double>([0.0, a], eps, work);
                Assert.Equal(expected, ActivationFunction.Softplus(a, eps), 1e-12 * Math.Max(1, Math.Abs(expected)));
            }
        }
    }

    [Fact]
    public void ARelaxationStepIsTheResidualEulerStepWithStepOmega()
    {
        // z_1 = (1 - omega) z_0 + omega sigma(W z_0 - b) = z_0 + h v(z_0), h = omega, v = sigma(W z - b) - z (section 9).
        var random = new Random(2);
        const int n = 5;
        var shape = new RelaxationShape(n, 1, RelaxationMixing.Dense, null, 1, RelaxationReadout.State, 0);
        double[] parameters = Enumerable.Range(0, shape.ParameterCount).Select(_ => random.NextDouble() - 0.5).ToArray();
        double[] z = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        foreach (double omega in new[] { 0.5, 1.0, 1.5 })
        {
            var network = new RelaxationNetwork(shape, RelaxationActivation.Tanh, 1.0, omega, parameters);
            var terminal = new double[n];
            network.Transport(z, terminal);
            for (int i = 0; i < n; i++)
            {
                double argument = -parameters[(n * n) + i];
                for (int j = 0; j < n; j++)
                {
                    argument += parameters[(i * n) + j] * z[j];
                }

                Assert.Equal(z[i] + (omega * (Math.Tanh(argument) - z[i])), terminal[i], 14);
            }
        }
    }

    [Fact]
    public void StepsThatDivergeAreReportedNotReturnedAsInfinity()
    {
        // Linear steps with M0 = 1e10 grow a state by 1e10 a step: 40 steps leave the doubles; the network says so.
        var shape = new RelaxationShape(4, 40, RelaxationMixing.HomogeneousAdr, null, 1, RelaxationReadout.State, 0);
        double[] parameters = Enumerable.Range(0, shape.ParameterCount).Select(i => i % 3 == 0 ? 1e10 : 0.0).ToArray();
        var network = new RelaxationNetwork(shape, RelaxationActivation.Identity, 1.0, 1.0, parameters);
        var problem = Assert.Throws<InvalidOperationException>(() => network.Transport([1, 1, 1, 1], new double[4]));
        Assert.Contains("diverge", problem.Message);
        var batch = Assert.Throws<InvalidOperationException>(() => network.PredictBatch([0, 0, 0, 0, 1, 1, 1, 1], new double[8]));
        Assert.Contains("Row 2", batch.Message);
    }
}
