using HjMl.Kernels;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

public class LseKernelTests
{
    public static TheoryData<int> Widths => KernelWidths.All;

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryShapeAgreesWithTheReferenceInDoubleAndFloat(int bits)
    {
        VectorWidth width = KernelWidths.Of(bits);
        // Pieces 1..40 cover every tail of a vector and column blocks of 1, 2 and 3 vectors; rows 1..19 cover whole
        // register blocks and every remainder.
        var random = new Random(21);
        foreach (int heads in new[] { 1, 2, 3 })
        {
            for (int pieces = 1; pieces <= 40; pieces += heads)
            {
                int d = 1 + random.Next(12);
                int rows = 1 + random.Next(19);
                double eps = Math.Pow(10, random.Next(-3, 3));
                double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
                double[] biases = LayerCase.Draw(random, heads * pieces, 1);
                double[] inputs = LayerCase.Draw(random, rows * d, 2);
                var exact = new double[rows * heads];
                for (int row = 0; row < rows; row++)
                {
                    for (int head = 0; head < heads; head++)
                    {
                        exact[(row * heads) + head] = Reference.LogSumExp(Reference.Logits(weights, biases, inputs.AsSpan(row * d, d), head, pieces), eps);
                    }
                }

                var kernel = new LseKernel<double>(weights, biases, d, heads, width);
                var scores = new double[rows * heads];
                Assert.Equal(-1, kernel.EvaluateBatch<double>(inputs, scores, eps, Readout.Heads));
                var single = new LseKernel<float>(Array.ConvertAll(weights, v => (float)v), Array.ConvertAll(biases, v => (float)v), d, heads, width);
                var singleScores = new float[rows * heads];
                Assert.Equal(-1, single.EvaluateBatch<float>(Array.ConvertAll(inputs, v => (float)v), singleScores, eps, Readout.Heads));
                for (int i = 0; i < exact.Length; i++)
                {
                    double scale = Math.Max(1, Math.Abs(exact[i]));
                    Assert.True(Math.Abs(scores[i] - exact[i]) <= 1e-13 * scale, $"double, {heads} heads x {pieces} pieces, d = {d}: {scores[i]} against {exact[i]}");
                    Assert.True(Math.Abs(singleScores[i] - exact[i]) <= 2e-5 * scale, $"float, {heads} heads x {pieces} pieces, d = {d}: {singleScores[i]} against {exact[i]}");
                }
            }
        }
    }

