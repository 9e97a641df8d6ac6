using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class SettingsSearchTests
{
    [Fact]
    public void SearchTriesEverySettingWithinBudgetAndPicksAmongTheBest()
    {
        var template = new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, Seed = 4 };
        var (trials, best) = SettingsSearch.Run(TestData.Load("iris.csv"), template, TimeSpan.FromMinutes(5));
        Assert.Equal(SettingsSearch.Widths.Count * SettingsSearch.Viscosities.Count, trials.Count);
        double top = trials.Max(t => t.Metric);
        SearchTrial chosen = trials.Single(t => t.Width == best.NumberOfSupportPoints && t.Viscosity == best.Viscosity);
        Assert.True(chosen.Metric >= top - 0.002);
        Assert.Equal(ModelKind.MulticlassClassification, best.Kind);

        var (again, bestAgain) = SettingsSearch.Run(TestData.Load("iris.csv"), template, TimeSpan.FromMinutes(5));
        Assert.Equal(trials.Select(t => t.Metric), again.Select(t => t.Metric));
        Assert.Equal(best, bestAgain);
    }

    [Fact]
    public void ATinyBudgetStillTriesOneSetting()
    {
        var (trials, _) = SettingsSearch.Run(TestData.Load("iris.csv"), new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification }, TimeSpan.FromTicks(1));
        Assert.Single(trials);
        Assert.Throws<ArgumentException>(() => SettingsSearch.Run(TestData.Load("iris.csv"), new HopfColeTrainerOptions(), TimeSpan.Zero));
    }
}
