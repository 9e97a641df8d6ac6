using System.Globalization;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Relaxation;

/// <summary>
/// The grid an ADR featuriser lays a vector column on: from the options GridHeight and GridWidth, else from the column's
/// own dimensions (an image column, e.g. ExtractPixels' [planes, height, width] with one plane), else a line.
/// </summary>
internal static class GridColumns
{
    /// <summary>The option names, as messages name them.</summary>
    public const string HeightOption = "GridHeight", WidthOption = "GridWidth";

    /// <summary>The grid of <paramref name="column"/>; the message of a failure names the option at fault.</summary>
    /// <exception cref="ArgumentException">The grid does not match the column's length, the column has several image planes, or a 2-D grid is asked of an unordered column set.</exception>
    public static GridShape Resolve(DataViewSchema.Column column, int? height, int? width)
    {
        var vector = (VectorDataViewType)column.Type;
        int length = vector.Size;
        if (height is not null || width is not null)
        {
            GridShape grid = FromOptions(column.Name, length, height, width);
            grid.RequireOrdered(SlotNames(column), $"{HeightOption} x {WidthOption}", $"column '{column.Name}'");
            return grid;
        }

        if (vector.Dimensions.Length >= 2)
        {
            int rows = vector.Dimensions[^2], columns = vector.Dimensions[^1];
            int planes = length / (rows * columns);
            if (planes != 1)
            {
                throw new ArgumentException($"Column '{column.Name}' is an image of {planes} planes of {rows} x {columns} ({string.Join(" x ", vector.Dimensions)}); the ADR featuriser reads one plane: extract grayscale pixels, or set {HeightOption} and {WidthOption} for another layout.", HeightOption);
            }

            return new GridShape(rows, columns);
        }

        return GridShape.Line(length);
    }

    private static GridShape FromOptions(string column, int length, int? height, int? width)
    {
        if (height is < 1 || width is < 1)
        {
            string option = height is < 1 ? HeightOption : WidthOption;
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Option {option} is {(height is < 1 ? height : width)}; it must be >= 1."), option);
        }

        int h = height ?? (length % width!.Value == 0 ? length / width.Value : throw Mismatch(column, length, $"{WidthOption} = {width}", WidthOption));
        int w = width ?? (length % h == 0 ? length / h : throw Mismatch(column, length, $"{HeightOption} = {h}", HeightOption));
        if ((long)h * w != length)
        {
            throw Mismatch(column, length, $"{HeightOption} x {WidthOption} = {h} x {w} = {(long)h * w}", HeightOption);
        }

        return new GridShape(h, w);
    }

    // The raw slot names, or none when the column has no slot names.
    private static string[] SlotNames(DataViewSchema.Column column)
    {
        if (!column.HasSlotNames())
        {
            return [];
        }

        VBuffer<ReadOnlyMemory<char>> buffer = default;
        column.GetSlotNames(ref buffer);
        return [.. buffer.DenseValues().Select(name => name.ToString())];
    }

    private static ArgumentException Mismatch(string column, int length, string what, string option)
        => new(string.Create(CultureInfo.InvariantCulture, $"Option {what} does not fit column '{column}', which has {length} values; the grid must have one site per value."), option);

}
