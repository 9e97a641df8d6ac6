using System.Numerics.Tensors;
using HjMl.Layers;
using HjMl.LinearAlgebra;
using HjMl.Models;

namespace HjMl.Landscape;

/// <summary>
/// A 2-D window through a layer's input space: the points x(u, v) = origin + u * first + v * second for u and v in
/// their ranges, with orthonormal directions. The entropy landscape is drawn on it. For a model, the plane lives in
/// the model's standardised feature space (the space its LSE layer reads).
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class LandscapePlane
{
    // The window extends this fraction of the data's range beyond it on every side, so that basins at the data's edge
    // are interior grid points.
    private const double Margin = 0.1;

    private readonly double[] origin;
    private readonly double[] first;
    private readonly double[] second;

    private LandscapePlane(double[] origin, double[] first, double[] second, double firstMinimum, double firstMaximum, double secondMinimum, double secondMaximum, double firstVariance, double secondVariance, string description)
    {
        this.origin = origin;
        this.first = first;
        this.second = second;
        FirstMinimum = firstMinimum;
        FirstMaximum = firstMaximum;
        SecondMinimum = secondMinimum;
        SecondMaximum = secondMaximum;
        FirstVariance = firstVariance;
        SecondVariance = secondVariance;
        Description = description;
    }

    /// <summary>d, the dimension of the space the plane lies in.</summary>
    public int InputDimension => origin.Length;

    /// <summary>The point (u, v) = (0, 0).</summary>
    public ReadOnlySpan<double> Origin => origin;

    /// <summary>The unit direction of u.</summary>
    public ReadOnlySpan<double> First => first;

    /// <summary>The unit direction of v, orthogonal to <see cref="First"/>.</summary>
    public ReadOnlySpan<double> Second => second;

    /// <summary>The window's smallest u.</summary>
    public double FirstMinimum { get; }

    /// <summary>The window's largest u.</summary>
    public double FirstMaximum { get; }

    /// <summary>The window's smallest v.</summary>
    public double SecondMinimum { get; }

    /// <summary>The window's largest v.</summary>
    public double SecondMaximum { get; }

    /// <summary>The variance of the data along <see cref="First"/> (the first principal component's eigenvalue); NaN for a plane given by hand.</summary>
    public double FirstVariance { get; }

    /// <summary>The variance of the data along <see cref="Second"/>; NaN for a plane given by hand.</summary>
    public double SecondVariance { get; }

    /// <summary>How the plane was made, for reports ("principal components 1 and 2 of 150 standardised rows").</summary>
    public string Description { get; }

    /// <summary>
    /// The plane through the mean of <paramref name="rows"/> spanned by their top two principal components (power
    /// iteration on the covariance), with a window covering the rows' projections and a 10% margin. For d = 2 the
    /// plane is the whole input space, and its axes are the two features themselves (u = feature 1 minus its mean).
    /// </summary>
    /// <param name="rows">Rows of <paramref name="dimension"/> values back to back, already in the layer's input space.</param>
    /// <param name="dimension">d, at least 2.</param>
    /// <exception cref="ArgumentException">d &lt; 2, no rows, a length that is not a whole number of rows, or a NaN/infinite value.</exception>
    public static LandscapePlane PrincipalComponents(ReadOnlySpan<double> rows, int dimension)
    {
        if (dimension < 2)
        {
            throw new ArgumentException($"dimension is {dimension}; a landscape plane needs at least 2 features.", nameof(dimension));
        }

        if (rows.IsEmpty || rows.Length % dimension != 0)
        {
            throw new ArgumentException($"rows has length {rows.Length}; it needs at least one whole row of {dimension} values.", nameof(rows));
        }

        Guard.Finite(rows, nameof(rows));
        int count = rows.Length / dimension;
        var mean = new double[dimension];
        for (int row = 0; row < count; row++)
        {
            TensorPrimitives.Add(mean, rows.Slice(row * dimension, dimension), mean);
        }

        TensorPrimitives.Divide(mean, count, mean);
        var centred = new double[rows.Length];
        for (int row = 0; row < count; row++)
        {
            TensorPrimitives.Subtract(rows.Slice(row * dimension, dimension), mean, centred.AsSpan(row * dimension, dimension));
        }

        double[] firstAxis, secondAxis;
        double firstVariance, secondVariance;
        string description;
        if (dimension == 2)
        {
            firstAxis = [1, 0];
            secondAxis = [0, 1];
            firstVariance = Variance(centred, count, firstAxis);
            secondVariance = Variance(centred, count, secondAxis);
            description = $"the two features of {count} rows, centred on their mean";
        }
        else
        {
            (firstAxis, secondAxis, firstVariance, secondVariance) = PrincipalAxes.TopTwo(centred, count, dimension);
            description = $"principal components 1 and 2 of {count} rows ({firstVariance:G3} and {secondVariance:G3} of total variance {TotalVariance(centred, count):G3})";
        }

        (double firstMinimum, double firstMaximum) = Window(centred, count, firstAxis);
        (double secondMinimum, double secondMaximum) = Window(centred, count, secondAxis);
        return new LandscapePlane(mean, firstAxis, secondAxis, firstMinimum, firstMaximum, secondMinimum, secondMaximum, firstVariance, secondVariance, description);
    }

    /// <summary>
    /// The principal-component plane of <paramref name="features"/> (raw rows, row-major) in the standardised space of
    /// <paramref name="model"/>: rows are standardised with the model's own scaling first, so the plane lives where the
    /// model's layer reads its input.
    /// </summary>
    /// <exception cref="ArgumentException">A row has a NaN/infinite value, or the length is not a whole number of the model's rows.</exception>
    public static LandscapePlane ForModel(HopfColeModel model, ReadOnlySpan<double> features)
    {
        ArgumentNullException.ThrowIfNull(model);
        int d = model.InputDimension;
        if (features.IsEmpty || features.Length % d != 0)
        {
            throw new ArgumentException($"features has length {features.Length}; it needs at least one whole row of the model's {d} features.", nameof(features));
        }

        var standardised = new double[features.Length];
        for (int row = 0; row < features.Length / d; row++)
        {
            ReadOnlySpan<double> raw = features.Slice(row * d, d);
            model.ValidateFeatures(raw, row);
            model.Scaling.Apply(raw, standardised.AsSpan(row * d, d));
        }

        return PrincipalComponents(standardised, d);
    }

    /// <summary>A plane given by hand: two directions (orthonormalised here: the second loses its component along the first) and a window.</summary>
    /// <exception cref="ArgumentException">Lengths differ, a value is not finite, a direction is zero or the two are parallel, or a range is empty.</exception>
    public static LandscapePlane Through(ReadOnlySpan<double> origin, ReadOnlySpan<double> first, ReadOnlySpan<double> second, double firstMinimum, double firstMaximum, double secondMinimum, double secondMaximum)
    {
        int d = origin.Length;
        if (d < 2)
        {
            throw new ArgumentException($"origin has length {d}; a landscape plane needs at least 2 dimensions.", nameof(origin));
        }

        Guard.Length(first, d, nameof(first), "a direction in the origin's space");
        Guard.Length(second, d, nameof(second), "a direction in the origin's space");
        Guard.Finite(origin, nameof(origin));
        Guard.Finite(first, nameof(first));
        Guard.Finite(second, nameof(second));
        if (!(firstMinimum < firstMaximum) || !double.IsFinite(firstMinimum) || !double.IsFinite(firstMaximum))
        {
            throw new ArgumentException($"The u range [{firstMinimum}, {firstMaximum}] is empty or not finite.", nameof(firstMaximum));
        }

        if (!(secondMinimum < secondMaximum) || !double.IsFinite(secondMinimum) || !double.IsFinite(secondMaximum))
        {
            throw new ArgumentException($"The v range [{secondMinimum}, {secondMaximum}] is empty or not finite.", nameof(secondMaximum));
        }

        double[] firstAxis = first.ToArray();
        double firstNorm = TensorPrimitives.Norm<double>(firstAxis);
        if (!(firstNorm > 0))
        {
            throw new ArgumentException("first is the zero vector; it must give a direction.", nameof(first));
        }

        TensorPrimitives.Divide(firstAxis, firstNorm, firstAxis);
        double[] secondAxis = second.ToArray();
        TensorPrimitives.MultiplyAdd(firstAxis, -TensorPrimitives.Dot<double>(firstAxis, secondAxis), secondAxis, secondAxis);
        double secondNorm = TensorPrimitives.Norm<double>(secondAxis);
        if (!(secondNorm > 1e-12 * TensorPrimitives.Norm(second)))
        {
            throw new ArgumentException("second is parallel to first; the two directions must span a plane.", nameof(second));
        }

        TensorPrimitives.Divide(secondAxis, secondNorm, secondAxis);
        return new LandscapePlane(origin.ToArray(), firstAxis, secondAxis, firstMinimum, firstMaximum, secondMinimum, secondMaximum, double.NaN, double.NaN, "a plane given by hand");
    }

    /// <summary>Writes x(u, v) = origin + u * first + v * second to <paramref name="destination"/> (length d).</summary>
    public void ToInput(double u, double v, Span<double> destination)
    {
        Guard.AtLeast(destination, InputDimension, nameof(destination), "a point of the plane's space");
        destination = destination[..InputDimension];
        TensorPrimitives.MultiplyAdd(first, u, origin, destination);
        TensorPrimitives.MultiplyAdd(second, v, destination, destination);
    }

    /// <summary>
    /// The layer restricted to the plane, exactly: a 2-input LSE layer with the same heads, pieces and viscosity whose
    /// logits at (u, v) are the original logits at x(u, v): weights (w . first, w . second) and biases b + w . origin
    /// (THEORY.md section 1: z_j is affine in x, so it stays affine on a plane). Its Gibbs weights, entropy and entropy
    /// gradient are those of the original layer on the plane (the gradient projected onto the two directions).
    /// </summary>
    /// <exception cref="ArgumentException">The layer's input dimension is not the plane's.</exception>
    public LseLayer<double> Restrict(LseLayer<double> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.InputDimension != InputDimension)
        {
            throw new ArgumentException($"The layer reads {layer.InputDimension} features but the plane lies in {InputDimension} dimensions.", nameof(layer));
        }

        int d = InputDimension;
        int pieces = layer.Biases.Length;
        var axes = new double[d * 2];
        for (int k = 0; k < d; k++)
        {
            axes[2 * k] = first[k];
            axes[(2 * k) + 1] = second[k];
        }

        var weights = new double[pieces * 2];
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.No, pieces, 2, d, 1.0, layer.Weights, d, axes, 2, 0.0, weights, 2);
        var biases = layer.Biases.ToArray();
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, 1, pieces, d, 1.0, origin, d, layer.Weights, d, 1.0, biases, pieces);
        return new LseLayer<double>(weights, biases, 2, layer.Viscosity, layer.NumberOfHeads);
    }

    private static double Variance(ReadOnlySpan<double> centred, int count, ReadOnlySpan<double> axis)
    {
        int d = axis.Length;
        double sum = 0;
        for (int row = 0; row < count; row++)
        {
            double projection = TensorPrimitives.Dot(centred.Slice(row * d, d), axis);
            sum += projection * projection;
        }

        return sum / Math.Max(1, count - 1);
    }

    private static double TotalVariance(ReadOnlySpan<double> centred, int count) => TensorPrimitives.Dot(centred, centred) / Math.Max(1, count - 1);

    private static (double Minimum, double Maximum) Window(ReadOnlySpan<double> centred, int count, ReadOnlySpan<double> axis)
    {
        int d = axis.Length;
        double minimum = double.PositiveInfinity, maximum = double.NegativeInfinity;
        for (int row = 0; row < count; row++)
        {
            double projection = TensorPrimitives.Dot(centred.Slice(row * d, d), axis);
            minimum = Math.Min(minimum, projection);
            maximum = Math.Max(maximum, projection);
        }

        double range = maximum - minimum;
        if (!(range > 0))
        {
            // Every row projects to one value: a unit window around it still shows the landscape there.
            return (minimum - 1, maximum + 1);
        }

        return (minimum - (Margin * range), maximum + (Margin * range));
    }
}
