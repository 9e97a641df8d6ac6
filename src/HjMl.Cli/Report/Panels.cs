using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace HjMl.Cli.Report;

/// <summary>The panels every chart of the tool is made of: titled, with labelled axes (units in the label), ticks and gridlines.</summary>
internal static class Panels
{
    /// <summary>The colour of the model's own eps wherever a chart marks it.</summary>
    public static readonly Color Marker = Color.FromHex("#d62728");

    /// <summary>Series colours, in order.</summary>
    public static readonly Color[] Series =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd"), Color.FromHex("#8c564b"),
        Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"), Color.FromHex("#bcbd22"), Color.FromHex("#17becf"), Color.FromHex("#393b79"),
    ];

    // ScottPlot's own sans-serif detection picks a serif face on some Linux machines; the first of these that is installed
    // is taken instead, and ScottPlot's default font where none is.
    private static readonly Lazy<string> SansSerif = new(() =>
        new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans" }.FirstOrDefault(name => string.Equals(Fonts.GetTypeface(name, false, false)?.FamilyName, name, StringComparison.OrdinalIgnoreCase)) ?? Fonts.Default);

    /// <summary>A panel titled <paramref name="title"/> whose axes read <paramref name="xLabel"/> and <paramref name="yLabel"/>.</summary>
    public static Plot Create(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(SansSerif.Value);
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.12);
        return plot;
    }

    /// <summary>
    /// Makes the x axis logarithmic for data plotted at log10(x): ticks are labelled with x itself, minor ticks fall on
    /// the decades' integer multiples.
    /// </summary>
    public static void LogarithmicX(Plot plot)
    {
        var ticks = new NumericAutomatic
        {
            LabelFormatter = position => Number(Math.Pow(10, position)),
            MinorTickGenerator = new LogMinorTickGenerator(),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
    }

    /// <summary>A line with markers through (<paramref name="xs"/>, <paramref name="ys"/>) in series colour <paramref name="series"/>.</summary>
    public static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, double[] ys, int series, string? legend = null)
    {
        ScottPlot.Plottables.Scatter line = plot.Add.Scatter(xs, ys, Series[series % Series.Length]);
        line.LineWidth = 2;
        line.MarkerSize = 6;
        if (legend is not null)
        {
            line.LegendText = legend;
        }

        return line;
    }

    /// <summary>A dashed vertical line at <paramref name="x"/>, labelled <paramref name="label"/> in the legend.</summary>
    public static void MarkX(Plot plot, double x, string label)
    {
        ScottPlot.Plottables.VerticalLine line = plot.Add.VerticalLine(x, 2, Marker, LinePattern.Dashed);
        line.LegendText = label;
    }

    /// <summary>The dotted diagonal y = x from 0 to 1 (a chance ROC curve, perfect calibration).</summary>
    public static void Diagonal(Plot plot, string label)
    {
        ScottPlot.Plottables.Scatter line = plot.Add.Scatter(new double[] { 0, 1 }, new double[] { 0, 1 }, Colors.Gray);
        line.LinePattern = LinePattern.Dotted;
        line.MarkerSize = 0;
        line.LegendText = label;
    }

    /// <summary>A legend below the panel's data area, where it hides no data.</summary>
    public static void Legend(Plot plot)
    {
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.FontSize = 11;
    }

    /// <summary>Horizontal bars, the first at the top, labelled on the left; negative values drawn in a second colour.</summary>
    public static void HorizontalBars(Plot plot, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        var bars = new List<Bar>();
        for (int i = 0; i < values.Count; i++)
        {
            bars.Add(new Bar
            {
                Position = values.Count - 1 - i,
                Value = values[i],
                FillColor = values[i] >= 0 ? Series[0] : Series[1],
                Orientation = Orientation.Horizontal,
            });
        }

        plot.Add.Bars(bars);
        double[] positions = Enumerable.Range(0, labels.Count).Select(i => (double)(labels.Count - 1 - i)).ToArray();
        plot.Axes.Left.TickGenerator = new NumericManual(positions, [.. labels]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Grid.YAxisStyle.IsVisible = false;
    }

    /// <summary>A histogram of <paramref name="values"/> over <paramref name="bins"/> equal bins, counts on the y axis.</summary>
    public static void Histogram(Plot plot, IReadOnlyList<double> values, int bins, int series = 0)
    {
        double[] finite = values.Where(double.IsFinite).ToArray();
        if (finite.Length == 0)
        {
            return;
        }

        double low = finite.Min(), high = finite.Max();
        double width = high > low ? (high - low) / bins : 1;
        var counts = new double[bins];
        foreach (double value in finite)
        {
            counts[Math.Min(bins - 1, (int)((value - low) / width))]++;
        }

        var bars = Enumerable.Range(0, bins).Select(b => new Bar
        {
            Position = low + ((b + 0.5) * width),
            Value = counts[b],
            Size = width,
            FillColor = Series[series % Series.Length],
            LineWidth = 0,
        }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Margins(bottom: 0);
    }

    /// <summary>A number for a tick or a caption: three significant digits.</summary>
    public static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
