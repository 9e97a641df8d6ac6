using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Robustness;
using Xunit.Abstractions;

namespace HjMl.Tests.Embeddings;

public class EmbeddedCertificateTests(ITestOutputHelper output)
{
    public static TheoryData<string> Classifiers => ["breast_cancer_0", "breast_cancer_2"];

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void AttackThroughTheEmbeddingNeverChangesAPredictionInsideTheWholeModelsCertifiedRadius(string name)
    {
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        Assert.NotNull(model.Flow!.Shape.Embedding);
        var explainer = new ModelExplainer(model);
        var attack = new ProjectedGradientAttack(model, steps: 100, rivals: model.Layer.NumberOfHeads - 1);
        var ratios = new List<double>();
        int certified = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            Certificate certificate = explainer.Certify(test.Row(row));
            Assert.Equal(model.Flow.LipschitzBound(), certificate.LipschitzBound);
            Assert.InRange(certificate.Radius, 0, certificate.TerminalRadius / certificate.LipschitzBound);
            double radius = certificate.Radius;
            if (radius == 0)
            {
                continue;
            }

            certified++;
            AttackResult inside = attack.Attack(test.Row(row), radius * (1 - 1e-9));
            Assert.False(inside.Succeeded, $"{name} row {row}: the attack reached class {inside.Class} at distance {inside.Distance} inside r* = {radius}");
            if (ratios.Count < 20)
            {
                ratios.Add(attack.SmallestSuccessfulRadius(test.Row(row), radius) / radius);
            }
        }

        ratios.Sort();
        output.WriteLine($"{name}: {certified} of {test.Rows} rows certified, Lip = {model.Flow.LipschitzBound():G4}; on the first {ratios.Count}, median (smallest successful attack radius / r*) = {(ratios.Count > 0 ? ratios[ratios.Count / 2] : double.NaN):F2}");
        Assert.True(certified >= test.Rows / 2, $"{name}: only {certified} of {test.Rows} rows have a positive certified radius");
        Assert.True(ratios[0] >= 1);
    }

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void TheEmbeddedStartsRoundingAllowanceTakesAtMostOneInAMillionOffTheRadius(string name)
    {
        // r* = (r_L - 2T) / Lip: the proven rounding bound T of the sines, products and ReLU is tiny next to r_L on
        // real rows, so the certificate stays useful.
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        var explainer = new ModelExplainer(model);
        for (int row = 0; row < test.Rows; row++)
        {
            Certificate certificate = explainer.Certify(test.Row(row));
            if (certificate.TerminalRadius > 0 && double.IsFinite(certificate.TerminalRadius))
            {
                Assert.True(certificate.Radius >= certificate.TerminalRadius / certificate.LipschitzBound * (1 - 1e-6), $"{name} row {row}: r* = {certificate.Radius} is far below r_L / Lip = {certificate.TerminalRadius / certificate.LipschitzBound}");
            }
        }
    }

    [Fact]
    public void StabilityRadiusThroughAnEmbeddedRegressorBoundsTheOutputOnSampledInputs()
    {
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick("diabetes_2");
        var explainer = new ModelExplainer(model);
        var random = new Random(3);
        var standardised = new double[model.InputDimension];
        var moved = new double[model.InputDimension];
        var raw = new double[model.InputDimension];
        double tolerance = 0.1 * model.LabelScale;
        int positive = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            Certificate certificate = explainer.StabilityRadius(test.Row(row), tolerance);
            positive += certificate.Radius > 0 ? 1 : 0;
            double before = model.Predict(test.Row(row)).Score;
            model.Scaling.Apply(test.Row(row), standardised);
            for (int trial = 0; trial < 20; trial++)
            {
                double[] direction = [.. Enumerable.Range(0, moved.Length).Select(_ => random.NextDouble() - 0.5)];
                double norm = Math.Sqrt(direction.Sum(v => v * v));
                for (int k = 0; k < moved.Length; k++)
                {
                    moved[k] = standardised[k] + (certificate.Radius * 0.999 * direction[k] / norm);
                }

                model.Scaling.Invert(moved, raw);
                Assert.True(Math.Abs(model.Predict(raw).Score - before) < tolerance, $"row {row}: the output moved by at least the tolerance inside the stability radius");
            }
        }

        Assert.True(positive >= test.Rows / 2, $"only {positive} of {test.Rows} rows have a positive radius");
    }
}