    [Fact]
    public void LargeWeightsSweptPerTileAgreeWithTheReference()
    {
        // 300 x 256 float weights (300 KiB) are swept once per tile instead of once per 8 rows.
        var random = new Random(24);
        const int d = 300, heads = 2, pieces = 128, rows = 150;
        double[] weights = LayerCase.Draw(random, heads * pieces * d, 0.1);
        double[] biases = LayerCase.Draw(random, heads * pieces, 1);
        double[] inputs = LayerCase.Draw(random, rows * d, 2);
        var kernel = new LseKernel<float>(Array.ConvertAll(weights, v => (float)v), Array.ConvertAll(biases, v => (float)v), d, heads, LseKernel<float>.PreferredWidth);
        Assert.Equal(kernel.TileRows, kernel.ChunkRows);
        var scores = new double[rows * heads];
        Assert.Equal(-1, kernel.EvaluateBatch<double>(Array.ConvertAll(inputs, v => (float)v), scores, 0.25, Readout.Heads));
        for (int row = 0; row < rows; row++)
        {
            for (int head = 0; head < heads; head++)
            {
                double[] x = Array.ConvertAll(inputs.AsSpan(row * d, d).ToArray(), v => (double)(float)v);
                double[] w = Array.ConvertAll(weights, v => (double)(float)v);
                double[] b = Array.ConvertAll(biases, v => (double)(float)v);
                double exact = Reference.LogSumExp(Reference.Logits(w, b, x, head, pieces), 0.25);
                Assert.True(Math.Abs(scores[(row * heads) + head] - exact) <= 2e-5 * Math.Max(1, Math.Abs(exact)), $"row {row}, head {head}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ARowScoresBitIdenticallyAloneAndInABatch(int bits)
    {
        VectorWidth width = KernelWidths.Of(bits);
        var random = new Random(22);
        const int d = 7, heads = 2, pieces = 37, rows = 613;
        float[] weights = Array.ConvertAll(LayerCase.Draw(random, heads * pieces * d, 1), v => (float)v);
        float[] biases = Array.ConvertAll(LayerCase.Draw(random, heads * pieces, 1), v => (float)v);
        float[] inputs = Array.ConvertAll(LayerCase.Draw(random, rows * d, 2), v => (float)v);
        var kernel = new LseKernel<float>(weights, biases, d, heads, width);
        Assert.True(rows > kernel.TileRows, "the batch should span several tiles");
        var batch = new double[rows * heads];
        Assert.Equal(-1, kernel.EvaluateBatch<double>(inputs, batch, 0.3, Readout.Heads));
        var alone = new double[heads];
        for (int row = 0; row < rows; row++)
        {
            kernel.EvaluateRow(inputs.AsSpan(row * d, d), alone, 0.3);
            Assert.Equal(batch[row * heads], alone[0]);
            Assert.Equal(batch[(row * heads) + 1], alone[1]);
        }
    }

    [Fact]
    public void ZeroAndVanishingViscosityGiveTheMaximumLogit()
    {
        float[] weights = [1, 0, 0, 1, -1, -1];
        float[] biases = [0, 0.5f, -0.2f];
        float[] x = [0.3f, -0.4f];
        var kernel = new LseKernel<float>(weights, biases, 2, 1, LseKernel<float>.PreferredWidth);
        var score = new double[1];
        foreach (double eps in new[] { 0.0, 1e-45, 1e-300 })
        {
            kernel.EvaluateRow(x, score, eps);
            Assert.Equal(0.3f, (float)score[0]);
        }
    }

    [Fact]
    public void TheFirstInvalidRowIsReportedWhicheverTileFindsIt()
    {
        const int d = 3;
        var kernel = new LseKernel<double>(new double[2 * d], new double[2], d, 1, LseKernel<double>.PreferredWidth);
        int rows = 20 * kernel.TileRows;
        var inputs = new double[rows * d];
        inputs[((rows - 5) * d) + 1] = double.NaN;
        inputs[((3 * kernel.TileRows) + 2) * d] = double.PositiveInfinity;
        Assert.Equal((3 * kernel.TileRows) + 2, kernel.EvaluateBatch<double>(inputs, new double[rows], 1.0, Readout.Heads));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void EveryNonFiniteInputIsFoundWhateverTheWeights(double eps)
    {
        // Found from the scores, not a pass over the inputs: NaN and +-infinity must make some score non-finite for
        // positive, negative and zero weights alike.
        const int d = 4, heads = 2, pieces = 5, rows = 50;
        var random = new Random(23);
        double[] weights = LayerCase.Draw(random, heads * pieces * d, 1);
        weights[3] = 0;
        double[] biases = LayerCase.Draw(random, heads * pieces, 1);
        var kernel = new LseKernel<double>(weights, biases, d, heads, LseKernel<double>.PreferredWidth);
        var single = new LseKernel<float>(Array.ConvertAll(weights, v => (float)v), Array.ConvertAll(biases, v => (float)v), d, heads, LseKernel<float>.PreferredWidth);
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            for (int feature = 0; feature < d; feature++)
            {
                double[] inputs = LayerCase.Draw(random, rows * d, 2);
                inputs[(17 * d) + feature] = bad;
                Assert.Equal(17, kernel.EvaluateBatch<double>(inputs, new double[rows * heads], eps, Readout.Heads));
                Assert.Equal(17, single.EvaluateBatch<float>(Array.ConvertAll(inputs, v => (float)v), new float[rows * heads], eps, Readout.Heads));
            }
        }
    }
}
