using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using HjMl.Persistence;
using ScottPlot;
using SkiaSharp;

namespace HjMl.Cli.Report;

/// <summary>
/// One picture of the report or of <c>hjml budget --plot</c>: ScottPlot panels laid out in a grid, rendered as SVG (a
/// file, or inline in the report's HTML) or as PNG. Every chart of the tool goes through here, so they look alike.
/// </summary>
internal sealed partial class Figure : IDisposable
{
    private readonly Plot[] panels;
    private readonly int columns;

    /// <summary>A figure of <paramref name="panels"/>, <paramref name="columns"/> to a row, each panel <paramref name="panelWidth"/> x <paramref name="panelHeight"/> pixels.</summary>
    public Figure(IReadOnlyList<Plot> panels, int columns = 1, int panelWidth = 520, int panelHeight = 340)
    {
        if (panels.Count == 0)
        {
            throw new ArgumentException("A figure needs at least one panel.", nameof(panels));
        }

        this.panels = [.. panels];
        this.columns = Math.Clamp(columns, 1, panels.Count);
        PanelWidth = panelWidth;
        PanelHeight = panelHeight;
    }

    /// <summary>A figure of one panel.</summary>
    public Figure(Plot panel, int width = 520, int height = 340)
        : this([panel], 1, width, height)
    {
    }

    /// <summary>The width of one panel, pixels.</summary>
    public int PanelWidth { get; }

    /// <summary>The height of one panel, pixels.</summary>
    public int PanelHeight { get; }

    /// <summary>The whole figure's width, pixels.</summary>
    public int Width => columns * PanelWidth;

    /// <summary>The whole figure's height, pixels.</summary>
    public int Height => (panels.Length + columns - 1) / columns * PanelHeight;

    /// <summary>The number of panels.</summary>
    public int Count => panels.Length;

    /// <summary>The figure as a standalone SVG document (no XML declaration, so it also embeds in HTML as it is).</summary>
    public string ToSvg()
    {
        using var stream = new MemoryStream();
        using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), stream))
        {
            Draw(canvas);
        }

        string svg = Encoding.UTF8.GetString(stream.ToArray());
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidOperationException("SkiaSharp wrote no <svg> element.");
        }

        // A viewBox lets the picture scale (a page narrower than the figure shrinks it instead of cutting it off).
        return string.Create(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {Width} {Height}\"") + svg[(start + "<svg".Length)..];
    }

    /// <summary>
    /// The figure's SVG for inlining in an HTML page beside other figures: its ids (clip paths, images) get
    /// <paramref name="prefix"/>, because ids are global to the page and every figure's renderer counts from 1.
    /// </summary>
    public string ToInlineSvg(string prefix)
        => Identifier().Replace(ToSvg(), match => match.Groups[1].Value + prefix + match.Groups[2].Value);

    /// <summary>The figure as PNG bytes.</summary>
    public byte[] ToPng()
    {
        var info = new SKImageInfo(Width, Height);
        using SKSurface surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"SkiaSharp could not create a {Width} x {Height} surface.");
        Draw(surface.Canvas);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>
    /// Writes the figure to <paramref name="path"/> atomically, as SVG or PNG by its extension (<see cref="RequireImagePath"/>).
    /// </summary>
    public void Save(string path)
    {
        bool png = RequireImagePath(path, "path");
        AtomicFile.Write(path, stream =>
        {
            if (png)
            {
                stream.Write(ToPng());
            }
            else
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                writer.Write(ToSvg());
            }
        });
    }

    /// <summary>
    /// Whether <paramref name="path"/> names a PNG (true) or an SVG (false); any other extension is refused, naming
    /// <paramref name="option"/>, rather than writing one format under another's name.
    /// </summary>
    public static bool RequireImagePath(string path, string option)
    {
        string extension = Path.GetExtension(path);
        if (string.Equals(extension, ".png", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return string.Equals(extension, ".svg", StringComparison.OrdinalIgnoreCase)
            ? false
            : throw new ArgumentException($"--{option} is '{path}'; a chart is written as .svg or .png, and '{extension}' is neither.");
    }

    /// <summary>Disposes the panels.</summary>
    public void Dispose()
    {
        foreach (Plot panel in panels)
        {
            panel.Dispose();
        }
    }

    private void Draw(SKCanvas canvas)
    {
        canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Length; i++)
        {
            float left = i % columns * PanelWidth;
            float top = i / columns * PanelHeight;

            // A plot clears the whole canvas before it draws unless told not to, which would erase the panels before it.
            panels[i].RenderManager.ClearCanvasBeforeEachRender = false;
            panels[i].Render(canvas, new PixelRect(left, left + PanelWidth, top + PanelHeight, top));
        }
    }

    // id="x", url(#x) and href="#x": the three ways an SVG names and refers to its elements.
    [GeneratedRegex("(id=\"|url\\(#|href=\"#)([A-Za-z_][\\w.-]*)")]
    private static partial Regex Identifier();
}
