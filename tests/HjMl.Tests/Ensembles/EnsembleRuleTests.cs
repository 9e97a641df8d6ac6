using HjMl.Ensembles;
using HjMl.Models;

namespace HjMl.Tests.Ensembles;

public class EnsembleRuleTests
{
    // Three members' margins on eight held-out rows: member 0 right and confident, member 1 weaker, member 2 wrong.
    private static readonly double[] Labels = [0, 1, 1, 0, 1, 0, 1, 1];

    private static double[] MemberScores()
    {
        var scores = new double[Labels.Length * 3];
        for (int row = 0; row < Labels.Length; row++)
        {
            double sign = Labels[row] == 1 ? 1 : -1;
            scores[row * 3] = 3 * sign;
            scores[(row * 3) + 1] = 0.5 * sign;
            scores[(row * 3) + 2] = -sign;
        }

        return scores;
    }

    [Theory]
    [InlineData(EnsembleCombination.GibbsWeights)]
    [InlineData(EnsembleCombination.LogSumExpPooling)]
    public void ARestoredRuleCombinesBitForBitAsTheFittedOne(EnsembleCombination combination)
    {
        EnsembleRule fitted = EnsembleRule.Fit(ModelKind.BinaryClassification, [0, 1], 3, MemberScores(), Labels, combination);
        EnsembleRule restored = EnsembleRule.Restore(fitted.Kind, fitted.ClassLabels, fitted.ValidationLosses, fitted.Combination, fitted.Viscosity, fitted.LabelScale, fitted.Search);

        Assert.Equal(fitted.GlobalWeights, restored.GlobalWeights);
        double[] row = [1.5, -0.25, 2];
        Span<double> expected = stackalloc double[1], actual = stackalloc double[1], expectedWeights = stackalloc double[3], actualWeights = stackalloc double[3];
        fitted.Combine(row, expected, expectedWeights);
        restored.Combine(row, actual, actualWeights);
        Assert.Equal(expected[0], actual[0]);
        Assert.Equal(expectedWeights.ToArray(), actualWeights.ToArray());
    }

    [Fact]
    public void RestoreRefusesStateThatCannotBeARule()
    {
        Assert.Throws<ArgumentException>(() => EnsembleRule.Restore(ModelKind.BinaryClassification, [0, 1], [], EnsembleCombination.GibbsWeights, 0.1, 1, []));
        Assert.Throws<ArgumentException>(() => EnsembleRule.Restore(ModelKind.BinaryClassification, [0, 1], [0.3, double.NaN], EnsembleCombination.GibbsWeights, 0.1, 1, []));
        Assert.Throws<ArgumentException>(() => EnsembleRule.Restore(ModelKind.BinaryClassification, [0, 1], [0.3], EnsembleCombination.GibbsWeights, -1, 1, []));
        Assert.Throws<ArgumentException>(() => EnsembleRule.Restore(ModelKind.Regression, [], [0.3], EnsembleCombination.GibbsWeights, 0.1, 0, []));
        Assert.Throws<ArgumentException>(() => EnsembleRule.Restore(ModelKind.BinaryClassification, [1, 1], [0.3], EnsembleCombination.GibbsWeights, 0.1, 1, []));
    }

    [Fact]
    public void TheFittedRuleWeighsTheBestMemberMost()
    {
        EnsembleRule rule = EnsembleRule.Fit(ModelKind.BinaryClassification, [0, 1], 3, MemberScores(), Labels, EnsembleCombination.GibbsWeights);
        Assert.Equal(0, rule.BestMember);
        Assert.True(rule.GlobalWeights[0] > rule.GlobalWeights[1] && rule.GlobalWeights[1] >= rule.GlobalWeights[2]);
    }
}
