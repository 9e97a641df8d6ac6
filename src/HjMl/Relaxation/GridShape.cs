using System.Globalization;
using System.Text.RegularExpressions;

namespace HjMl.Relaxation;

/// <summary>
/// The lattice a feature vector lives on: Height rows of Width sites, stored row-major (site (i, j) at i * Width + j).
/// A grid with one row or one column is one-dimensional (a signal); otherwise two-dimensional (an image).
/// </summary>
public readonly partial record struct GridShape
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

    /// <summary>
    /// Throws when the grid is two-dimensional but <paramref name="names"/>, the features' names in order, are not in lattice
    /// order: an ordered set shares one pattern with increasing indices (pixel_0_0, pixel_0_1, ...); named measurements
    /// (mean_radius, mean_texture, ...) have no lattice a 2-D stencil could mean anything on. Empty names count as ordered.
    /// </summary>
    /// <exception cref="ArgumentException">A 2-D grid on an unordered column set (the message names the option and the first names).</exception>
    public void RequireOrdered(IReadOnlyList<string> names, string option, string what)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (Dimensions == 2 && !Ordered(names))
        {
            string first = string.Join(", ", names.Take(3).Select(name => $"'{name}'")) + (names.Count > 3 ? ", ..." : string.Empty);
            throw new ArgumentException($"Option {option} asks for a {this} grid on {what}, but its values are named columns with no lattice order ({first}); a 2-D grid needs the values in grid order (pixels row by row).", option);
        }
    }

    private static bool Ordered(IReadOnlyList<string> names)
    {
        if (names.Count == 0 || names.All(string.IsNullOrEmpty))
        {
            return true;
        }

        string skeleton = Digits().Replace(names[0], "#");
        if (!skeleton.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        long[]? previous = null;
        foreach (string name in names)
        {
            long[] indices = [.. Digits().Matches(name).Select(match => long.TryParse(match.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : -1)];
            if (Digits().Replace(name, "#") != skeleton || (previous is not null && !Increasing(previous, indices)))
            {
                return false;
            }

            previous = indices;
        }

        return true;
    }

    private static bool Increasing(long[] before, long[] after)
    {
        for (int i = 0; i < Math.Min(before.Length, after.Length); i++)
        {
            if (after[i] != before[i])
            {
                return after[i] > before[i];
            }
        }

        return false;
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    /// <summary>"Height x Width".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Height} x {Width}");
}
