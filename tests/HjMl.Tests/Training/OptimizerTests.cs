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
