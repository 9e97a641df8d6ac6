using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Robustness;
using HjMl.Tests.Support;

namespace HjMl.Tests.Attribution;

/// <summary>
/// Certificates at rounding-level margins (issue 19, item 4): rows placed within rounding of the decision boundary,
/// where the computed class of a neighbour is decided by rounding, certify r* = 0 once the margin's proven rounding
/// bound (RoundingAllowance, THEORY.md section 5 [derived]) is subtracted, and no attack beats a certificate there.
/// </summary>
public class RoundingMarginCertificateTests
{
    private static readonly Lazy<(HopfColeModel Model, Dataset Data)> BreastCancer = new(() =>
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        return (PrototypeModels.Classifier(data, perClass: 6, viscosity: 0.5), data);
    });

    private static readonly Lazy<(HopfColeModel Model, Dataset Data)> Iris = new(() =>
    {
        Dataset data = TestData.Load("iris.csv");
        return (PrototypeModels.Classifier(data, perClass: 4, viscosity: 0.2), data);
    });

    public static TheoryData<string> Sets => ["breast_cancer", "iris"];

    [Theory]
    [MemberData(nameof(Sets))]
    public void ARowWithinRoundingOfTheBoundaryCertifiesZero(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        var explainer = new ModelExplainer(model);
        int rounding = 0;
        foreach ((double[] row, _) in BoundaryRows(model, data, pairs: 30, offsets: [0]))
        {
            Certificate certificate = explainer.Certify(row);
            if (certificate.Margin < 1e-13)
            {
                rounding++;
                Assert.Equal(0, certificate.Radius);
            }
        }

        Assert.True(rounding >= 20, $"only {rounding} rows at rounding-level margins");
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void NoAttackBeatsACertificateNearTheBoundary(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        var explainer = new ModelExplainer(model);
        var attack = new ProjectedGradientAttack(model);
        double[] scales = model.Scaling.Scales.ToArray();
        var random = new Random(19);
        int certified = 0, attacks = 0;
        foreach ((double[] row, double[] toward) in BoundaryRows(model, data, pairs: 25, offsets: [0, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9]))
        {
            Certificate certificate = explainer.Certify(row);
            if (!(certificate.Radius > 0))
            {
                continue;
            }

            certified++;
            int predicted = model.Predict(row).ClassIndex;
            double[][] directions =
            [
                toward, [.. toward.Select(v => -v)],
                .. Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, row.Length).Select(_ => random.NextDouble() - 0.5).ToArray()),
            ];
            foreach (double[] direction in directions)
            {
                double norm = Math.Sqrt(direction.Sum(v => v * v));
                for (int step = 0; step <= 30; step++)
                {
                    // Radii from 1e-18 r* to just inside r*, measured as the exact standardised distance of the moved raw row.
                    double radius = certificate.Radius * Math.Pow(10, -18.0 * (30 - step) / 30) * (1 - 1e-9);
                    double[] moved = [.. row.Select((v, k) => v + (radius * direction[k] / norm * scales[k]))];
                    double distance = Math.Sqrt(moved.Select((v, k) => Math.Pow((v - row[k]) / scales[k], 2)).Sum());
                    attacks++;
                    Assert.False(distance < certificate.Radius && model.Predict(moved).ClassIndex != predicted, $"a flip at {distance:G3} inside r* = {certificate.Radius:G3} (margin {certificate.Margin:G3})");
                }
            }

            attacks++;
            Assert.False(attack.Attack(row, certificate.Radius * (1 - 1e-9)).Succeeded, $"projected gradient beat r* = {certificate.Radius:G3} (margin {certificate.Margin:G3})");
        }

        Assert.True(certified >= 40, $"only {certified} certificates above zero near the boundary ({attacks} attacks)");
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void OrdinaryRowsLoseAtMostARelative1e9OfTheirRadius(string set)
    {
        (HopfColeModel model, Dataset data) = Pick(set);
        var explainer = new ModelExplainer(model);
        for (int row = 0; row < data.Rows; row += 7)
        {
            Certificate certificate = explainer.Certify(data.Row(row));
            double g = certificate.GradientNorm, k = certificate.Curvature, m = certificate.Margin;
            double plain = 2 * m / (Math.Sqrt((g * g) + (2 * k * m)) + g);
            Assert.InRange(certificate.Radius, plain * (1 - 1e-9), plain);
        }
    }

    private static (HopfColeModel, Dataset) Pick(string set) => set == "iris" ? Iris.Value : BreastCancer.Value;

    // Rows on the segment between two rows of different predicted class, bisected to the last double before the class
    // changes and stepped back by the given fractions of the segment; with the segment's direction in standardised units.
    private static IEnumerable<(double[] Row, double[] Toward)> BoundaryRows(HopfColeModel model, Dataset data, int pairs, double[] offsets)
    {
        var random = new Random(7);
        double[] scales = model.Scaling.Scales.ToArray();
        int found = 0;
        for (int trial = 0; trial < 50 * pairs && found < pairs; trial++)
        {
            double[] a = data.Row(random.Next(data.Rows)).ToArray(), b = data.Row(random.Next(data.Rows)).ToArray();
            int start = model.Predict(a).ClassIndex;
            if (start == model.Predict(b).ClassIndex)
            {
                continue;
            }

            double[] At(double t) => [.. a.Select((v, k) => v + (t * (b[k] - v)))];
            double low = 0, high = 1;
            for (int i = 0; i < 200; i++)
            {
                double middle = (low + high) / 2;
                if (middle == low || middle == high)
                {
                    break;
                }

                (model.Predict(At(middle)).ClassIndex == start ? ref low : ref high) = middle;
            }

            found++;
            double[] toward = [.. b.Select((v, k) => (v - a[k]) / scales[k])];
            foreach (double offset in offsets)
            {
                yield return (At(low - offset), toward);
            }
        }
    }
}
