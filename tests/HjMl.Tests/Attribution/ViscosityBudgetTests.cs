using HjMl.Attribution;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Tests.Attribution;

public class ViscosityBudgetTests(ExplainerFixture models) : IClassFixture<ExplainerFixture>
{
    [Fact]
    public void EntropyAndCertifiedRadiusGrowWithViscosityWhileSharpModelsDiscriminate()
    {
        (HopfColeModel model, _, var test) = models.BreastCancer;
        IReadOnlyList<BudgetPoint> points = ViscosityBudget.Sweep(model, test, ViscosityBudget.Range(0.05, 50, 7));
        Assert.Equal(7, points.Count);
        Assert.True(points.Zip(points.Skip(1)).All(pair => pair.Second.MeanEntropy >= pair.First.MeanEntropy - 1e-12), "entropy never falls as eps grows (dH/deps >= 0)");
        Assert.True(points.Zip(points.Skip(1)).All(pair => pair.Second.MeanRadius > pair.First.MeanRadius), "the certified radius grows with eps");
        Assert.True(points[0].Metric >= points[^1].Metric, "the sharpest model discriminates at least as well as the smoothest");
        Assert.All(points, point => Assert.InRange(point.OutOfSupportFraction, 0, 1));
    }

    [Fact]
    public void RetrainingAtEachViscosityGivesFreshModels()
    {
        (HopfColeModel model, var train, var test) = models.Diabetes;
        var options = new HopfColeTrainerOptions { Kind = ModelKind.Regression, NumberOfSupportPoints = 8, MaximumEpochs = 20 };
        IReadOnlyList<BudgetPoint> points = ViscosityBudget.Sweep(model, test, [0.5, 2], retrain: eps => new HopfColeTrainer(options with { Viscosity = eps, ViscosityMode = ViscosityMode.Fixed }).Fit(train));
        Assert.All(points, point => Assert.True(point.Retrained));
        Assert.All(points, point => Assert.True(point.Metric > 0, $"R² {point.Metric} at eps {point.Viscosity}"));
    }

    [Fact]
    public void EmptyOrInvalidRangesAreRejected()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ViscosityBudget.Range(0, 1, 5)).Message);
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => ViscosityBudget.Range(0.1, 1, 0)).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ViscosityBudget.Sweep(models.BreastCancer.Model, models.BreastCancer.Test, [])).Message);
    }
}
