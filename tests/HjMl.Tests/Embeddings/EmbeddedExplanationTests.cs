using HjMl.Attribution;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;
using Xunit.Abstractions;

namespace HjMl.Tests.Embeddings;

public class EmbeddedExplanationTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => ["breast_cancer_0", "breast_cancer_2", "diabetes_2"];

    [Theory]
    [MemberData(nameof(Models))]
    public void InputContributionsThroughTheEmbeddingSumToTheScoreWithinOneInABillionAt32Nodes(string name)
    {
        // Integrated along the straight path in z_0, where the flow's steps and the read-out are analytic, the
        // contributions with the baseline are the score to quadrature rounding on every test row, at 32 nodes.
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        double worst = 0;
        long nodes = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            foreach (InputDecomposition parts in new[] { explanation.InputClass!, explanation.InputMargin! })
            {
                double scale = Math.Max(1, Math.Abs(parts.Value));
                worst = Math.Max(worst, Math.Abs(parts.Remainder) / scale);
                Assert.Equal(model.InputDimension, parts.FeatureContributions.Length);
                Assert.True(Math.Abs(parts.Sum - parts.Value) <= 1e-12 * scale, $"row {row}: parts sum to {parts.Sum}, value {parts.Value}");
            }

            nodes += explanation.InputMargin!.QuadratureNodes;
        }

        output.WriteLine($"{name}: largest |remainder| / max(1, |value|) over {test.Rows} test rows = {worst:E2}; mean gradient evaluations per row {nodes / (double)test.Rows:F0}");
        Assert.True(worst <= 1e-9, $"{name}: a remainder reached {worst:E2} of its value");
    }

    [Theory]
    [InlineData("breast_cancer_0")]
    [InlineData("diabetes_2")]
    public void InputContributionsAreTheEmbeddedPathIntegralOfTheScoresGradientGroupedByFeature(string name)
    {
        // An independent integral: central differences of the read-out after the flow's steps alone, G(z_0), in every
        // z_0 coordinate, composite Simpson on 200 intervals of the straight path from z_0(training means) to z_0(row);
        // coordinate l contributes (z_0(x) - z_0(0))_l times the path mean of dG/dz_l, and feature k the sum over the
        // coordinates that are functions of it (its own when passed through, its v_k when embedded).
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        GibbsFlow flow = model.Flow!;
        FlowShape shape = flow.Shape;
        EmbeddingShape embedding = shape.Embedding!;
        int d = model.InputDimension, m = flow.Width;
        GibbsFlow? steps = shape.Steps == 0 ? null : new GibbsFlow(new FlowShape(m, m, shape.Steps, shape.Pieces, false, shape.SharedControls), flow.Horizon, flow.Viscosity, flow.Parameters[shape.LiftLength..].ToArray());
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        var scores = new double[model.Layer.NumberOfHeads];
        var terminal = new double[m];
        var standardised = new double[d];
        var start = new double[m];
        var end = new double[m];
        var point = new double[m];
        var owner = new int[m];
        for (int i = 0; i < embedding.PassedThrough.Count; i++)
        {
            owner[i] = embedding.PassedThrough[i];
        }

        for (int slot = 0; slot < embedding.Features.Count; slot++)
        {
            owner.AsSpan(embedding.OutputOffset(slot), embedding.Width).Fill(embedding.Features[slot]);
        }

        for (int row = 0; row < 2; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            int first = model.Kind == ModelKind.MulticlassClassification ? explanation.Prediction.ClassIndex : 0;
            int second = explanation.RunnerUp >= 0 ? explanation.RunnerUp : 1;
            double scale = model.Kind == ModelKind.Regression ? model.LabelScale : 1;
            double Margin(double[] z)
            {
                if (steps is null)
                {
                    model.Layer.Evaluate(z, scores);
                }
                else
                {
                    steps.Transport(z, terminal);
                    model.Layer.Evaluate(terminal, scores);
                }

                return scale * (scores[first] - scores[second]);
            }

            PeriodicEmbedding.Forward(embedding, flow.Parameters[..shape.LiftLength], new double[d], start);
            model.Scaling.Apply(test.Row(row), standardised);
            PeriodicEmbedding.Forward(embedding, flow.Parameters[..shape.LiftLength], standardised, end);
            double[] expected = new double[d];
            const int intervals = 200;
            for (int i = 0; i <= intervals; i++)
            {
                double t = i / (double)intervals;
                double weight = (i == 0 || i == intervals ? 1 : (i % 2 == 1 ? 4 : 2)) / (3.0 * intervals);
                for (int l = 0; l < m; l++)
                {
                    if (end[l] == start[l])
                    {
                        continue;
                    }

                    const double step = 1e-6;
                    for (int j = 0; j < m; j++)
                    {
                        point[j] = start[j] + (t * (end[j] - start[j]));
                    }

                    point[l] += step;
                    double up = Margin(point);
                    point[l] -= 2 * step;
                    double down = Margin(point);
                    expected[owner[l]] += weight * (end[l] - start[l]) * (up - down) / (2 * step);
                }
            }

            double[] actual = explanation.InputMargin!.FeatureContributions;
            double size = Math.Max(1, expected.Max(Math.Abs));
            double gap = Enumerable.Range(0, d).Max(k => Math.Abs(actual[k] - expected[k])) / size;
            output.WriteLine($"{name} row {row}: largest gap to the independent integral {gap:E2} of the largest contribution");
            Assert.True(gap <= 1e-6, $"{name} row {row}: contributions differ from the independent integral by {gap:E2} of the largest");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OutOfSupportScoreOfAnEmbeddedModelIsTheReadOutsAtZLAgainstTheTrainedCoverageRadius(string name)
    {
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        var explainer = new ModelExplainer(model);
        LseLayer<double> layer = model.Layer;
        int m = layer.InputDimension;
        var standardised = new double[model.InputDimension];
        var terminal = new double[m];
        int flagged = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            SupportCoverage coverage = explainer.Coverage(test.Row(row));
            model.Scaling.Apply(test.Row(row), standardised);
            model.Flow!.Transport(standardised, terminal);
            double nearest = Enumerable.Range(0, layer.Biases.Length).Min(j => Math.Sqrt(Enumerable.Range(0, m).Sum(i => Math.Pow(terminal[i] - (2 * model.Time * layer.Weights[(j * m) + i]), 2))));
            Assert.Equal(nearest, coverage.NearestDistance, 1e-9);
            Assert.Equal(model.CoverageRadius, coverage.CoverageRadius);
            Assert.True(double.IsFinite(coverage.Score), $"row {row}: the out-of-support score is {coverage.Score}");
            flagged += coverage.IsOutOfSupport ? 1 : 0;
        }

        Assert.True(double.IsFinite(model.CoverageRadius) && model.CoverageRadius > 0, $"{name}: the trained coverage radius is {model.CoverageRadius}");
        output.WriteLine($"{name}: {flagged} of {test.Rows} test rows out of support at z_L");
        Assert.True(flagged <= test.Rows / 5, $"{name}: {flagged} of {test.Rows} ordinary test rows flagged");
    }

    [Fact]
    public void ExplainCertifyAndCoverageThroughAnEmbeddingAllocateNothingOnceWarm()
    {
        foreach (string name in new[] { "breast_cancer_0", "diabetes_2" })
        {
            (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
            var explainer = new ModelExplainer(model);
            var explanation = new Explanation(model, top: 3);
            bool regression = model.Kind == ModelKind.Regression;
            Assert.Equal(0, Allocations.Fewest(() =>
            {
                for (int row = 0; row < test.Rows; row++)
                {
                    explainer.Explain(test.Row(row), explanation);
                    _ = regression ? explainer.StabilityRadius(test.Row(row), 1.0) : explainer.Certify(test.Row(row));
                    _ = explainer.Coverage(test.Row(row));
                }
            }));
        }
    }
}
