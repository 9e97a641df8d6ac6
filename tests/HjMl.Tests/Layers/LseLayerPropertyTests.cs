using System.Numerics.Tensors;
using HjMl.HopfCole;
using HjMl.Layers;
using HjMl.Tests.Support;

namespace HjMl.Tests.Layers;

public class LseLayerPropertyTests
{
    [Fact]
    public void LseEqualsHopfColeWithin1e12RelativeInDouble()
    {
        Properties.Hold(LayerCase.Arbitrary(), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            foreach (double time in new[] { 0.25, 1.0, 3.0 })
            {
                for (int head = 0; head < layer.NumberOfHeads; head++)
                {
                    var solution = HopfColeSolution<double>.FromLayer(layer, time, head);
                    double f = layer.Evaluate(x, head);
                    double quadratic = TensorPrimitives.Dot<double>(x, x) / (4 * time);
                    double u = solution.Evaluate(x, HeatKernelNormalisation.Unnormalised);
                    double scale = LargestTerm(layer, head, x, time, f);
                    Assert.True(Math.Abs(f - (quadratic - u)) <= 1e-12 * scale, $"t={time} head={head}: f={f}, |x|^2/4t - u={quadratic - u}, scale {scale}");
                }
            }
        });
    }

    [Fact]
    public void LseEqualsHopfColeWithin1e5RelativeInFloat()
    {
        Properties.Hold(LayerCase.Arbitrary(-16, 16), c =>
        {
            LseLayer<double> exact = c.Layer();
            LseLayer<float> layer = ToFloat(exact);
            float[] x = Array.ConvertAll(c.Input(), v => (float)v);
            const float time = 1f;
            var solution = HopfColeSolution<float>.FromLayer(layer, time);
            float f = layer.Evaluate(x);
            float quadratic = TensorPrimitives.Dot<float>(x, x) / (4 * time);
            float u = solution.Evaluate(x, HeatKernelNormalisation.Unnormalised);
            double scale = LargestTerm(exact, 0, Array.ConvertAll(x, v => (double)v), time, f);
            Assert.True(Math.Abs(f - (quadratic - u)) <= 1e-5 * scale, $"f={f}, |x|^2/4t - u={quadratic - u}, scale {scale}");
        });
    }

    [Fact]
    public void ScoreLiesBetweenMaxAndMaxPlusEpsLogN()
    {
        Properties.Hold(LayerCase.Arbitrary(allowZeroViscosity: true), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            var logits = new double[layer.NumberOfPieces * layer.NumberOfHeads];
            layer.Logits(x, logits);
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                double max = TensorPrimitives.Max<double>(logits.AsSpan(head * layer.NumberOfPieces, layer.NumberOfPieces));
                double f = layer.Evaluate(x, head);
                double slack = 1e-14 * Math.Max(1, Math.Abs(max));
                Assert.InRange(f, max - slack, max + (layer.Viscosity * Math.Log(layer.NumberOfPieces)) + slack + (1e-15 * Math.Abs(f)));
            }
        });
    }

    [Fact]
    public void TropicalLimitIsTheMaximumExactly()
    {
        Properties.Hold(LayerCase.Arbitrary(), c =>
        {
            LseLayer<double> layer = c.Layer().WithViscosity(0);
            double[] x = c.Input();
            var logits = new double[layer.NumberOfPieces];
            layer.HeadLogits(x, 0, logits);
            Assert.Equal(TensorPrimitives.Max<double>(logits), layer.Evaluate(x, 0));
        });
    }

    [Fact]
    public void HessianNormWithinBothBounds()
    {
        Properties.Hold(LayerCase.Arbitrary(), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                double norm = layer.HessianSpectralNorm(x, head);
                double diameterBound = layer.HessianDiameterBound(head);
                double weightBound = layer.HessianWeightNormBound(head);
                Assert.True(norm >= 0 && double.IsFinite(norm));
                Assert.True(norm <= diameterBound * (1 + 1e-9), $"||H|| = {norm} > diam^2/(4 eps) = {diameterBound}");
                Assert.True(diameterBound <= weightBound * (1 + 1e-12), $"diam^2/(4 eps) = {diameterBound} > max|w|^2/eps = {weightBound}");
            }
        });
    }

    [Fact]
    public void SpectralNormEqualsLargestEigenvalueOfTheHessian()
    {
        Properties.Hold(LayerCase.Arbitrary(-4, 4), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            int d = layer.InputDimension;
            var hessian = new double[d * d];
            layer.Hessian(x, 0, hessian);
            double norm = layer.HessianSpectralNorm(x);
            // Rayleigh quotients of the explicit Hessian never exceed its top eigenvalue, and power iteration reaches it.
            var v = Enumerable.Repeat(1.0, d).ToArray();
            var next = new double[d];
            double rayleigh = 0;
            for (int iteration = 0; iteration < 2000; iteration++)
            {
                for (int i = 0; i < d; i++)
                {
                    next[i] = TensorPrimitives.Dot<double>(hessian.AsSpan(i * d, d), v);
                }

                rayleigh = TensorPrimitives.Dot<double>(next, v) / TensorPrimitives.Dot<double>(v, v);
                double length = TensorPrimitives.Norm<double>(next);
                if (length == 0)
                {
                    break;
                }

                TensorPrimitives.Divide(next, length, v);
            }

            Assert.True(rayleigh <= (norm * (1 + 1e-9)) + (1e-12 * layer.HessianDiameterBound()), $"Rayleigh {rayleigh} > norm {norm}");
            Assert.True(rayleigh >= norm * (1 - 1e-3) - (1e-12 * layer.HessianDiameterBound()), $"power iteration {rayleigh} far below norm {norm}");
        }, 150);
    }

    [Fact]
    public void DecompositionSumsToScore()
    {
        Properties.Hold(LayerCase.Arbitrary(allowZeroViscosity: true), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            var contributions = new double[layer.InputDimension];
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                LseDecomposition<double> parts = layer.Decompose(x, head, contributions);
                Assert.Equal(layer.Evaluate(x, head), parts.Score);
                Assert.Equal(TensorPrimitives.Sum<double>(contributions), parts.FeatureTerm, 12);
                double scale = Math.Max(1, Math.Abs(parts.Score) + TensorPrimitives.SumOfMagnitudes<double>(contributions) + Math.Abs(parts.BiasTerm) + Math.Abs(parts.EntropyTerm) + MaxLogit(layer, head, x));
                Assert.True(Math.Abs(parts.Sum - parts.Score) <= 1e-12 * scale, $"sum {parts.Sum} vs score {parts.Score}");
                Assert.InRange(parts.Entropy, 0, Math.Log(layer.NumberOfPieces) + 1e-12);
            }
        });
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        Properties.Hold(LayerCase.Arbitrary(-2, 4), c =>
        {
            LseLayer<double> layer = new LayerCase(c.Seed, c.Dimension, c.Pieces, 1, c.ViscosityExponent, 0).Layer();
            double[] x = c.Input();
            int d = layer.InputDimension;
            var gradient = new double[d];
            layer.Gradient(x, 0, gradient);
            double step = 1e-5 * Math.Max(1, layer.Viscosity);
            for (int k = 0; k < d; k++)
            {
                double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                plus[k] += step;
                minus[k] -= step;
                double difference = (layer.Evaluate(plus) - layer.Evaluate(minus)) / (2 * step);
                Assert.True(Math.Abs(difference - gradient[k]) <= 1e-5 * Math.Max(1, Math.Abs(gradient[k])), $"feature {k}: analytic {gradient[k]}, finite difference {difference}");
            }
        });
    }

    [Fact]
    public void EntropyGradientMatchesFiniteDifferences()
    {
        Properties.Hold(LayerCase.Arbitrary(-2, 4), c =>
        {
            LseLayer<double> layer = new LayerCase(c.Seed, c.Dimension, c.Pieces, c.Heads, c.ViscosityExponent, 0).Layer();
            double[] x = c.Input();
            int d = layer.InputDimension;
            var gradient = new double[d];
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                double entropy = layer.EntropyGradient(x, head, gradient);
                Assert.Equal(layer.Entropy(x, head), entropy, 14);

                // H moves on the scale eps of the logits, so the step follows eps; the gradient is O(|w| / eps).
                double step = 1e-6 * layer.Viscosity;
                double scale = Math.Max(1, Math.Abs(TensorPrimitives.MaxMagnitude<double>(gradient)));
                for (int k = 0; k < d; k++)
                {
                    double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                    plus[k] += step;
                    minus[k] -= step;
                    double difference = (layer.Entropy(plus, head) - layer.Entropy(minus, head)) / (2 * step);
                    Assert.True(Math.Abs(difference - gradient[k]) <= 1e-5 * scale, $"head {head}, feature {k}: analytic {gradient[k]}, finite difference {difference}");
                }
            }
        });
    }

    [Fact]
    public void EntropyGradientIsZeroAtTheTropicalLimit()
    {
        var layer = new LseLayer<double>([1, 0, 0, 1, -1, -1], [0, 0.5, -0.2], 2, 0);
        var gradient = new double[] { double.NaN, double.NaN };
        Assert.Equal(0, layer.EntropyGradient([0.3, -0.4], 0, gradient));
        Assert.Equal([0.0, 0.0], gradient);
    }

    [Fact]
    public void HessianMatchesFiniteDifferencesOfTheGradient()
    {
        Properties.Hold(LayerCase.Arbitrary(-2, 4), c =>
        {
            LseLayer<double> layer = new LayerCase(c.Seed, c.Dimension, c.Pieces, 1, c.ViscosityExponent, 0).Layer();
            double[] x = c.Input();
            int d = layer.InputDimension;
            var hessian = new double[d * d];
            layer.Hessian(x, 0, hessian);
            double step = 1e-6 * Math.Max(1, layer.Viscosity);
            double scale = Math.Max(1, Math.Abs(TensorPrimitives.MaxMagnitude<double>(hessian)));
            var plusGradient = new double[d];
            var minusGradient = new double[d];
            for (int k = 0; k < d; k++)
            {
                double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                plus[k] += step;
                minus[k] -= step;
                layer.Gradient(plus, 0, plusGradient);
                layer.Gradient(minus, 0, minusGradient);
                for (int i = 0; i < d; i++)
                {
                    double difference = (plusGradient[i] - minusGradient[i]) / (2 * step);
                    Assert.True(Math.Abs(difference - hessian[(i * d) + k]) <= 1e-4 * scale, $"H[{i},{k}]: analytic {hessian[(i * d) + k]}, finite difference {difference}");
                }
            }
        });
    }

    [Fact]
    public void FloatAndDoubleAgree()
    {
        Properties.Hold(LayerCase.Arbitrary(-16, 16), c =>
        {
            LseLayer<double> exact = c.Layer();
            LseLayer<float> single = ToFloat(exact);
            double[] x = c.Input();
            float[] xf = Array.ConvertAll(x, v => (float)v);
            double[] xRounded = Array.ConvertAll(xf, v => (double)v);
            for (int head = 0; head < exact.NumberOfHeads; head++)
            {
                double expected = exact.Evaluate(xRounded, head);
                float actual = single.Evaluate(xf, head);
                double scale = Math.Max(1, Math.Abs(expected) + MaxLogit(exact, head, xRounded));
                Assert.True(Math.Abs(actual - expected) <= 1e-5 * scale, $"float {actual}, double {expected}");
            }
        });
    }

    [Fact]
    public void EntropyNeverFallsAsViscosityGrows()
    {
        Properties.Hold(LayerCase.Arbitrary(-6, 6), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            double previous = 0;
            for (int exponent = -8; exponent <= 8; exponent++)
            {
                double entropy = layer.WithViscosity(Math.Pow(10, exponent / 2.0)).Entropy(x);
                Assert.True(entropy >= previous - 1e-12, $"H fell from {previous} to {entropy} at eps = 1e{exponent / 2.0}");
                previous = entropy;
            }
        });
    }

    [Fact]
    public void BatchScoresEqualSingleRowScores()
    {
        Properties.Hold(LayerCase.Arbitrary(allowZeroViscosity: true), c =>
        {
            LseLayer<double> layer = c.Layer();
            var random = new Random(c.Seed);
            int rows = 1 + random.Next(700);
            double[] inputs = LayerCase.Draw(random, rows * layer.InputDimension, 2);
            var scores = new double[rows * layer.NumberOfHeads];
            layer.EvaluateBatch(inputs, scores);
            var single = new double[layer.NumberOfHeads];
            for (int row = 0; row < rows; row += 37)
            {
                layer.Evaluate(inputs.AsSpan(row * layer.InputDimension, layer.InputDimension), single);
                for (int head = 0; head < layer.NumberOfHeads; head++)
                {
                    Assert.Equal(single[head], scores[(row * layer.NumberOfHeads) + head], 1e-12 * Math.Max(1, Math.Abs(single[head])));
                }
            }
        }, 60);
    }

    [Theory]
    [InlineData(1e-12)]
    [InlineData(1e-6)]
    [InlineData(1.0)]
    [InlineData(1e12)]
    public void ExtremeViscosityAndLogitsStayFiniteInFloatAndDouble(double eps)
    {
        // Biases of +-1e30 make logits of +-1e30; weights of 1e6 on inputs of 1e3 spread the rest.
        double[] weights = [1e6, -1e6, 0.5, 3, -2, 1e-6, 0, 0];
        double[] biases = [1e30, -1e30, 1e30, 0];
        double[][] inputs = [[1e3, -1e3], [0, 0], [-1e3, 1e3], [1e-30, 5]];
        var exact = new LseLayer<double>(weights, biases, 2, eps);
        var single = new LseLayer<float>(Array.ConvertAll(weights, v => (float)v), Array.ConvertAll(biases, v => (float)v), 2, (float)eps);
        foreach (double[] x in inputs)
        {
            AssertEverythingFinite(exact, x);
            AssertEverythingFinite(single, Array.ConvertAll(x, v => (float)v));
        }
    }

    private static void AssertEverythingFinite<T>(LseLayer<T> layer, T[] x)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int d = layer.InputDimension;
        var buffer = new T[Math.Max(layer.NumberOfPieces, d * d)];
        Assert.True(T.IsFinite(layer.Evaluate(x)), $"f({string.Join(",", x)}) at eps {layer.Viscosity}");
        layer.GibbsWeights(x, 0, buffer);
        Assert.All(buffer, v => Assert.True(T.IsFinite(v)));
        Assert.Equal(1.0, double.CreateChecked(TensorPrimitives.Sum<T>(buffer.AsSpan(0, layer.NumberOfPieces))), 5);
        layer.Gradient(x, 0, buffer);
        Assert.All(buffer, v => Assert.True(T.IsFinite(v)));
        layer.Hessian(x, 0, buffer);
        Assert.All(buffer, v => Assert.True(T.IsFinite(v)));
        Assert.True(T.IsFinite(layer.HessianSpectralNorm(x)));
        Assert.True(T.IsFinite(layer.Entropy(x)));
        LseDecomposition<T> parts = layer.Decompose(x, 0, buffer);
        Assert.True(T.IsFinite(parts.Sum) && T.IsFinite(parts.EntropyTerm));
    }

    internal static LseLayer<float> ToFloat(LseLayer<double> layer)
        => new(ToFloat(layer.Weights), ToFloat(layer.Biases), layer.InputDimension, (float)layer.Viscosity, layer.NumberOfHeads);

    private static float[] ToFloat(ReadOnlySpan<double> values)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = (float)values[i];
        }

        return result;
    }

    private static double MaxLogit(LseLayer<double> layer, int head, double[] x)
    {
        var logits = new double[layer.NumberOfPieces];
        layer.HeadLogits(x, head, logits);
        return Math.Abs(TensorPrimitives.MaxMagnitude<double>(logits));
    }

    // The largest magnitude among the terms the identity adds up: f, |x|^2/4t, t|w|^2, |b|, the logits.
    private static double LargestTerm(LseLayer<double> layer, int head, double[] x, double time, double f)
    {
        double largest = Math.Max(1, Math.Max(Math.Abs(f), TensorPrimitives.Dot<double>(x, x) / (4 * time)));
        ReadOnlySpan<double> w = layer.HeadWeights(head);
        for (int j = 0; j < layer.NumberOfPieces; j++)
        {
            ReadOnlySpan<double> wj = w.Slice(j * layer.InputDimension, layer.InputDimension);
            largest = Math.Max(largest, time * TensorPrimitives.Dot(wj, wj));
            largest = Math.Max(largest, Math.Abs(layer.HeadBiases(head)[j]));
        }

        return Math.Max(largest, MaxLogit(layer, head, x));
    }
}
