using HjMl.HopfCole;
using HjMl.Layers;
using HjMl.Tests.Support;

namespace HjMl.Tests.HopfCole;

public class HopfColeSolutionTests
{
    [Fact]
    public void LayerToSolutionAndBackIsLossless()
    {
        Properties.Hold(LayerCase.Arbitrary(-8, 8), c =>
        {
            LseLayer<double> layer = c.Layer();
            var measure = Enumerable.Range(1, layer.NumberOfPieces).Select(j => 0.5 + j).ToArray();
            var solution = HopfColeSolution<double>.FromLayer(layer, 0.7, 0, measure);
            LseLayer<double> back = solution.ToLayer();
            for (int i = 0; i < back.Weights.Length; i++)
            {
                Assert.Equal(layer.HeadWeights(0)[i], back.Weights[i], 1e-15 * Math.Max(1, Math.Abs(layer.HeadWeights(0)[i])));
            }

            // g_j carries t|w_j|^2 and eps log m_j, so the round trip is exact relative to the largest of them.
            double scale = layer.Viscosity * Math.Log(measure[^1]);
            foreach (double v in layer.HeadWeights(0))
            {
                scale = Math.Max(scale, v * v);
            }

            for (int j = 0; j < back.Biases.Length; j++)
            {
                Assert.Equal(layer.HeadBiases(0)[j], back.Biases[j], 1e-14 * Math.Max(scale, Math.Abs(layer.HeadBiases(0)[j])));
            }
        });
    }

    [Fact]
    public void NormalisedResidualIsZeroAndUnnormalisedIsMinusEpsDOver2t()
    {
        Properties.Hold(LayerCase.Arbitrary(-6, 6), c =>
        {
            LseLayer<double> layer = c.Layer();
            var solution = HopfColeSolution<double>.FromLayer(layer, 1.3);
            double[] x = c.Input();
            PdeResidual<double> normalised = solution.Residual(x, HeatKernelNormalisation.Normalised);
            PdeResidual<double> plain = solution.Residual(x, HeatKernelNormalisation.Unnormalised);
            double scale = Math.Max(1, Math.Abs(normalised.TimeDerivative) + normalised.GradientNormSquared + (layer.Viscosity * Math.Abs(normalised.Laplacian)));
            Assert.True(Math.Abs(normalised.Value) <= 1e-12 * scale, $"normalised residual {normalised.Value}");
            double expected = -layer.Viscosity * x.Length / (2 * 1.3);
            Assert.Equal(expected, solution.ExpectedResidual(HeatKernelNormalisation.Unnormalised), 15);
            Assert.True(Math.Abs(plain.Value - expected) <= 1e-12 * scale, $"unnormalised residual {plain.Value}, expected {expected}");
        });
    }

    [Fact]
    public void AnalyticResidualTermsMatchFiniteDifferences()
    {
        var random = new Random(5);
        const int d = 3;
        double[] y = LayerCase.Draw(random, 6 * d, 1);
        double[] g = LayerCase.Draw(random, 6, 1);
        foreach (double eps in new[] { 0.05, 0.5, 5.0 })
        {
            var solution = new HopfColeSolution<double>(y, g, d, 1.0, eps);
            double[] x = LayerCase.Draw(random, d, 1);
            PdeResidual<double> exact = solution.Residual(x, HeatKernelNormalisation.Normalised);
            const double step = 1e-4;
            var later = new HopfColeSolution<double>(y, g, d, 1.0 + step, eps);
            var earlier = new HopfColeSolution<double>(y, g, d, 1.0 - step, eps);
            double timeDerivative = (later.Evaluate(x, HeatKernelNormalisation.Normalised) - earlier.Evaluate(x, HeatKernelNormalisation.Normalised)) / (2 * step);
            Assert.Equal(exact.TimeDerivative, timeDerivative, 1e-5 * Math.Max(1, Math.Abs(timeDerivative)));
            double laplacian = 0;
            double u = solution.Evaluate(x, HeatKernelNormalisation.Normalised);
            for (int k = 0; k < d; k++)
            {
                double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                plus[k] += step;
                minus[k] -= step;
                laplacian += (solution.Evaluate(plus, HeatKernelNormalisation.Normalised) - (2 * u) + solution.Evaluate(minus, HeatKernelNormalisation.Normalised)) / (step * step);
            }

            Assert.Equal(exact.Laplacian, laplacian, 1e-3 * Math.Max(1, Math.Abs(laplacian)));
        }
    }

    [Fact]
    public void HopfLaxIsTheInviscidLimitWithinEpsLogN()
    {
        Properties.Hold(LayerCase.Arbitrary(-12, 2), c =>
        {
            var solution = HopfColeSolution<double>.FromLayer(c.Layer(), 1.0);
            double[] x = c.Input();
            double viscous = solution.Evaluate(x, HeatKernelNormalisation.Unnormalised);
            double inviscid = solution.HopfLax(x);
            double slack = 1e-13 * Math.Max(1, Math.Abs(inviscid));
            // u_eps = -eps LSE(a) lies in [u_0 - eps log N, u_0] (section 2 applied to -u).
            Assert.InRange(viscous, inviscid - (solution.Viscosity * Math.Log(solution.NumberOfSupportPoints)) - slack, inviscid + slack);
            var tropical = HopfColeSolution<double>.FromLayer(c.Layer().WithViscosity(0), 1.0);
            Assert.Equal(tropical.HopfLax(x), tropical.Evaluate(x));
        });
    }

    [Fact]
    public void MeasureWeightsEnterAsEpsLogM()
    {
        var layer = new LseLayer<double>([1.0, -1.0], [0.0, 0.0], 1, 0.3);
        var weighted = HopfColeSolution<double>.FromLayer(layer, 1.0, 0, [2.0, 0.5]).ToLayer();
        // m_j shifts g_j by eps log m_j and back, so the layer is unchanged.
        Assert.Equal(layer.Evaluate([0.4]), weighted.Evaluate([0.4]), 14);
        var solution = new HopfColeSolution<double>([0.0, 1.0], [0.0, 0.0], 1, 1.0, 0.3, [2.0, 1.0]);
        var plain = new HopfColeSolution<double>([0.0, 1.0], [-0.3 * Math.Log(2), 0.0], 1, 1.0, 0.3);
        Assert.Equal(plain.Evaluate([0.2]), solution.Evaluate([0.2]), 14);
    }
}
