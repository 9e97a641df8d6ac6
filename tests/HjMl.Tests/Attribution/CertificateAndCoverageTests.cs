using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Robustness;
using Xunit.Abstractions;

namespace HjMl.Tests.Attribution;

public class CertificateAndCoverageTests(ExplainerFixture models, ITestOutputHelper output) : IClassFixture<ExplainerFixture>
{
    public static TheoryData<string> Classifiers => ["breast_cancer", "digits"];

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void ProjectedGradientAttacksNeverChangeAPredictionInsideTheCertifiedRadius(string set)
    {
        (HopfColeModel model, _, Dataset test) = set == "digits" ? models.Digits : models.BreastCancer;
        var explainer = new ModelExplainer(model);
        var attack = new ProjectedGradientAttack(model, steps: 40);
        var ratios = new List<double>();
        int rows = Math.Min(test.Rows, 60);
        for (int row = 0; row < rows; row++)
        {
            Certificate certificate = explainer.Certify(test.Row(row));
            Assert.True(certificate.Radius >= 0 && double.IsFinite(certificate.Radius));
            if (certificate.Radius == 0)
            {
                continue;
            }

            AttackResult inside = attack.Attack(test.Row(row), certificate.Radius * (1 - 1e-9));
            Assert.False(inside.Succeeded, $"row {row}: an attack at {inside.Distance} changed class {model.Interpret([.. Scores(model, test.Row(row))]).ClassIndex} to {inside.Class} inside r* = {certificate.Radius}");
            ratios.Add(attack.SmallestSuccessfulRadius(test.Row(row), certificate.Radius) / certificate.Radius);
        }

        ratios.Sort();
        double median = ratios[ratios.Count / 2];
        output.WriteLine($"{set}: {ratios.Count} certified rows, median (smallest successful attack radius / r*) = {median:F2}");
        Assert.True(ratios.Count >= rows / 2, "most rows should have a positive certificate");
        Assert.True(median >= 1);
    }

    [Fact]
    public void CertifiedRadiusGrowsWithViscosity()
    {
        (HopfColeModel model, _, Dataset test) = models.BreastCancer;
        double previous = 0;
        foreach (double eps in new[] { 0.25, 1, 4, 16 })
        {
            var explainer = new ModelExplainer(model.WithViscosity(eps));
            double mean = Enumerable.Range(0, test.Rows).Average(row => explainer.Certify(test.Row(row)).Radius);
            Assert.True(mean > previous, $"mean r* {mean} at eps {eps} is not above {previous}");
            previous = mean;
        }
    }

    [Fact]
    public void StabilityRadiusBoundsTheOutputChange()
    {
        (HopfColeModel model, _, Dataset test) = models.Diabetes;
        var explainer = new ModelExplainer(model);
        var random = new Random(3);
        var standardised = new double[model.InputDimension];
        var moved = new double[model.InputDimension];
        var raw = new double[model.InputDimension];
        for (int row = 0; row < 30; row++)
        {
            Certificate certificate = explainer.StabilityRadius(test.Row(row), tolerance: 10);
            double before = model.Score(test.Row(row));
            model.Scaling.Apply(test.Row(row), standardised);
            for (int trial = 0; trial < 20; trial++)
            {
                double[] direction = Enumerable.Range(0, model.InputDimension).Select(_ => random.NextDouble() - 0.5).ToArray();
                double norm = Math.Sqrt(direction.Sum(v => v * v));
                for (int k = 0; k < moved.Length; k++)
                {
                    moved[k] = standardised[k] + (certificate.Radius * 0.999 * direction[k] / norm);
                }

                model.Scaling.Invert(moved, raw);
                Assert.True(Math.Abs(model.Score(raw) - before) < 10, $"row {row}: output moved {Math.Abs(model.Score(raw) - before)} within r* = {certificate.Radius}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void OutOfSupportFlagsScaledAndShuffledRowsButFewTestRows(string set)
    {
        (HopfColeModel model, _, Dataset test) = set == "digits" ? models.Digits : models.BreastCancer;
        var explainer = new ModelExplainer(model);
        var random = new Random(9);
        int flaggedTest = 0, flaggedScaled = 0, flaggedShuffled = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            double[] features = test.Row(row).ToArray();
            flaggedTest += explainer.Coverage(features).IsOutOfSupport ? 1 : 0;
            flaggedScaled += explainer.Coverage(features.Select(v => 3 * v).ToArray()).IsOutOfSupport ? 1 : 0;
            random.Shuffle(features);
            flaggedShuffled += explainer.Coverage(features).IsOutOfSupport ? 1 : 0;
        }

        output.WriteLine($"{set}: flagged {flaggedTest}/{test.Rows} test rows, {flaggedScaled} scaled, {flaggedShuffled} shuffled");
        Assert.True(flaggedTest <= 0.1 * test.Rows, $"{flaggedTest} of {test.Rows} test rows flagged");
        Assert.True(flaggedScaled >= 0.9 * test.Rows, $"only {flaggedScaled} of {test.Rows} scaled-up rows flagged");
        Assert.True(flaggedShuffled >= 0.8 * test.Rows, $"only {flaggedShuffled} of {test.Rows} shuffled rows flagged");
    }

    private static double[] Scores(HopfColeModel model, ReadOnlySpan<double> row)
    {
        var scores = new double[model.OutputLength];
        model.Score(row, scores);
        return scores;
    }
}
