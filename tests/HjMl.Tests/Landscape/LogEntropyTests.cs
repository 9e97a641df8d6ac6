using HjMl.Landscape;
using HjMl.Layers;
using HjMl.Numerics;
using HjMl.Tests.Support;

namespace HjMl.Tests.Landscape;

public class LogEntropyTests
{
    [Fact]
    public void LogEntropyIsTheLogarithmOfTheEntropyKernel()
    {
        Properties.Hold(LayerCase.Arbitrary(-6, 6), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            int n = layer.NumberOfPieces;
            var logits = new double[n * layer.NumberOfHeads];
            layer.Logits(x, logits);
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                double entropy = layer.Entropy(x, head);
                double logEntropy = LogEntropy.Evaluate(logits.AsSpan(head * n, n), layer.Viscosity, new double[3 * n]);

                // Where H is well above underflow the kernel is accurate to rounding relative to H; below, only log H is.
                if (entropy > 1e-200)
                {
                    Assert.True(Math.Abs(Math.Exp(logEntropy) - entropy) <= 1e-10 * entropy + 1e-15, $"head {head}: exp(log H) = {Math.Exp(logEntropy)}, H = {entropy}");
                }
                else
                {
                    Assert.True(logEntropy < Math.Log(1e-190), $"head {head}: log H = {logEntropy} but H = {entropy}");
                }
            }
        });
    }

    [Fact]
    public void LogEntropyGradientIsTheEngineEntropyGradientOverTheEntropy()
    {
        Properties.Hold(LayerCase.Arbitrary(-2, 4), c =>
        {
            LseLayer<double> layer = c.Layer();
            double[] x = c.Input();
            int n = layer.NumberOfPieces;
            int d = layer.InputDimension;
            var logits = new double[n * layer.NumberOfHeads];
            layer.Logits(x, logits);
            var gradient = new double[d];
            var logGradient = new double[d];
            for (int head = 0; head < layer.NumberOfHeads; head++)
            {
                layer.EntropyGradient(x, head, gradient);
                double logEntropy = LogEntropy.Evaluate(logits.AsSpan(head * n, n), layer.Viscosity, new double[3 * n], layer.HeadWeights(head), d, logGradient);

                // grad log H = grad H / H; H from log H, which keeps its relative accuracy where H is tiny.
                double entropy = Math.Exp(logEntropy);
                if (entropy < 1e-280)
                {
                    continue;
                }

                double scale = Math.Max(1e-300, Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<double>(logGradient)));
                for (int k = 0; k < d; k++)
                {
                    Assert.True(Math.Abs((gradient[k] / entropy) - logGradient[k]) <= 1e-8 * scale, $"head {head}, feature {k}: grad H / H = {gradient[k] / entropy}, grad log H = {logGradient[k]} (log H {logEntropy})");
                }
            }
        });
    }

    [Fact]
    public void LogEntropyGradientMatchesFiniteDifferencesEvenWhereTheEntropyUnderflows()
    {
        Properties.Hold(LayerCase.Arbitrary(-6, 4), c =>
        {
            LseLayer<double> layer = new LayerCase(c.Seed, c.Dimension, Math.Max(2, c.Pieces), 1, c.ViscosityExponent, 0).Layer();
            double[] x = c.Input();
            int n = layer.NumberOfPieces;
            int d = layer.InputDimension;
            var logits = new double[n];
            var gradient = new double[d];
            layer.Logits(x, logits);
            LogEntropy.Evaluate(logits, layer.Viscosity, new double[3 * n], layer.HeadWeights(0), d, gradient);
            double step = 1e-5 * layer.Viscosity;
            double scale = Math.Max(1, Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<double>(gradient)));
            for (int k = 0; k < d; k++)
            {
                double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                plus[k] += step;
                minus[k] -= step;
                layer.Logits(plus, logits);
                double up = LogEntropy.Evaluate(logits, layer.Viscosity, new double[3 * n]);
                layer.Logits(minus, logits);
                double down = LogEntropy.Evaluate(logits, layer.Viscosity, new double[3 * n]);
                if (double.IsNegativeInfinity(up) || double.IsNegativeInfinity(down))
                {
                    continue; // a single piece: H = 0 exactly on both sides
                }

                double difference = (up - down) / (2 * step);
                Assert.True(Math.Abs(difference - gradient[k]) <= 1e-5 * scale, $"feature {k}: analytic {gradient[k]}, finite difference {difference}");
            }
        });
    }

    [Fact]
    public void LogEntropyStaysFiniteWhereTheEntropyUnderflows()
    {
        // Gap 1 over eps 1e-3: exp(-1000) underflows, so H is exactly 0 in double, but log H = -1000 + log(1001) + ...
        double[] logits = [0, -1];
        var layer = new LseLayer<double>([0.0, 0.0], logits, 1, 1e-3);
        Assert.Equal(0, layer.Entropy([0.0]));
        double logEntropy = LogEntropy.Evaluate(logits, 1e-3, new double[6]);
        Assert.Equal(-1000 + Math.Log(1001), logEntropy, 1e-9);
        Assert.Equal(double.NegativeInfinity, LogEntropy.Evaluate([3.0], 0.5, new double[3]));
        Assert.Equal(Math.Log(Math.Log(2)), LogEntropy.Evaluate([1.0, 1.0, -2.0], 0, new double[9]), 15);
    }
}
