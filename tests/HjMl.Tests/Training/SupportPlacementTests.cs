using HjMl.Data;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class SupportPlacementTests
{
    [Fact]
    public void KMeansPlusPlusChoosesTheSameRowsOnOneCoreAndOnSeveral()
    {
        // digits three times over (5,391 rows x 64): enough rows that the distances split into chunks over the cores.
        Dataset digits = TestData.Load("digits.csv");
        int d = digits.Columns;
        int copies = 3;
        var inputs = new double[copies * digits.Features.Length];
        for (int copy = 0; copy < copies; copy++)
        {
            digits.Features.CopyTo(inputs.AsSpan(copy * digits.Features.Length));
        }

        int[] candidates = [.. Enumerable.Range(0, copies * digits.Rows)];
        int[] one = SupportInitialiser.Choose(inputs, d, d, candidates, 48, kMeansPlusPlus: true, new Random(5), threads: 1);
        int[] several = SupportInitialiser.Choose(inputs, d, d, candidates, 48, kMeansPlusPlus: true, new Random(5), threads: 4);
        Assert.Equal(one, several);
        Assert.True(one.Distinct().Count() > 40, "k-means++ spreads its picks over distinct rows");
    }
}
