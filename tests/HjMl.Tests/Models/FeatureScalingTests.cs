using HjMl.Data;
using HjMl.Models;

namespace HjMl.Tests.Models;

public class FeatureScalingTests
{
    [Fact]
    public void ARareIndicatorStandsAtMostFourUnitsFromItsMeanWhileAContinuousColumnKeepsItsStandardDeviation()
    {
        // Column 0: a one-hot category present in 1 row of 1000; column 1: a continuous ramp; column 2: a common indicator.
        const int rows = 1000;
        var features = new double[rows * 3];
        for (int row = 0; row < rows; row++)
        {
            features[row * 3] = row == 17 ? 1 : 0;
            features[(row * 3) + 1] = row;
            features[(row * 3) + 2] = row % 2;
        }

        var data = new Dataset(features, new double[rows], ["rare", "ramp", "common"]);
        FeatureScaling scaling = FeatureScaling.Fit(data);
        var standardised = new double[3];
        scaling.Apply(data.Row(17), standardised);
        Assert.InRange(standardised[0], 3.9, 4.0);
        Assert.Equal(Math.Sqrt(rows * ((rows * rows) - 1) / 12.0 / (rows - 1)), scaling.Scales[1], 1e-9);
        Assert.Equal(Math.Sqrt(0.25 * rows / (rows - 1)), scaling.Scales[2], 1e-12);
    }
}
