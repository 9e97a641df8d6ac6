using System.Numerics.Tensors;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;

namespace HjMl.Tests.Attribution;

public class ModelExplainerTests(ExplainerFixture models) : IClassFixture<ExplainerFixture>
{
    [Fact]
    public void ExplainCertifyStabilityAndCoverageAllocateNothingOnceWarm()
    {
        // breast_cancer and diabetes certify through the expectations, digits (2N < d) through the Gram matrix.
        foreach ((HopfColeModel model, _, Dataset test) in new[] { models.BreastCancer, models.Digits, models.Diabetes })
        {
            var explainer = new ModelExplainer(model);
            var explanation = new Explanation(model, top: 3);
            bool regression = model.Kind == ModelKind.Regression;
            void Run(int row)
            {
                explainer.Explain(test.Row(row), explanation);
                _ = regression ? explainer.StabilityRadius(test.Row(row), 1.0) : explainer.Certify(test.Row(row));
                _ = explainer.Coverage(test.Row(row));
            }

            Assert.Equal(0, Allocations.Fewest(() =>
            {
                for (int row = 0; row < test.Rows; row++)
                {
                    Run(row);
                }
            }));
        }
    }

    public static TheoryData<string> Sets => ["breast_cancer", "digits", "diabetes"];

    [Theory]
    [MemberData(nameof(Sets))]
    public void ClassAndMarginDecompositionsSumExactlyToTheirValues(string set)
    {
        (HopfColeModel model, _, Dataset test) = Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        var scores = new double[model.OutputLength];
        for (int row = 0; row < test.Rows; row++)
        {
            explainer.Explain(test.Row(row), explanation);
            model.Score(test.Row(row), scores);
            Prediction expected = model.Interpret(scores);
            Assert.Equal(expected, explanation.Prediction);
            foreach (Decomposition part in new[] { explanation.Class, explanation.Margin })
            {
                double scale = Math.Max(1, Math.Abs(part.Value) + TensorPrimitives.SumOfMagnitudes<double>(part.FeatureContributions) + Math.Abs(part.BiasTerm) + Math.Abs(part.EntropyTerm) + Math.Abs(part.Baseline));
                Assert.True(Math.Abs(part.Sum - part.Value) <= 1e-12 * scale, $"row {row}: parts sum to {part.Sum}, value {part.Value}");
            }

            if (model.Kind == ModelKind.MulticlassClassification)
            {
                Assert.Equal(scores[expected.ClassIndex], explanation.Class.Value, 12);
                Assert.Equal(scores[expected.ClassIndex] - scores[explanation.RunnerUp], explanation.Margin.Value, 12);
                int runnerUp = -1;
                for (int other = 0; other < scores.Length; other++)
                {
                    runnerUp = other != expected.ClassIndex && (runnerUp < 0 || scores[other] > scores[runnerUp]) ? other : runnerUp;
                }

                Assert.Equal(runnerUp, explanation.RunnerUp);
            }
            else
            {
                Assert.Equal(scores[0], explanation.Margin.Value, 9);
            }

            Assert.InRange(explanation.Entropy, 0, Math.Log(model.Layer.NumberOfPieces) + 1e-12);
        }
    }

