using System.Numerics.Tensors;
using HjMl.Layers;

namespace HjMl.Models;

/// <summary>
/// Where a standardised row lies among a layer's support points y_j = 2t w_j (THEORY.md section 6): the geometry that
/// training (the coverage radius) and attribution (support coverage) both read.
/// </summary>
internal static class SupportGeometry
{
    /// <summary>|w_j|^2 of every piece, head-major: what <see cref="NearestSupport"/> needs besides the row's logits.</summary>
    public static double[] WeightSquaredNorms(LseLayer<double> layer)
    {
        int d = layer.InputDimension;
        var norms = new double[layer.Biases.Length];
        for (int j = 0; j < norms.Length; j++)
        {
            ReadOnlySpan<double> w = layer.Weights.Slice(j * d, d);
            norms[j] = TensorPrimitives.Dot(w, w);
        }

        return norms;
    }

    /// <summary>The distance from standardised row <paramref name="standardised"/> to the nearest support point, and its piece.</summary>
    /// <param name="layer">The layer whose pieces carry the support points.</param>
    /// <param name="time">t of the Hopf–Cole reading, y_j = 2t w_j.</param>
    /// <param name="standardised">The row z, standardised.</param>
    /// <param name="logits">The row's logits z . w_j + b_j of every piece, head-major.</param>
    /// <param name="weightSquaredNorms">|w_j|^2 of every piece (<see cref="WeightSquaredNorms"/>).</param>
    public static (double Distance, int Piece) NearestSupport(LseLayer<double> layer, double time, ReadOnlySpan<double> standardised, ReadOnlySpan<double> logits, ReadOnlySpan<double> weightSquaredNorms)
    {
        // |z - y_j|^2 with y_j = 2t w_j: |z|^2 - 4t (z . w_j) + 4t^2 |w_j|^2, and z . w_j = logit_j - b_j, so the logits serve.
        double zz = TensorPrimitives.Dot(standardised, standardised);
        double best = double.PositiveInfinity;
        int nearest = 0;
        ReadOnlySpan<double> biases = layer.Biases;
        for (int j = 0; j < logits.Length; j++)
        {
            double squared = zz - (4 * time * (logits[j] - biases[j])) + (4 * time * time * weightSquaredNorms[j]);
            if (squared < best)
            {
                best = squared;
                nearest = j;
            }
        }

        return (Math.Sqrt(Math.Max(best, 0)), nearest);
    }
}
