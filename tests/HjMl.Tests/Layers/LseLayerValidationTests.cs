using HjMl.HopfCole;
using HjMl.Layers;

namespace HjMl.Tests.Layers;

public class LseLayerValidationTests
{
    private static readonly LseLayer<double> Layer = new([1, 2, 3, 4], [0, 1], 2, 0.5);

    [Fact]
    public void WrongInputLengthIsRejectedNamingTheDimension()
    {
        var problem = Assert.Throws<ArgumentException>(() => Layer.Evaluate([1.0, 2.0, 3.0]));
        Assert.Equal("input", problem.ParamName);
        Assert.Contains("length 3", problem.Message);
        Assert.Contains("input dimension 2", problem.Message);
    }

    [Fact]
    public void NaNInputIsRejectedNamingTheFeature()
    {
        var problem = Assert.Throws<ArgumentException>(() => Layer.Evaluate([1.0, double.NaN]));
        Assert.Equal("input", problem.ParamName);
        Assert.Contains("input[1] is NaN", problem.Message);
    }

    [Fact]
    public void InfiniteInputIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => Layer.Entropy([double.PositiveInfinity, 0.0]));
        Assert.Contains("input[0]", problem.Message);
        Assert.Contains("finite", problem.Message);
    }

    [Fact]
    public void NaNInBatchIsRejectedNamingTheRowAndFeature()
    {
        double[] inputs = [0, 0, 1, 1, 2, double.NaN];
        var problem = Assert.Throws<ArgumentException>(() => Layer.EvaluateBatch(inputs, new double[3]));
        Assert.Contains("row 2, feature 1", problem.Message);
    }

    [Fact]
    public void RaggedBatchIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => Layer.EvaluateBatch(new double[5], new double[3]));
        Assert.Contains("not a whole number of rows of 2", problem.Message);
    }

    [Fact]
    public void NegativeViscosityIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => new LseLayer<double>([1.0], [0.0], 1, -0.1));
        Assert.Equal("viscosity", problem.ParamName);
        Assert.Contains(">= 0", problem.Message);
        Assert.Throws<ArgumentException>(() => Layer.WithViscosity(double.NaN));
    }

    [Fact]
    public void EmptyLayerIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => new LseLayer<double>([], [], 2, 1.0));
        Assert.Equal("biases", problem.ParamName);
        Assert.Contains("N >= 1", problem.Message);
    }

    [Fact]
    public void WeightMatrixOfWrongShapeIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => new LseLayer<double>([1.0, 2, 3], [0.0, 1], 2, 1.0));
        Assert.Equal("weights", problem.ParamName);
        Assert.Contains("2 pieces of dimension 2", problem.Message);
    }

    [Fact]
    public void NaNWeightIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => new LseLayer<double>([1.0, double.NaN], [0.0], 2, 1.0));
        Assert.Contains("weights[1] is NaN", problem.Message);
    }

    [Fact]
    public void HeadOutOfRangeIsRejected()
    {
        var problem = Assert.Throws<ArgumentOutOfRangeException>(() => Layer.Evaluate([1.0, 2.0], 1));
        Assert.Equal("head", problem.ParamName);
    }

    [Fact]
    public void TooShortDestinationIsRejected()
    {
        var problem = Assert.Throws<ArgumentException>(() => Layer.GibbsWeights([1.0, 2.0], 0, new double[1]));
        Assert.Equal("gibbsWeights", problem.ParamName);
    }

    [Fact]
    public void NonPositiveTimeOrMeasureIsRejected()
    {
        Assert.Equal("time", Assert.Throws<ArgumentException>(() => HopfColeSolution<double>.FromLayer(Layer, 0.0)).ParamName);
        var problem = Assert.Throws<ArgumentException>(() => new HopfColeSolution<double>([0.0], [0.0], 1, 1.0, 1.0, [-1.0]));
        Assert.Contains("measureWeights[0]", problem.Message);
    }
}
