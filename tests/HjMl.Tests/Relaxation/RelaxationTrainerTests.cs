using HjMl.Relaxation;

namespace HjMl.Tests.Relaxation;

public class RelaxationTrainerTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void ARelaxationFactorThatIsNotPositiveIsRefusedNamingTheOption(double omega)
    {
        var problem = Assert.Throws<ArgumentException>(() => new RelaxationTrainer(new RelaxationTrainerOptions { RelaxationFactor = omega }));
        Assert.Contains("Option RelaxationFactor", problem.Message);
        Assert.Equal("RelaxationFactor", problem.ParamName);
    }

    [Fact]
    public void AGridThatDoesNotMatchTheVectorLengthIsRefusedNamingTheOption()
    {
        var trainer = new RelaxationTrainer(new RelaxationTrainerOptions { Grid = new GridShape(3, 4), Readout = RelaxationReadout.Softmax, Epochs = 1 });
        var problem = Assert.Throws<ArgumentException>(() => trainer.Fit(new double[2 * 10], 10, [0, 1]));
        Assert.Contains("Option Grid is 3 x 4 = 12 sites but the feature vector has 10 values", problem.Message);
    }

    [Theory]
    [InlineData(new[] { "pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1" }, true)]
    [InlineData(new[] { "x1", "x2", "x3", "x4" }, true)]
    [InlineData(new[] { "", "", "", "" }, true)]
    [InlineData(new[] { "pixel_0_0", "pixel_1_0", "pixel_0_1", "pixel_1_1" }, false)]
    [InlineData(new[] { "age", "income", "height", "weight" }, false)]
    [InlineData(new[] { "x1", "y2", "x3", "y4" }, false)]
    public void ATwoDimensionalGridNeedsFeaturesInLatticeOrder(string[] names, bool ordered)
    {
        var grid = new GridShape(2, 2);
        if (ordered)
        {
            grid.RequireOrdered(names, "Grid", "the features");
            GridShape.Line(4).RequireOrdered(["age", "income", "height", "weight"], "Grid", "the features");
        }
        else
        {
            var problem = Assert.Throws<ArgumentException>(() => grid.RequireOrdered(names, "Grid", "the features"));
            Assert.Contains("Option Grid asks for a 2 x 2 grid on the features, but its values are named columns with no lattice order", problem.Message);
        }
    }

    [Fact]
    public void AClassOutsideTheDeclaredOutputsIsRefusedNamingTheRow()
    {
        var trainer = new RelaxationTrainer(new RelaxationTrainerOptions { Outputs = 2, Epochs = 1 });
        var problem = Assert.Throws<ArgumentException>(() => trainer.Fit(new double[3 * 4], 4, [0, 1, 2]));
        Assert.Contains("Row 3's class is 2", problem.Message);
    }

    [Fact]
    public void FitIsDeterministicForASeedAndLowersTheLoss()
    {
        var random = new Random(4);
        const int n = 16, rows = 300;
        double[] inputs = Enumerable.Range(0, rows * n).Select(_ => random.NextDouble()).ToArray();
        double[] labels = Enumerable.Range(0, rows).Select(r => inputs[(r * n) + 3] > 0.5 ? 1.0 : 0.0).ToArray();
        var options = new RelaxationTrainerOptions { Mixing = RelaxationMixing.HeterogeneousAdr, Epochs = 20, LearningRate = 0.05, Seed = 9, LearnRelaxationFactor = true, Threads = 2 };
        RelaxationFit first = new RelaxationTrainer(options).Fit(inputs, n, labels);
        RelaxationFit second = new RelaxationTrainer(options).Fit(inputs, n, labels);
        Assert.Equal(first.Network.Parameters.ToArray(), second.Network.Parameters.ToArray());
        Assert.Equal(first.Network.RelaxationFactor, second.Network.RelaxationFactor);
        Assert.True(first.Epochs[^1].Loss < 0.8 * first.Epochs[0].Loss, $"loss {first.Epochs[0].Loss} -> {first.Epochs[^1].Loss}");
        Assert.False(first.Diverged);
    }

    [Fact]
    public void ConstantAndSpaceVaryingCoefficientsAreRecoveredWithinTheBars()
    {
        // The paper's recovery experiment on one seed: 5% for constant, 15% (L2) for space-varying U, D, R.
        IReadOnlyList<RecoveryRow> rows = RecoveryExperiment.Run(new RecoverySettings { Seeds = [7] });
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.True(row.Passed, $"{row.Case}: U {row.AdvectionError}, D {row.DiffusionError}, R {row.ReactionError}"));
    }

    [Fact]
    public void CumulantReadingInvertsTheExactKernelOfConstantDynamics()
    {
        // A kernel with log M0 = R dt, mean -U dt and variance 2 D dt reads back as (U, D, R) exactly.
        const double u = 0.7, d = 0.3, r = -0.2, dt = 0.25;
        double m0 = Math.Exp(r * dt);
        double mean = -u * dt;
        AdrCoefficients read = AdrCoefficients.FromStepMoments(m0, m0 * mean, m0 * ((2 * d * dt) + (mean * mean)), dt);
        Assert.Equal(u, read.Advection, 14);
        Assert.Equal(d, read.Diffusion, 14);
        Assert.Equal(r, read.Reaction, 14);
        Assert.Throws<ArgumentException>(() => AdrCoefficients.FromStepMoments(-0.1, 0, 0, dt));
    }
}
