using HjMl.Training.Optimizers;

namespace HjMl.Tests.Training;

/// <summary>The optimisers against an objective they know only through <see cref="IObjectiveFunction"/>.</summary>
public class OptimizerTests
{
    [Fact]
    public void LbfgsFindsTheMinimumOfAnIllConditionedQuadratic()
    {
        var quadratic = new Quadratic();
        var schedule = new Schedule();
        var parameters = new double[Quadratic.Dimension];
        Lbfgs.Minimize(quadratic, schedule, parameters, maximumEpochs: 100, CancellationToken.None);
        for (int i = 0; i < parameters.Length; i++)
        {
            Assert.Equal(Quadratic.Centre[i], parameters[i], 1e-6);
        }

        Assert.True(schedule.Losses.Zip(schedule.Losses.Skip(1)).All(pair => pair.Second <= pair.First), "each accepted step lowers the loss");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void AdamApproachesTheMinimumWithFullOrMiniBatches(int batchSize)
    {
        var quadratic = new Quadratic();
        var schedule = new Schedule();
        var parameters = new double[Quadratic.Dimension];
        Adam.Minimize(quadratic, schedule, parameters, new AdamSettings(MaximumEpochs: 2000, batchSize, LearningRate: 0.05, CosineDecay: true), new Random(1), CancellationToken.None);
        for (int i = 0; i < parameters.Length; i++)
        {
            Assert.Equal(Quadratic.Centre[i], parameters[i], 1e-2);
        }

        Assert.Equal(2000, schedule.Losses.Count);
    }

    [Fact]
    public void ProjectionRunsAfterEveryStepAndEarlyStoppingEndsTheRun()
    {
        var quadratic = new Quadratic { Bound = 0.5 };
        var schedule = new Schedule { StopAfter = 3 };
        var parameters = new double[Quadratic.Dimension];
        Lbfgs.Minimize(quadratic, schedule, parameters, maximumEpochs: 100, CancellationToken.None);
        Assert.Equal(3, schedule.Losses.Count);
        Assert.All(parameters, value => Assert.InRange(value, -0.5, 0.5));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AdamUpdateIsTheScalarFormulaBitForBitOnAnyThreadCount(int threads)
    {
        // 40,003 parameters: three shares and a tail shorter than a vector, updated in parallel and vectorised.
        var objective = new Quartic(40_003, threads);
        var parameters = new double[objective.Length];
        Adam.Minimize(objective, new Schedule(), parameters, new AdamSettings(MaximumEpochs: 5, BatchSize: 0, LearningRate: 0.01, CosineDecay: true), new Random(1), CancellationToken.None);
        Assert.Equal(ScalarAdam(objective, epochs: 5, rate: 0.01), parameters);
    }

    // Adam as Kingma and Ba write it, one parameter at a time, with the cosine schedule Adam.Minimize uses.
    private static double[] ScalarAdam(Quartic objective, int epochs, double rate)
    {
        const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
        var theta = new double[objective.Length];
        var gradient = new double[theta.Length];
        var first = new double[theta.Length];
        var second = new double[theta.Length];
        for (int step = 1; step <= epochs; step++)
        {
            double scheduled = rate * (0.1 + (0.45 * (1 + Math.Cos(Math.PI * (step - 1) / (epochs - 1)))));
            objective.Evaluate(theta, 1, gradient);
            double scale = -scheduled / (1 - Math.Pow(beta1, step));
            double correction2 = 1 - Math.Pow(beta2, step);
            for (int i = 0; i < theta.Length; i++)
            {
                double g = gradient[i];
                first[i] = (g * (1 - beta1)) + (first[i] * beta1);
                second[i] = ((g * g) * (1 - beta2)) + (second[i] * beta2);
                theta[i] = ((first[i] / (Math.Sqrt(second[i] / correction2) + epsilon)) * scale) + theta[i];
            }
        }

        return theta;
    }

    // L(theta) = sum_i (theta_i - c_i)^4 / 4 with c_i = sin(i): many parameters, one row, gradients of every magnitude.
    private sealed class Quartic(int length, int threads) : IObjectiveFunction
    {
        public int Length => length;

        public int Rows => 1;

        public int Threads => threads;

        public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, Span<double> gradient)
        {
            double loss = 0;
            for (int i = 0; i < length; i++)
            {
                double residual = parameters[i] - Math.Sin(i);
                loss += residual * residual * residual * residual / 4;
                gradient[i] = residual * residual * residual;
            }

            return loss;
        }

        public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, ReadOnlySpan<int> rows, Span<double> gradient) => Evaluate(parameters, viscosity, gradient);

        public double ViscosityOf(ReadOnlySpan<double> parameters, double scheduled) => scheduled;

        public void Project(Span<double> parameters)
        {
        }
    }

    // L(theta) = mean over rows i of (a_i / 2) (theta_i - c_i)^2: one row per coordinate, condition number 100.
    private sealed class Quadratic : IObjectiveFunction
    {
        public const int Dimension = 4;

        public static readonly double[] Centre = [1, -2, 0.5, 3];

        private static readonly double[] Curvature = [1, 10, 0.1, 5];

        public double Bound { get; init; } = double.PositiveInfinity;

        public int Rows => Dimension;

        public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, Span<double> gradient)
        {
            int[] all = Enumerable.Range(0, Dimension).ToArray();
            return Evaluate(parameters, viscosity, all, gradient);
        }

        public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, ReadOnlySpan<int> rows, Span<double> gradient)
        {
            gradient.Clear();
            double loss = 0;
            foreach (int i in rows)
            {
                double residual = parameters[i] - Centre[i];
                loss += 0.5 * Curvature[i] * residual * residual;
                gradient[i] = Curvature[i] * residual / rows.Length;
            }

            return loss / rows.Length;
        }

        public double ViscosityOf(ReadOnlySpan<double> parameters, double scheduled) => scheduled;

        public void Project(Span<double> parameters)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i] = Math.Clamp(parameters[i], -Bound, Bound);
            }
        }
    }

    private sealed class Schedule : IEpochSchedule
    {
        public List<double> Losses { get; } = [];

        public int StopAfter { get; init; } = int.MaxValue;

        public double ViscosityAt(int epoch) => 1;

        public bool EndEpoch(int epoch, double trainingLoss)
        {
            Losses.Add(trainingLoss);
            return Losses.Count >= StopAfter;
        }
    }
}