    [Theory]
    [InlineData(new[] { 5.0, 7.0, 5.0 }, 1, 0)]
    [InlineData(new[] { 5.0, 5.0, 7.0 }, 2, 0)]
    [InlineData(new[] { 3.0, 5.0, 5.0, 7.0 }, 3, 1)]
    [InlineData(new[] { 7.0, 5.0, 6.0, 6.0 }, 0, 2)]
    [InlineData(new[] { 4.0, 4.0, 4.0 }, 0, 1)]
    [InlineData(new[] { 1.0, 2.0 }, 1, 0)]
    [InlineData(new[] { 2.0, 1.0 }, 0, 1)]
    public void PredictedClassAndRunnerUpAreTheFirstOfTiedScores(double[] scores, int best, int runnerUp)
    {
        Assert.Equal((best, runnerUp), ModelExplainer.BestTwo(scores));
        Assert.Equal(best, TensorPrimitives.IndexOfMax<double>(scores));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void TopSupportIsTheLargestInfluenceAndNamesTrainingRows(string set)
    {
        (HopfColeModel model, Dataset train, Dataset test) = Pick(set);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 4);
        var pi = new double[model.Layer.NumberOfPieces];
        var standardised = new double[model.InputDimension];
        for (int row = 0; row < Math.Min(test.Rows, 40); row++)
        {
            explainer.Explain(test.Row(row), explanation);
            SupportAttribution[] top = explanation.TopSupport;
            Assert.True(top.Zip(top.Skip(1)).All(pair => Math.Abs(pair.First.Influence) >= Math.Abs(pair.Second.Influence)));
            if (model.Kind != ModelKind.Regression)
            {
                int head = top[0].Head;
                model.Scaling.Apply(test.Row(row), standardised);
                model.Layer.GibbsWeights(standardised, head, pi);
                Assert.Equal(pi.Max(), top[0].Weight, 12);
                foreach (SupportAttribution support in top)
                {
                    Assert.Equal(-support.Influence, support.LabelSensitivity);
                    Assert.InRange(support.SupportRow, 0, train.Rows - 1);
                    // Classifier support points start on rows of their own class (the Hopf–Cole initialisation).
                    double label = train.Labels[support.SupportRow];
                    int expectedHead = model.Kind == ModelKind.BinaryClassification ? (label == model.ClassLabels[1] ? 0 : 1) : model.ClassIndexOf(label);
                    Assert.Equal(expectedHead, support.Head);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void TopSupportIsExactlyTheHeaviestPiecesInOrderForEveryListLength(string set)
    {
        // Lists of every length: the keyed vector ranking (up to 8) and the scan (longer lists) give the same answer
        // as sorting the head's weights, heaviest first and lower piece first among equals.
        (HopfColeModel model, _, Dataset test) = Pick(set);
        var explainer = new ModelExplainer(model);
        int pieces = model.Layer.NumberOfPieces;
        bool regression = model.Kind == ModelKind.Regression;
        int available = regression ? 2 * pieces : pieces;
        var standardised = new double[model.InputDimension];
        var pi = new double[pieces];
        foreach (int top in new[] { 1, 2, 3, 5, 8, available / 2, available }.Where(top => top <= available).Distinct())
        {
            var explanation = new Explanation(model, top);
            for (int row = 0; row < Math.Min(test.Rows, 25); row++)
            {
                explainer.Explain(test.Row(row), explanation);
                model.Scaling.Apply(test.Row(row), standardised);
                int firstHead = regression ? 0 : explanation.TopSupport[0].Head;
                var candidates = new List<(double Weight, int Head, int Piece)>();
                for (int head = firstHead; head <= (regression ? 1 : firstHead); head++)
                {
                    model.Layer.GibbsWeights(standardised, head, pi);
                    candidates.AddRange(pi.Select((weight, piece) => (weight, head, piece)));
                }

                var expected = candidates.OrderByDescending(c => c.Weight).ThenBy(c => c.Head).ThenBy(c => c.Piece).Take(top).ToArray();
                for (int i = 0; i < top; i++)
                {
                    SupportAttribution support = explanation.TopSupport[i];
                    Assert.Equal(expected[i].Weight, support.Weight, 12);
                    if (i + 1 < top && expected[i].Weight - expected[i + 1].Weight > 1e-12 && (i == 0 || expected[i - 1].Weight - expected[i].Weight > 1e-12))
                    {
                        Assert.Equal((expected[i].Head, expected[i].Piece), (support.Head, support.Piece));
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(20)]
    [InlineData(1030)]
    public void TiedPiecesAreListedLowerPieceFirst(int pieces)
    {
        // Head 0 of a two-feature binary model: piece 0 heaviest, pieces 1 and 3 identical (equal weights at every input),
        // the rest far lighter. 4 pieces take the scan, 20 and 1030 the keyed vector ranking (where AVX-512 runs); all
        // must list 0, 1, 3.
        var weights = new double[2 * pieces * 2];
        var biases = new double[2 * pieces];
        for (int j = 0; j < pieces; j++)
        {
            (weights[2 * j], weights[(2 * j) + 1], biases[j]) = j switch
            {
                0 => (2.0, 0.0, 1.0),
                1 or 3 => (1.0, 1.0, 0.0),
                _ => (0.0, -3.0, -5.0),
            };
        }

        // Head 1 far below head 0 at any N (its eps log N would otherwise win at 1030 pieces): head 0 is the class explained.
        Array.Fill(biases, -100.0, pieces, pieces);
        var layer = new HjMl.Layers.LseLayer<double>(weights, biases, 2, 0.5, 2);
        var model = new HopfColeModel(ModelKind.BinaryClassification, layer, new FeatureScaling([0, 0], [1, 1]), ["a", "b"], [0, 1], 0, 1, Enumerable.Repeat(-1, 2 * pieces).ToArray(), 1.0);
        var explanation = new Explanation(model, top: 3);
        new ModelExplainer(model).Explain([1, 0.5], explanation);
        Assert.Equal([(0, 0), (0, 1), (0, 3)], explanation.TopSupport.Select(support => (support.Head, support.Piece)).ToArray());
        Assert.Equal(explanation.TopSupport[1].Weight, explanation.TopSupport[2].Weight);
    }

    [Fact]
    public void LabelSensitivityMatchesAFiniteDifferenceOfTheInitialData()
    {
        // d f / d g_j = -pi_j (THEORY.md section 4): raising g_j by h is lowering b_j by h.
        (HopfColeModel model, _, Dataset test) = models.Digits;
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 2);
        explainer.Explain(test.Row(0), explanation);
        SupportAttribution support = explanation.TopSupport[0];
        const double h = 1e-6;
        double[] biases = model.Layer.Biases.ToArray();
        biases[(support.Head * model.Layer.NumberOfPieces) + support.Piece] -= h;
        var shifted = new LseLayer<double>(model.Layer.Weights, biases, model.InputDimension, model.Viscosity, model.Layer.NumberOfHeads);
        var standardised = new double[model.InputDimension];
        model.Scaling.Apply(test.Row(0), standardised);
        double difference = (shifted.Evaluate(standardised, support.Head) - model.Layer.Evaluate(standardised, support.Head)) / h;
        Assert.Equal(support.LabelSensitivity, difference, 5);
    }

    [Fact]
    public void TopLargerThanTheSupportIsRejected()
    {
        (HopfColeModel model, _, _) = models.BreastCancer;
        var problem = Assert.Throws<ArgumentException>(() => new Explanation(model, top: 9));
        Assert.Contains("between 1 and 8", problem.Message);
    }

    [Fact]
    public void RegressionHasNoMarginToCertifyAndClassifiersNoStabilityRadius()
    {
        Assert.Throws<InvalidOperationException>(() => new ModelExplainer(models.Diabetes.Model).Certify(models.Diabetes.Test.Row(0)));
        Assert.Throws<InvalidOperationException>(() => new ModelExplainer(models.BreastCancer.Model).StabilityRadius(models.BreastCancer.Test.Row(0), 1));
    }

    private (HopfColeModel, Dataset, Dataset) Pick(string set) => set switch
    {
        "breast_cancer" => models.BreastCancer,
        "digits" => models.Digits,
        _ => models.Diabetes,
    };
}
