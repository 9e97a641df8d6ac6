using System.Globalization;
using System.Text;
using HjMl.Persistence;

namespace HjMl.Cli.Commands.Relaxation;

/// <summary>One line (and its markers) of a chart panel.</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, bool Line = true);

/// <summary>A panel: title, axis labels, series; an axis may be logarithmic (base 10).</summary>
internal sealed record ChartPanel(string Title, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series, bool LogX = false, bool LogY = false);

/// <summary>A small SVG line chart: panels side by side, each with ticks, gridlines, axis labels and a legend. No dependencies.</summary>
internal static class LineChart
{
    private const int PanelWidth = 360, PanelHeight = 240, Left = 70, Right = 20, Top = 60, Bottom = 55;
    private static readonly double[] Multiples = [1.0, 2.0, 5.0, 10.0];
    private static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

    public static void Write(string path, string title, IReadOnlyList<ChartPanel> panels)
    {
        int width = panels.Count * (PanelWidth + Left + Right);
        int height = PanelHeight + Top + Bottom + (16 * panels.Max(p => p.Series.Count));
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">"));
        svg.Append(Invariant($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{width / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>"));
        for (int p = 0; p < panels.Count; p++)
        {
            Panel(svg, panels[p], (p * (PanelWidth + Left + Right)) + Left, Top);
        }

        svg.Append("</svg>");
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(svg.ToString());
        });
    }

    private static void Panel(StringBuilder svg, ChartPanel panel, double left, double top)
    {
        var points = panel.Series.SelectMany(s => s.X.Zip(s.Y)).Where(pt => Usable(pt.First, panel.LogX) && Usable(pt.Second, panel.LogY)).ToList();
        (double xLow, double xHigh) = Range(points.Select(pt => Scale(pt.First, panel.LogX)));
        (double yLow, double yHigh) = Range(points.Select(pt => Scale(pt.Second, panel.LogY)));
        double X(double x) => left + ((Scale(x, panel.LogX) - xLow) / (xHigh - xLow) * PanelWidth);
        double Y(double y) => top + PanelHeight - ((Scale(y, panel.LogY) - yLow) / (yHigh - yLow) * PanelHeight);
        svg.Append(Invariant($"<text x=\"{left + (PanelWidth / 2)}\" y=\"{top - 14}\" text-anchor=\"middle\" font-weight=\"bold\">{Escape(panel.Title)}</text>"));
        foreach (double tick in Ticks(xLow, xHigh, panel.LogX))
        {
            double x = X(Unscale(tick, panel.LogX));
            svg.Append(Invariant($"<line x1=\"{x:F1}\" y1=\"{top}\" x2=\"{x:F1}\" y2=\"{top + PanelHeight}\" stroke=\"#e4e4e4\"/><text x=\"{x:F1}\" y=\"{top + PanelHeight + 14}\" text-anchor=\"middle\">{Label(tick, panel.LogX)}</text>"));
        }

        foreach (double tick in Ticks(yLow, yHigh, panel.LogY))
        {
            double y = Y(Unscale(tick, panel.LogY));
            svg.Append(Invariant($"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + PanelWidth}\" y2=\"{y:F1}\" stroke=\"#e4e4e4\"/><text x=\"{left - 5}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Label(tick, panel.LogY)}</text>"));
        }

        svg.Append(Invariant($"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#444\"/>"));
        svg.Append(Invariant($"<text x=\"{left + (PanelWidth / 2)}\" y=\"{top + PanelHeight + 32}\" text-anchor=\"middle\">{Escape(panel.XLabel)}</text>"));
        svg.Append(Invariant($"<text transform=\"translate({left - 50},{top + (PanelHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(panel.YLabel)}</text>"));
        for (int s = 0; s < panel.Series.Count; s++)
        {
            ChartSeries series = panel.Series[s];
            string colour = Colours[s % Colours.Length];
            var line = new StringBuilder();
            for (int i = 0; i < Math.Min(series.X.Count, series.Y.Count); i++)
            {
                if (!Usable(series.X[i], panel.LogX) || !Usable(series.Y[i], panel.LogY))
                {
                    continue;
                }

                line.Append(Invariant($"{X(series.X[i]):F1},{Y(series.Y[i]):F1} "));
                svg.Append(Invariant($"<circle cx=\"{X(series.X[i]):F1}\" cy=\"{Y(series.Y[i]):F1}\" r=\"2.5\" fill=\"{colour}\"/>"));
            }

            if (series.Line)
            {
                svg.Append(Invariant($"<polyline points=\"{line.ToString().Trim()}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>"));
            }

            double legend = top + PanelHeight + 46 + (16 * s);
            svg.Append(Invariant($"<rect x=\"{left}\" y=\"{legend - 8}\" width=\"12\" height=\"8\" fill=\"{colour}\"/><text x=\"{left + 16}\" y=\"{legend}\">{Escape(series.Name)}</text>"));
        }
    }

    private static bool Usable(double value, bool log) => double.IsFinite(value) && (!log || value > 0);

    private static double Scale(double value, bool log) => log ? Math.Log10(value) : value;

    private static double Unscale(double value, bool log) => log ? Math.Pow(10, value) : value;

    private static (double Low, double High) Range(IEnumerable<double> values)
    {
        double[] all = [.. values];
        if (all.Length == 0)
        {
            return (0, 1);
        }

        double low = all.Min(), high = all.Max();
        double pad = high > low ? 0.05 * (high - low) : Math.Max(1e-3, 0.1 * Math.Abs(low) + 0.5);
        return (low - pad, high + pad);
    }

    // About five round ticks: steps of 1, 2 or 5 times a power of ten; on a log axis whole decades, or 1, 2 and 5 times
    // each decade when the axis spans less than two.
    private static IEnumerable<double> Ticks(double low, double high, bool log)
    {
        if (log && high - low < 2)
        {
            for (double decade = Math.Floor(low); decade <= high; decade++)
            {
                foreach (double multiple in Multiples[..3])
                {
                    double tick = decade + Math.Log10(multiple);
                    if (tick >= low && tick <= high)
                    {
                        yield return tick;
                    }
                }
            }

            yield break;
        }

        double raw = (high - low) / 5;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = log ? Math.Max(1, Math.Round(raw)) : Multiples.Select(m => m * power).First(s => s >= raw);
        for (double tick = Math.Ceiling(low / step) * step; tick <= high + (1e-9 * step); tick += step)
        {
            yield return Math.Abs(tick) < 1e-12 * step ? 0 : tick;
        }
    }

    private static string Label(double tick, bool log) => !log ? tick.ToString("G4", CultureInfo.InvariantCulture)
        : Math.Abs(tick) >= 3 && tick == Math.Round(tick) ? Invariant($"1e{tick:0}")
        : Math.Pow(10, tick).ToString("G3", CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
