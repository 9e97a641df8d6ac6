using System.Globalization;

namespace HjMl.Relaxation;

/// <summary>
/// The lattice a feature vector lives on: Height rows of Width sites, stored row-major (site (i, j) at i * Width + j).
/// A grid with one row or one column is one-dimensional (a signal); otherwise two-dimensional (an image).
/// </summary>
public readonly record struct GridShape
{
    /// <summary>Creates a grid of <paramref name="height"/> x <paramref name="width"/> sites.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public GridShape(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)height * width > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"A grid of {height} x {width} sites is larger than an array holds.");
        }

        Height = height;
        Width = width;
    }

    /// <summary>Rows of the grid (1 for a signal).</summary>
    public int Height { get; }

    /// <summary>Sites per row.</summary>
    public int Width { get; }

    /// <summary>The number of sites, Height x Width.</summary>
    public int Length => Height * Width;

    /// <summary>1 for a signal (one row or one column), 2 for an image.</summary>
    public int Dimensions => Height > 1 && Width > 1 ? 2 : 1;

    /// <summary>A one-dimensional grid of <paramref name="length"/> sites.</summary>
    public static GridShape Line(int length) => new(1, length);

    /// <summary>
    /// Throws unless the grid has exactly <paramref name="vectorLength"/> sites; the message names the option the grid came
    /// from and the vector it must fit.
    /// </summary>
    /// <exception cref="ArgumentException">The grid does not match the vector length.</exception>
    public void RequireLength(int vectorLength, string option, string vector)
    {
        if (Length != vectorLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Option {option} is {this} = {Length} sites but {vector} has {vectorLength} values; the grid must have one site per value."), option);
        }
    }

    /// <summary>"Height x Width".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Height} x {Width}");
}
