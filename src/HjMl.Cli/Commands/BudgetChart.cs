using System.Globalization;
using System.Text;
using HjMl.Attribution;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>An SVG chart of a viscosity budget: four panels sharing a logarithmic eps axis. No dependencies.</summary>
internal static class BudgetChart
{
    private const int PanelWidth = 320;
    private const int PanelHeight = 200;
    private const int Margin = 45;

    public static void Write(string path, IReadOnlyList<BudgetPoint> points, string metricName, string radiusName)
    {
        (string Title, Func<BudgetPoint, double> Value)[] panels =
        [
            (metricName, p => p.Metric),
            ($"mean {radiusName}", p => p.MeanRadius),
            ("mean attribution entropy (nats)", p => p.MeanEntropy),
            ("out-of-support fraction", p => p.OutOfSupportFraction),
        ];
        int width = (2 * (PanelWidth + Margin)) + Margin;
        int height = (2 * (PanelHeight + (2 * Margin))) + Margin;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        double minimumEps = Math.Log10(points.Min(p => p.Viscosity));
        double maximumEps = Math.Log10(points.Max(p => p.Viscosity));
        for (int panel = 0; panel < panels.Length; panel++)
        {
            double left = Margin + ((panel % 2) * (PanelWidth + Margin));
            double top = Margin + ((panel / 2) * (PanelHeight + (2 * Margin)));
            double[] values = points.Select(panels[panel].Value).Select(v => double.IsFinite(v) ? v : 0).ToArray();
            double low = Math.Min(0, values.Min());
            double high = values.Max() > low ? values.Max() : low + 1;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#888\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{top - 8}\" font-weight=\"bold\">{Escape(panels[panel].Title)}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{top + 10}\" text-anchor=\"end\">{high:G3}</text><text x=\"{left - 4}\" y=\"{top + PanelHeight}\" text-anchor=\"end\">{low:G3}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{top + PanelHeight + 14}\">eps {points.Min(p => p.Viscosity):G3}</text><text x=\"{left + PanelWidth}\" y=\"{top + PanelHeight + 14}\" text-anchor=\"end\">{points.Max(p => p.Viscosity):G3} (log scale)</text>");
            var line = new StringBuilder();
            for (int i = 0; i < points.Count; i++)
            {
                double x = left + (maximumEps > minimumEps ? (Math.Log10(points[i].Viscosity) - minimumEps) / (maximumEps - minimumEps) * PanelWidth : PanelWidth / 2.0);
                double y = top + PanelHeight - ((values[i] - low) / (high - low) * PanelHeight);
                line.Append(CultureInfo.InvariantCulture, $"{x:F1},{y:F1} ");
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x:F1}\" cy=\"{y:F1}\" r=\"3\" fill=\"#1f77b4\"/>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{line.ToString().Trim()}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>");
        }

        svg.Append("</svg>");
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(svg.ToString());
        });
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
