using HjMl.Attribution;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;

namespace HjMl.Tests.Attribution;

/// <summary>
/// Explanations and certificates of a binary model whose weights (4.8 MB) take the fused sweep, where E_pi[w] comes from
/// the scoring pass itself, against the layer's own gradient and decomposition.
/// </summary>
public class FusedExplanationTests
{
    private const int Dimension = 300;
    private const int Pieces = 1000;

    [Fact]
    public void FusedExplanationsDecomposeExactlyAndCertificatesBoundTheTrueGradient()
    {
        var random = new Random(71);
        HopfColeModel model = Model(random);
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 3);
        var first = new double[Dimension];
        var second = new double[Dimension];
        var standardised = new double[Dimension];
        for (int row = 0; row < 5; row++)
        {
            double[] features = LayerCase.Draw(random, Dimension, 1);
            explainer.Explain(features, explanation);
            Assert.Equal(model.Predict(features), explanation.Prediction);
            foreach (Decomposition part in new[] { explanation.Class, explanation.Margin })
            {
                Assert.True(Math.Abs(part.Sum - part.Value) <= 1e-12 * Math.Max(1, Math.Abs(part.Value)), $"row {row}: parts sum to {part.Sum}, value {part.Value}");
            }

            // The margin's contributions are z_k (E_0 - E_1)_k, E from the layer's own gradient.
            model.Scaling.Apply(features, standardised);
            model.Layer.Gradient(standardised, 0, first);
            model.Layer.Gradient(standardised, 1, second);
            double squared = 0;
            for (int k = 0; k < Dimension; k++)
            {
                double difference = first[k] - second[k];
                squared += difference * difference;
                Assert.True(Math.Abs(explanation.Margin.FeatureContributions[k] - (standardised[k] * difference)) <= 1e-13 * (1 + Math.Abs(standardised[k])), $"row {row}, feature {k}");
            }

            // The certificate's gradient norm bounds the true one from above, and only by its rounding allowance.
            Certificate certificate = explainer.Certify(features);
            double exact = Math.Sqrt(squared);
            Assert.InRange(certificate.GradientNorm, exact * (1 - 1e-13), exact + 1e-6);
        }
    }

    // A binary model built as the trainer initialises one (THEORY.md section 1): w_j = y_j / (2t), b_j = -|y_j|^2 / (4t).
    private static HopfColeModel Model(Random random)
    {
        double time = Dimension / 4.0;
        int all = 2 * Pieces;
        var weights = new double[all * Dimension];
        var biases = new double[all];
        for (int j = 0; j < all; j++)
        {
            double squared = 0;
            for (int k = 0; k < Dimension; k++)
            {
                double y = LayerCase.Draw(random, 1, 2)[0];
                weights[(j * Dimension) + k] = y / (2 * time);
                squared += y * y;
            }

            biases[j] = (-squared / (4 * time)) + (0.5 * (random.NextDouble() - 0.5));
        }

        var layer = new LseLayer<double>(weights, biases, Dimension, 0.5, 2);
        var scaling = new FeatureScaling(new double[Dimension], Enumerable.Repeat(1.0, Dimension).ToArray());
        string[] names = [.. Enumerable.Range(0, Dimension).Select(k => $"x{k}")];
        return new HopfColeModel(ModelKind.BinaryClassification, layer, scaling, names, [0, 1], 0, 1, Enumerable.Repeat(-1, all).ToArray(), time);
    }
}
