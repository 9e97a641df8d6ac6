using System.Numerics.Tensors;
using HjMl.Data;

namespace HjMl.Models;

/// <summary>
/// Per-feature standardisation z_k = (x_k - mean_k) / scale_k, fitted on training rows and stored in the model,
/// because distances to support points, the diffusion radius sqrt(2 eps t) and certified radii all depend on scale.
/// Immutable.
/// </summary>
public sealed class FeatureScaling
{
    private readonly double[] means;
    private readonly double[] scales;

    /// <summary>Creates a scaling from means and positive scales.</summary>
    public FeatureScaling(double[] means, double[] scales)
    {
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(scales);
        if (means.Length != scales.Length || means.Length == 0)
        {
            throw new ArgumentException($"means has {means.Length} entries and scales {scales.Length}; they need one per feature (at least one).", nameof(scales));
        }

        for (int k = 0; k < scales.Length; k++)
        {
            if (!(scales[k] > 0) || !double.IsFinite(scales[k]) || !double.IsFinite(means[k]))
            {
                throw new ArgumentException($"Feature {k}: mean {means[k]}, scale {scales[k]}; means must be finite and scales finite and > 0.", nameof(scales));
            }
        }

        this.means = means;
        this.scales = scales;
    }

    /// <summary>Per-feature means.</summary>
    public ReadOnlySpan<double> Means => means;

    /// <summary>Per-feature scales (standard deviations, floored).</summary>
    public ReadOnlySpan<double> Scales => scales;

    /// <summary>d.</summary>
    public int Dimension => means.Length;

    /// <summary>
    /// Fits means and standard deviations on <paramref name="data"/>. A scale is floored at 5% of the column's range,
    /// so that a nearly constant column (a border pixel that is almost always 0) cannot turn one unusual value into a
    /// huge standardised one; a typical column's standard deviation is a quarter of its range or more, so the floor
    /// leaves it alone. An indicator column (only two values, as one-hot encoding makes) is floored at a quarter of its
    /// range instead, so that a rare category (frequency p, standard deviation sqrt(p (1 - p))) stands at most 4 units
    /// from the mean rather than 1 / sqrt(p) (30 at p = 0.001): such a lever lets a few rows pull pieces of their own, and
    /// on one-hot data the validation loss rose from the first epoch. A constant column gets scale 1.
    /// </summary>
    public static FeatureScaling Fit(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int d = data.Columns;
        var means = new double[d];
        var variances = new double[d];
        for (int row = 0; row < data.Rows; row++)
        {
            TensorPrimitives.Add(means, data.Row(row), means);
        }

        TensorPrimitives.Divide(means, data.Rows, means);
        var centred = new double[d];
        var minimums = data.Row(0).ToArray();
        var maximums = data.Row(0).ToArray();
        for (int row = 0; row < data.Rows; row++)
        {
            TensorPrimitives.Subtract(data.Row(row), means, centred);
            TensorPrimitives.MultiplyAdd(centred, centred, variances, variances);
            TensorPrimitives.Min(minimums, data.Row(row), minimums);
            TensorPrimitives.Max(maximums, data.Row(row), maximums);
        }

        TensorPrimitives.Divide(variances, Math.Max(1, data.Rows - 1), variances);
        var indicators = new bool[d];
        Array.Fill(indicators, true);
        for (int row = 0; row < data.Rows; row++)
        {
            ReadOnlySpan<double> values = data.Row(row);
            for (int k = 0; k < d; k++)
            {
                indicators[k] &= values[k] == minimums[k] || values[k] == maximums[k];
            }
        }

        var scales = new double[d];
        for (int k = 0; k < d; k++)
        {
            double range = maximums[k] - minimums[k];
            scales[k] = range > 0 ? Math.Max(Math.Sqrt(variances[k]), (indicators[k] ? 0.25 : 0.05) * range) : 1.0;
        }

        return new FeatureScaling(means, scales);
    }

    /// <summary>Writes (x - mean) / scale to <paramref name="destination"/>.</summary>
    public void Apply(ReadOnlySpan<double> features, Span<double> destination)
    {
        TensorPrimitives.Subtract(features, means, destination);
        TensorPrimitives.Divide(destination[..means.Length], scales, destination);
    }

    /// <summary>Writes x = z * scale + mean to <paramref name="destination"/> (the inverse of <see cref="Apply"/>).</summary>
    public void Invert(ReadOnlySpan<double> standardised, Span<double> destination)
    {
        TensorPrimitives.MultiplyAdd(standardised, scales, means, destination);
    }
}
