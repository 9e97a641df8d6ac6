using HjMl.Attribution;
using HjMl.Data;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Robustness;
using HjMl.Tests.Attribution;
using Xunit.Abstractions;

namespace HjMl.Tests.Robustness;

public class FlowAttackTests(ITestOutputHelper output)
{
    public static TheoryData<string> Classifiers => ["iris", "breast_cancer", "lifted_iris"];

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void AttackThroughTheFlowNeverChangesAPredictionInsideTheWholeModelsCertifiedRadius(string set)
    {
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var explainer = new ModelExplainer(model);
        var attack = new ProjectedGradientAttack(model, steps: 100, rivals: model.Layer.NumberOfHeads - 1);
        var ratios = new List<double>();
        int certified = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            double radius = explainer.Certify(test.Row(row)).Radius;
            if (radius == 0)
            {
                continue;
            }

            certified++;
            AttackResult inside = attack.Attack(test.Row(row), radius * (1 - 1e-9));
            Assert.False(inside.Succeeded, $"{set} row {row}: the attack reached class {inside.Class} at distance {inside.Distance} inside r* = {radius}");
            if (ratios.Count < 20)
            {
                ratios.Add(attack.SmallestSuccessfulRadius(test.Row(row), radius) / radius);
            }
        }

        ratios.Sort();
        double median = ratios[ratios.Count / 2];
        output.WriteLine($"{set}: {certified} of {test.Rows} rows certified; on the first {ratios.Count}, median (smallest successful attack radius / r*) = {median:F2}");
        Assert.True(certified >= test.Rows / 2, $"{set}: only {certified} of {test.Rows} rows have a positive certified radius");
        Assert.True(ratios[0] >= 1);
    }

    [Theory]
    [MemberData(nameof(Classifiers))]
    public void AttackThroughTheFlowFindsFlipsWithinItsBudgetBall(string set)
    {
        // The adjoint's gradient steers the attack: some rows flip at radius 3 (standardised), none outside the ball.
        (HopfColeModel model, Dataset test) = FlowModels.Pick(set);
        var attack = new ProjectedGradientAttack(model, steps: 40, rivals: model.Layer.NumberOfHeads - 1);
        int flips = 0;
        for (int row = 0; row < test.Rows; row++)
        {
            Prediction before = model.Predict(test.Row(row));
            AttackResult result = attack.Attack(test.Row(row), 3);
            Assert.True(result.Distance <= 3 * (1 + 1e-12));
            if (result.Succeeded)
            {
                flips++;
                int predictedHead = model.Kind == ModelKind.BinaryClassification ? 1 - before.ClassIndex : before.ClassIndex;
                Assert.NotEqual(predictedHead, result.Class);
            }
        }

        output.WriteLine($"{set}: {flips} of {test.Rows} rows flipped within radius 3");
        Assert.True(flips > 0, $"{set}: no attack succeeded at radius 3");
    }

    [Fact]
    public void AttackThroughAFlowThatDoesNotMoveIsTheAttackOnItsReadOutAlone()
    {
        // Zero values leave z_L = z_0 exactly and the adjoint returns the read-out's own gradient.
        (HopfColeModel trained, Dataset test) = FlowModels.Iris;
        FlowShape shape = trained.Flow!.Shape;
        double[] parameters = trained.Flow.Parameters.ToArray();
        for (int set = 0; set < shape.ControlSets; set++)
        {
            Array.Clear(parameters, shape.ValuesOffset(set), shape.Pieces * shape.Width);
        }

        var still = new GibbsFlow(shape, trained.Flow.Horizon, trained.Flow.Viscosity, parameters);
        var single = new HopfColeModel(trained.Kind, trained.Layer, trained.Scaling, trained.FeatureNames, [.. trained.ClassLabels], 0, 1, [.. trained.SupportRows], trained.Time);
        var flowing = new HopfColeModel(trained.Kind, trained.Layer, trained.Scaling, trained.FeatureNames, [.. trained.ClassLabels], 0, 1, [.. trained.SupportRows], trained.Time, flow: still);
        var alone = new ProjectedGradientAttack(single, rivals: 2);
        var through = new ProjectedGradientAttack(flowing, rivals: 2);
        for (int row = 0; row < test.Rows; row++)
        {
            AttackResult expected = alone.Attack(test.Row(row), 1);
            AttackResult actual = through.Attack(test.Row(row), 1);
            Assert.Equal(expected.Succeeded, actual.Succeeded);
            Assert.Equal(expected.Class, actual.Class);
            Assert.Equal(expected.Distance, actual.Distance, 1e-9);
        }
    }
}
