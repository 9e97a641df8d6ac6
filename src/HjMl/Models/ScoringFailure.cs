using System.Numerics.Tensors;

namespace HjMl.Models;

/// <summary>
/// The error every scoring entry point raises for a row of finite features whose scores are not finite, so that a
/// row refused alone is refused, with the same words, in any batch: the feature that standardises beyond the
/// precision's range, or else the feature farthest from its training mean.
/// </summary>
internal static class ScoringFailure
{
    /// <summary>Whether every value is finite (one vectorised pass; the exact check only when it fails).</summary>
    public static bool AllFinite(ReadOnlySpan<double> values)
    {
        if (double.IsFinite(TensorPrimitives.Sum(values) * 0))
        {
            return true;
        }

        // A sum of finite values can overflow, so the pass above can be wrong only in this direction.
        foreach (double value in values)
        {
            if (!double.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc cref="AllFinite(ReadOnlySpan{double})"/>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        if (float.IsFinite(TensorPrimitives.Sum(values) * 0))
        {
            return true;
        }

        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The error for a double row (0-based <paramref name="row"/>, or -1 for a single row).</summary>
    public static ArgumentException Of(HopfColeModel model, ReadOnlySpan<double> features, int row)
    {
        ReadOnlySpan<double> means = model.Scaling.Means;
        ReadOnlySpan<double> scales = model.Scaling.Scales;
        int farthest = 0;
        double distance = -1;
        for (int k = 0; k < features.Length; k++)
        {
            double z = (features[k] - means[k]) / scales[k];
            if (!double.IsFinite(z))
            {
                return Standardised(model, row, k, features[k], z, $"(x - mean {means[k]}) / scale {scales[k]}", "double");
            }

            if (Math.Abs(z) > distance)
            {
                distance = Math.Abs(z);
                farthest = k;
            }
        }

        return Overflow(model, row, farthest, features[farthest], distance, "double");
    }

    /// <summary>The error for a float32 row scored in float32 (<paramref name="means"/> and <paramref name="inverseScales"/> as that path rounds them).</summary>
    public static ArgumentException Of(HopfColeModel model, ReadOnlySpan<float> features, int row, ReadOnlySpan<float> means, ReadOnlySpan<float> inverseScales)
    {
        int farthest = 0;
        float distance = -1;
        for (int k = 0; k < features.Length; k++)
        {
            float z = (features[k] - means[k]) * inverseScales[k];
            if (!float.IsFinite(z))
            {
                return Standardised(model, row, k, features[k], z, $"(x - mean {means[k]}) * (1 / scale) {inverseScales[k]}", "float32");
            }

            if (Math.Abs(z) > distance)
            {
                distance = Math.Abs(z);
                farthest = k;
            }
        }

        return Overflow(model, row, farthest, features[farthest], distance, "float32");
    }

    /// <summary>The error for a float32 row scored in double whose finite score lies beyond float32's range.</summary>
    public static ArgumentException BeyondSingle(int row, double score)
        => new($"{Where(row)} cannot be scored in float32: its score {score:G6} lies beyond float32's range (about 3.4E+38); score it in double.", "features");

    private static ArgumentException Standardised(HopfColeModel model, int row, int feature, double value, double standardised, string formula, string precision)
        => new($"{Where(row)} cannot be scored: feature '{model.FeatureNames[feature]}' is {value}, which standardises to {standardised} ({formula} overflows {precision}).", "features");

    private static ArgumentException Overflow(HopfColeModel model, int row, int feature, double value, double distance, string precision)
        => new($"{Where(row)} cannot be scored: its scores overflow {precision}. Feature '{model.FeatureNames[feature]}' is {value}, {distance:G3} standardised units from its training mean (every row within {HopfColeModel.FiniteScoreRange:G3} units scores finitely).", "features");

    private static string Where(int row) => row >= 0 ? $"Row {row + 1}" : "The row";
}
