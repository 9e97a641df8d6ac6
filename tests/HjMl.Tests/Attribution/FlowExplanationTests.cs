using System.Numerics.Tensors;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;
using Xunit.Abstractions;

namespace HjMl.Tests.Attribution;

public class FlowExplanationTests(ITestOutputHelper output)
{
    public static TheoryData<string> Sets => ["iris", "breast_cancer", "diabetes", "lifted_iris"];

    [Theory]
    [MemberData(nameof(Sets))]
    public void InputContributionsWithTheBaselineAndAQuadratureRemainderBelowOneInAMillionSumToTheScore(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        double worst = 0;
        int refined = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            foreach (InputDecomposition parts in new[] { explanation.InputClass!, explanation.InputMargin! })
            {
                double scale = Math.Max(1, Math.Abs(parts.Value));
                worst = Math.Max(worst, Math.Abs(parts.Remainder) / scale);
                Assert.Equal(model.InputDimension, parts.FeatureContributions.Length);
                Assert.True(Math.Abs(parts.Sum - parts.Value) <= 1e-12 * scale, $"row {row}: parts sum to {parts.Sum}, value {parts.Value}");
                refined += parts.QuadratureNodes == ModelExplainer.PathQuadratureNodes ? 0 : 1;
            }

            Assert.Equal(explanation.Class.Value, explanation.InputClass!.Value);
            Assert.Equal(explanation.Margin.Value, explanation.InputMargin!.Value);
        }

