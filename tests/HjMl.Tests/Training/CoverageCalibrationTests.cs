using HjMl.Data;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Tests.Embeddings;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class CoverageCalibrationTests
{
    public static TheoryData<string> EmbeddedNames => new() { "breast_cancer_0", "breast_cancer_2", "diabetes_2" };

    [Theory]
    [MemberData(nameof(EmbeddedNames))]
    public void BlockedRadiusOfAFlowModelIsTheRowByRowRadiusWithinRounding(string name)
    {
        (HopfColeModel model, Dataset test) = EmbeddedModels.Pick(name);
        AssertMatchesRowByRow(model, test);
    }

    [Fact]
    public void BlockedRadiusOfAPlainLayerIsTheRowByRowRadiusWithinRounding()
    {
        // digits: 1,797 rows, several tiles of rows and a last one part full.
        Dataset digits = TestData.Load("digits.csv");
        var options = new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 6, MaximumEpochs = 3, Seed = 4, MaximumDegreeOfParallelism = 2 };
        HopfColeModel model = new HopfColeTrainer(options).Fit(digits);
        Assert.True(double.IsFinite(model.CoverageRadius) && model.CoverageRadius > 0, $"the trained radius is {model.CoverageRadius}");
        AssertMatchesRowByRow(model, digits);
    }

    private static void AssertMatchesRowByRow(HopfColeModel model, Dataset rows)
    {
        TrainingBlock block = TrainingBlock.Create(rows, LabelEncoding.Fit(rows, model.Kind), model.Scaling, null, [.. Enumerable.Range(0, rows.Rows)]);
        double reference = RowByRow(model, model.Flow is null ? block : FlowSetup.Terminal(model.Flow, block));
        double one = CoverageCalibration.Radius(model, block, model.Flow, threads: 1);
        double two = CoverageCalibration.Radius(model, block, model.Flow, threads: 2);
        Assert.Equal(one, two);
        Assert.True(Math.Abs(one - reference) <= 1e-12 * reference, $"blocked {one} against row by row {reference}");
    }

    // The calibration as the trainer computed it before it went by tiles: each row's logits, then its nearest support point.
    private static double RowByRow(HopfColeModel model, TrainingBlock states)
    {
        double[] norms = SupportGeometry.WeightSquaredNorms(model.Layer);
        int d = states.Dimension;
        var logits = new double[model.Layer.Biases.Length];
        var distances = new double[states.Rows];
        for (int row = 0; row < states.Rows; row++)
        {
            ReadOnlySpan<double> z = states.Inputs.AsSpan(row * (d + 1), d);
            model.Layer.Logits(z, logits);
            distances[row] = SupportGeometry.NearestSupport(model.Layer, model.Time, z, logits, norms).Distance;
        }

        Array.Sort(distances);
        return distances[Math.Min(distances.Length - 1, (int)Math.Ceiling(0.99 * distances.Length) - 1)];
    }
}
