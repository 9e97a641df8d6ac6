using HjMl.Attribution;
using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Robustness;
using HjMl.Tests.Support;

namespace HjMl.Tests.Robustness;

public class ProjectedGradientAttackTests(AttackFixture models) : IClassFixture<AttackFixture>
{
    public static TheoryData<string> Classifiers => ["iris", "breast_cancer"];

    public static TheoryData<string> LinearCases => ["binary", "multiclass"];

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void AttackNeverChangesAPredictionInsideTheCertifiedRadiusOfATrainedModel(string set)
    {
        (HopfColeModel model, Dataset test) = models.Pick(set);
        var explainer = new ModelExplainer(model);
        var attack = new ProjectedGradientAttack(model, steps: 100, rivals: model.Layer.NumberOfHeads - 1);
        int rows = Math.Min(test.Rows, 60), certified = 0;
        for (int row = 0; row < rows; row++)
        {
            double radius = explainer.Certify(test.Row(row)).Radius;
            if (radius == 0)
            {
                continue;
            }

            certified++;
            AttackResult inside = attack.Attack(test.Row(row), radius * (1 - 1e-9));
            Assert.False(inside.Succeeded, $"{set} row {row}: the attack reached class {inside.Class} at distance {inside.Distance} inside r* = {radius}");
        }

        Assert.True(certified >= rows / 2, $"{set}: only {certified} of {rows} rows have a positive certified radius");
    }

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void AttackStaysInsideItsBudgetBallAndReportsAClassChangeOnlyWhenItSucceeds(string set)
    {
        (HopfColeModel model, Dataset test) = models.Pick(set);
        var attack = new ProjectedGradientAttack(model, steps: 40, rivals: model.Layer.NumberOfHeads - 1);
        int flips = 0;
        for (int row = 0; row < Math.Min(test.Rows, 30); row++)
        {
            int predicted = PredictedHead(model, test.Row(row));
            foreach (double radius in new[] { 0.05, 0.3, 1, 3, 10 })
            {
                AttackResult result = attack.Attack(test.Row(row), radius);
                Assert.True(result.Distance <= radius * (1 + 1e-12), $"{set} row {row}: distance {result.Distance} is outside the ball of radius {radius}");
                if (result.Succeeded)
                {
                    flips++;
                    Assert.NotEqual(predicted, result.Class);
                    Assert.True(result.Distance > 0);
                }
                else
                {
                    Assert.Equal(predicted, result.Class);
                    Assert.Equal(radius, result.Distance);
                }
            }
        }

        Assert.True(flips > 0, $"{set}: no attack succeeded even at radius 10, so the ball check saw no successful attack");
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void AttackOnALinearModelFailsJustInsideTheExactFlipDistanceAndSucceedsJustBeyondIt(string kind)
    {
        (HopfColeModel model, double[] row, double distance, int nearest) = LinearCase(kind);
        var attack = new ProjectedGradientAttack(model, rivals: model.Layer.NumberOfHeads - 1);

        AttackResult inside = attack.Attack(row, 0.98 * distance);
        Assert.False(inside.Succeeded, $"the attack reached class {inside.Class} at {inside.Distance}, inside the exact flip distance {distance}");

        AttackResult beyond = attack.Attack(row, 1.02 * distance);
        Assert.True(beyond.Succeeded, $"no flip found within {1.02 * distance}, though one exists at {distance}");
        Assert.Equal(nearest, beyond.Class);
        Assert.InRange(beyond.Distance, distance * (1 - 1e-9), 1.02 * distance * (1 + 1e-12));
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void SmallestSuccessfulRadiusOfALinearModelIsItsExactFlipDistanceWithinTwoPercent(string kind)
    {
        (HopfColeModel model, double[] row, double distance, _) = LinearCase(kind);
        var attack = new ProjectedGradientAttack(model, rivals: model.Layer.NumberOfHeads - 1);

        double found = attack.SmallestSuccessfulRadius(row, reference: distance / 2);

        Assert.InRange(found, distance * (1 - 1e-9), 1.02 * distance);
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void OnALinearModelTheCertifiedRadiusIsTheExactFlipDistanceAndTheAttackMeetsIt(string kind)
    {
        // One piece per head: the margin's Hessian bound K is 0, so r* = margin / ||grad margin||, the exact distance.
        (HopfColeModel model, double[] row, double distance, _) = LinearCase(kind);
        var attack = new ProjectedGradientAttack(model, rivals: model.Layer.NumberOfHeads - 1);

        double certified = new ModelExplainer(model).Certify(row).Radius;

        Assert.Equal(distance, certified, distance * 1e-12);
        Assert.False(attack.Attack(row, certified * (1 - 1e-9)).Succeeded);
        Assert.True(attack.Attack(row, certified * 1.02).Succeeded);
    }

    [Fact]
    public void AttackCannotFlipAModelWhoseMarginIsTheSameEverywhere()
    {
        // Both heads share their weights, so the margin f_0 - f_1 = b_0 - b_1 = 1 at every input.
        HopfColeModel model = Linear(ModelKind.BinaryClassification, [[1, -1], [1, -1]], [1, 0], Identity(2));
        var attack = new ProjectedGradientAttack(model);

        Assert.Equal(new AttackResult(false, 100, 0), attack.Attack([3, 4], 100));
        Assert.Equal(double.PositiveInfinity, attack.SmallestSuccessfulRadius([3, 4], reference: 1));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void NonPositiveRadiusLeavesTheRowWhereItIs(double radius)
    {
        (HopfColeModel model, double[] row, _, _) = LinearCase("multiclass");

        Assert.Equal(new AttackResult(false, 0, 0), new ProjectedGradientAttack(model).Attack(row, radius));
    }

    [Fact]
    public void AttackIsDeterministicForARow()
    {
        (HopfColeModel model, Dataset test) = models.Iris;
        var attack = new ProjectedGradientAttack(model);
        for (int row = 0; row < test.Rows; row++)
        {
            Assert.Equal(attack.Attack(test.Row(row), 0.7), attack.Attack(test.Row(row), 0.7));
        }
    }

    [Fact]
    public void RegressionModelsStepsAndRivalsBelowOneAndWrongRowLengthsAreRejected()
    {
        HopfColeModel regression = PrototypeModels.Regression(TestData.Load("diabetes.csv"), pieces: 8, viscosity: 1);
        ArgumentException noClass = Assert.Throws<ArgumentException>(() => new ProjectedGradientAttack(regression));
        Assert.Equal("model", noClass.ParamName);
        Assert.Contains("regression model has no class", noClass.Message);

        (HopfColeModel model, double[] row, _, _) = LinearCase("binary");
        Assert.Contains("steps (0) and rivals (3) must be at least 1", Assert.Throws<ArgumentException>(() => new ProjectedGradientAttack(model, steps: 0)).Message);
        Assert.Contains("steps (60) and rivals (0) must be at least 1", Assert.Throws<ArgumentException>(() => new ProjectedGradientAttack(model, rivals: 0)).Message);
        Assert.Contains("features has length 2 but the model was trained on 3 features", Assert.Throws<ArgumentException>(() => new ProjectedGradientAttack(model).Attack(row.AsSpan(0, 2), 1)).Message);
    }

    // The head a classifier predicts: the largest class score, or for binary head 0 (the positive class) iff the margin is > 0.
    private static int PredictedHead(HopfColeModel model, ReadOnlySpan<double> features)
    {
        var scores = new double[model.OutputLength];
        model.Score(features, scores);
        return model.Kind == ModelKind.BinaryClassification ? (scores[0] > 0 ? 0 : 1) : Array.IndexOf(scores, scores.Max());
    }

    // A model whose heads hold one linear piece each, f_c(z) = w_c . z + b_c on standardised z, with a row, the exact
    // distance (standardised units) from the row to the nearest input where another head wins, and that head.
    private static (HopfColeModel Model, double[] Row, double Distance, int Nearest) LinearCase(string kind)
    {
        if (kind == "binary")
        {
            // z = (1, 1, 0.5): f = (3, -1), margin 4 along w_0 - w_1 = (2, 2, -2), distance 4 / sqrt(12).
            var scaling = new FeatureScaling([1, -1, 0.5], [2, 0.5, 3]);
            double[][] weights = [[1, 2, -1], [-1, 0, 1]];
            double[] biases = [0.5, -0.5];
            return Case(Linear(ModelKind.BinaryClassification, weights, biases, scaling), weights, biases, [1, 1, 0.5]);
        }

        // z = (2, 1, 0.5): f = (2, 1, 1.65). Class 2 has the smaller margin (0.35, distance 0.35 / |(0.9, 0, -0.1)| = 0.387)
        // but class 1 is nearer (margin 1 along (4, 0, 0), distance 0.25).
        var multiclassScaling = new FeatureScaling([0.5, -1, 2], [2, 1, 0.25]);
        double[][] multiclassWeights = [[1, 0, 0], [-3, 0, 0], [0.1, 0, 0.1]];
        double[] multiclassBiases = [0, 7, 1.4];
        return Case(Linear(ModelKind.MulticlassClassification, multiclassWeights, multiclassBiases, multiclassScaling), multiclassWeights, multiclassBiases, [2, 1, 0.5]);

        static (HopfColeModel, double[], double, int) Case(HopfColeModel model, double[][] weights, double[] biases, double[] z)
        {
            var row = new double[z.Length];
            model.Scaling.Invert(z, row);
            double[] scores = weights.Select((w, c) => w.Zip(z, (a, b) => a * b).Sum() + biases[c]).ToArray();
            int predicted = Array.IndexOf(scores, scores.Max());
            Assert.Equal(0, predicted);
            (double distance, int nearest) = Enumerable.Range(0, weights.Length).Where(c => c != predicted)
                .Select(c => ((scores[predicted] - scores[c]) / Math.Sqrt(weights[predicted].Zip(weights[c], (a, b) => (a - b) * (a - b)).Sum()), c))
                .Min();
            return (model, row, distance, nearest);
        }
    }

    private static HopfColeModel Linear(ModelKind kind, double[][] weights, double[] biases, FeatureScaling scaling)
    {
        int d = weights[0].Length, heads = weights.Length;
        var layer = new LseLayer<double>(weights.SelectMany(w => w).ToArray(), biases, d, 0.5, heads);
        double[] classLabels = kind == ModelKind.BinaryClassification ? [0, 1] : [.. Enumerable.Range(0, heads).Select(c => (double)c)];
        string[] names = [.. Enumerable.Range(0, d).Select(k => $"x{k}")];
        return new HopfColeModel(kind, layer, scaling, names, classLabels, 0, 1, [.. Enumerable.Repeat(-1, heads)], time: 1);
    }

    private static FeatureScaling Identity(int d) => new(new double[d], [.. Enumerable.Repeat(1.0, d)]);
}