        output.WriteLine($"{set}: largest |remainder| / max(1, |value|) over {test.Rows} test rows = {worst:E2}; rows refined beyond 32 nodes: {refined}");
        Assert.True(worst <= 1e-6, $"{set}: a quadrature remainder reached {worst:E2} of its value");
        Assert.Equal(0, refined);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void InputContributionsAreEachFeaturesPathIntegralOfTheScoresGradientFromTheTrainingMeans(string set)
    {
        // An independent integral: central differences of HopfColeModel.Score in the raw features, composite Simpson on
        // 200 intervals, contribution_k = (x_k - mean_k) times the path mean of d score / d x_k.
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        int d = model.InputDimension;
        var scores = new double[model.OutputLength];
        var point = new double[d];
        for (int row = 0; row < 3; row++)
        {
            ReadOnlySpan<double> features = test.Row(row);
            explainer.Explain(features, explanation);
            int first = model.Kind == ModelKind.MulticlassClassification ? explanation.Prediction.ClassIndex : 0;
            int second = explanation.RunnerUp;
            double Margin(double[] x)
            {
                model.Score(x, scores);
                return second >= 0 ? scores[first] - scores[second] : scores[0];
            }

            double[] expected = new double[d];
            const int intervals = 200;
            for (int i = 0; i <= intervals; i++)
            {
                double alpha = i / (double)intervals;
                double weight = (i == 0 || i == intervals ? 1 : (i % 2 == 1 ? 4 : 2)) / (3.0 * intervals);
                for (int k = 0; k < d; k++)
                {
                    double step = 1e-5 * model.Scaling.Scales[k];
                    for (int j = 0; j < d; j++)
                    {
                        point[j] = model.Scaling.Means[j] + (alpha * (features[j] - model.Scaling.Means[j]));
                    }

                    point[k] += step;
                    double up = Margin(point);
                    point[k] -= 2 * step;
                    double down = Margin(point);
                    expected[k] += weight * (features[k] - model.Scaling.Means[k]) * (up - down) / (2 * step);
                }
            }

            double[] actual = explanation.InputMargin!.FeatureContributions;
            double size = Math.Max(1, expected.Max(Math.Abs));
            for (int k = 0; k < d; k++)
            {
                Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-6 * size, $"{set} row {row} feature {k}: {actual[k]} against the independent integral {expected[k]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void TerminalDecompositionsAreTheReadOutsOwnAtZLNamedZAndSumToTheHeadScores(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        LseLayer<double> layer = model.Layer;
        int m = layer.InputDimension;
        Assert.Equal([.. Enumerable.Range(0, m).Select(i => $"z[{i}]")], explanation.CoordinateNames);
        var terminal = new double[m];
        var standardised = new double[model.InputDimension];
        var contributions = new double[m];
        var scores = new double[model.OutputLength];
        for (int row = 0; row < test.Rows; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            model.Score(test.Row(row), scores);
            Assert.Equal(model.Interpret(scores), explanation.Prediction);
            model.Scaling.Apply(test.Row(row), standardised);
            model.Flow!.Transport(standardised, terminal);
            int head = model.Kind == ModelKind.MulticlassClassification ? explanation.Prediction.ClassIndex : (model.Kind == ModelKind.Regression || explanation.Prediction.ClassIndex == 1 ? 0 : 1);
            LseDecomposition<double> own = layer.Decompose(terminal, head, contributions);
            Decomposition single = model.Kind == ModelKind.Regression ? explanation.Margin : explanation.Class;
            Assert.Equal(m, explanation.Class.FeatureContributions.Length);
            if (model.Kind != ModelKind.Regression)
            {
                Assert.Equal(own.Score, single.Value, 1e-12);
                Assert.Equal(own.BiasTerm, single.BiasTerm, 1e-12);
                Assert.Equal(own.EntropyTerm, single.EntropyTerm, 1e-12);
                for (int i = 0; i < m; i++)
                {
                    Assert.Equal(contributions[i], single.FeatureContributions[i], 1e-12);
                }
            }

            Assert.Equal(layer.Entropy(terminal, head), explanation.Entropy, 1e-12);
            foreach (Decomposition part in new[] { explanation.Class, explanation.Margin })
            {
                double scale = Math.Max(1, Math.Abs(part.Value) + TensorPrimitives.SumOfMagnitudes<double>(part.FeatureContributions) + Math.Abs(part.BiasTerm) + Math.Abs(part.EntropyTerm) + Math.Abs(part.Baseline));
                Assert.True(Math.Abs(part.Sum - part.Value) <= 1e-12 * scale, $"row {row}: terminal parts sum to {part.Sum}, value {part.Value}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void TopSupportPointsAreTheReadOutsHeaviestAtZLAndNameTrainingRows(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        var terminal = new double[model.Layer.InputDimension];
        var standardised = new double[model.InputDimension];
        var pi = new double[model.Layer.NumberOfPieces];
        for (int row = 0; row < test.Rows; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            model.Scaling.Apply(test.Row(row), standardised);
            model.Flow!.Transport(standardised, terminal);
            SupportAttribution top = explanation.TopSupport[0];
            model.Layer.GibbsWeights(terminal, top.Head, pi);
            Assert.Equal(pi.Max(), top.Weight, 1e-12);
            Assert.All(explanation.TopSupport, support => Assert.Equal(model.SupportRows[(support.Head * pi.Length) + support.Piece], support.SupportRow));
            Assert.True(top.SupportRow >= 0, $"row {row}: the heaviest support point has no training row");
        }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void CertifiedRadiusIsTheReadOutsRadiusAtZLOverTheFlowsLipschitzBoundAndNoSampledInputInsideItChangesThePrediction(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        double lipschitz = model.Flow!.LipschitzBound();
        double minimumScale = TensorPrimitives.Min(model.Scaling.Scales);
        var random = new Random(6);
        var standardised = new double[model.InputDimension];
        var moved = new double[model.InputDimension];
        var raw = new double[model.InputDimension];
        bool regression = model.Kind == ModelKind.Regression;
        double tolerance = 0.1 * model.LabelScale;
        int positive = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            Certificate certificate = regression ? explainer.StabilityRadius(test.Row(row), tolerance) : explainer.Certify(test.Row(row));
            Assert.Equal(lipschitz, certificate.LipschitzBound);
            // Below r_L / Lip by twice the flow's rounding bound (RoundingAllowance.TransportError), a relative 1e-9 at most here.
            Assert.InRange(certificate.Radius, certificate.TerminalRadius / lipschitz * (1 - 1e-9), certificate.TerminalRadius / lipschitz);
            Assert.Equal(certificate.Radius * minimumScale, certificate.RawRadius);
            positive += certificate.Radius > 0 ? 1 : 0;
            Prediction before = model.Predict(test.Row(row));
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
                Prediction after = model.Predict(raw);
                if (regression)
                {
                    Assert.True(Math.Abs(after.Score - before.Score) < tolerance, $"row {row}: the output moved {Math.Abs(after.Score - before.Score)} inside the stability radius");
                }
                else
                {
                    Assert.Equal(before.ClassIndex, after.ClassIndex);
                }
            }
        }

        Assert.True(positive >= test.Rows / 2, $"{set}: only {positive} of {test.Rows} rows have a positive radius");
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void CoverageIsTheReadOutsAtZLAgainstTheCoverageRadiusTheTrainerMeasuredThere(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
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
            flagged += coverage.IsOutOfSupport ? 1 : 0;
        }

        Assert.False(double.IsNaN(model.CoverageRadius));
        output.WriteLine($"{set}: {flagged} of {test.Rows} test rows out of support at z_L");
        Assert.True(flagged <= test.Rows / 5, $"{set}: {flagged} of {test.Rows} ordinary test rows flagged");
    }

    [Fact]
    public void AFlowThatDoesNotMoveExplainsAndCertifiesLikeItsReadOutAlone()
    {
        // Zero values: z_L = z_0 exactly, the Lipschitz bound is 1, so the terminal decomposition, certificate and coverage
        // are the single layer's, and the input contributions integrate the single layer's gradient.
        (HopfColeModel trained, Dataset test) = FlowModels.Iris;
        var shape = trained.Flow!.Shape;
        double[] parameters = trained.Flow.Parameters.ToArray();
        for (int set = 0; set < shape.ControlSets; set++)
        {
            Array.Clear(parameters, shape.ValuesOffset(set), shape.Pieces * shape.Width);
        }

        var still = new GibbsFlow(shape, trained.Flow.Horizon, trained.Flow.Viscosity, parameters);
        var single = new HopfColeModel(trained.Kind, trained.Layer, trained.Scaling, trained.FeatureNames, [.. trained.ClassLabels], 0, 1, [.. trained.SupportRows], trained.Time, trained.CoverageRadius);
        var flowing = new HopfColeModel(trained.Kind, trained.Layer, trained.Scaling, trained.FeatureNames, [.. trained.ClassLabels], 0, 1, [.. trained.SupportRows], trained.Time, trained.CoverageRadius, still);
        var singleExplainer = new ModelExplainer(single);
        var flowExplainer = new ModelExplainer(flowing);
        var singleExplanation = new Explanation(single, top: 2);
        var flowExplanation = new Explanation(flowing, top: 2);
        for (int row = 0; row < test.Rows; row++)
        {
            singleExplainer.Explain(test.Row(row), singleExplanation);
            flowExplainer.Explain(test.Row(row), flowExplanation);
            Assert.Equal(singleExplanation.Prediction, flowExplanation.Prediction);
            Assert.Equal(singleExplanation.Margin.FeatureContributions, flowExplanation.Margin.FeatureContributions);
            Assert.Equal(singleExplanation.TopSupport, flowExplanation.TopSupport);
            Certificate alone = singleExplainer.Certify(test.Row(row)), through = flowExplainer.Certify(test.Row(row));
            Assert.Equal(1, through.LipschitzBound);
            // The still flow's own rounding bound takes a relative 1e-9 at most off the read-out's radius.
            Assert.InRange(through.Radius, alone.Radius * (1 - 1e-9), alone.Radius);
            Assert.Equal(alone with { Radius = through.Radius, RawRadius = through.RawRadius }, through);
            Assert.Equal(singleExplainer.Coverage(test.Row(row)), flowExplainer.Coverage(test.Row(row)));
            InputDecomposition margin = flowExplanation.InputMargin!;
            Assert.True(Math.Abs(margin.Remainder) <= 1e-9 * Math.Max(1, Math.Abs(margin.Value)));
        }

        Assert.Null(singleExplanation.InputMargin);
        Assert.Same(single.FeatureNames, singleExplanation.CoordinateNames);
    }

    [Fact]
    public void ExplainCertifyAndCoverageThroughAFlowAllocateNothingOnceWarm()
    {
        foreach (string set in new[] { "iris", "breast_cancer", "diabetes", "lifted_iris" })
        {
            (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
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
