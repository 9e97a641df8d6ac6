using System.Globalization;
using System.Net;
using System.Text;

namespace HjMl.Cli.Report;

/// <summary>The report page under construction: sections of text, tables and figures, written as one self-contained HTML file.</summary>
internal sealed class HtmlPage
{
    private readonly StringBuilder body = new();
    private readonly List<(string Id, string Title)> sections = [];

    /// <summary>The figures written so far (each also names its SVG's ids, which must be unique in the page).</summary>
    public int FigureCount { get; private set; }

    /// <summary>The ids of the sections, in order.</summary>
    public IReadOnlyList<string> SectionIds => sections.Select(s => s.Id).ToArray();

    /// <summary>HTML-escapes <paramref name="text"/>.</summary>
    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A number as the page prints it: <paramref name="format"/> in the invariant culture; "n/a" where not finite.</summary>
    public static string Number(double value, string format = "G4") => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>Starts a section; its id is the page's anchor for it.</summary>
    public void Section(string id, string title, string question)
    {
        sections.Add((id, title));
        if (sections.Count > 1)
        {
            body.Append("</section>\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"<section id=\"{id}\"><h2>{Escape(title)}</h2>\n<p class=\"question\">{Escape(question)}</p>\n");
    }

    /// <summary>A heading inside a section (text, escaped here).</summary>
    public void Subheading(string text) => body.Append(CultureInfo.InvariantCulture, $"<h3>{Escape(text)}</h3>\n");

    /// <summary>A paragraph of <paramref name="html"/> (already escaped where it holds text).</summary>
    public void Paragraph(string html) => body.Append(CultureInfo.InvariantCulture, $"<p>{html}</p>\n");

    /// <summary>A highlighted note (text, escaped here): what the report leaves out and why.</summary>
    public void Note(string text) => body.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{Escape(text)}</p>\n");

    /// <summary>The command (or line of code, <paramref name="how"/> saying which) that reproduces the numbers above it.</summary>
    public void Command(string? command, string how = "reproduce")
    {
        if (command is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"<p class=\"command\">{Escape(how)}: <code>{Escape(command)}</code></p>\n");
        }
    }

    /// <summary>A table; cells are text (escaped here). <paramref name="shading"/>, if given, tints each body cell (0 to 1).</summary>
    public void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? caption = null, Func<int, int, double>? shading = null)
    {
        body.Append("<table>");
        if (caption is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"<caption>{Escape(caption)}</caption>");
        }

        body.Append("<thead><tr>");
        foreach (string cell in header)
        {
            body.Append(CultureInfo.InvariantCulture, $"<th>{Escape(cell)}</th>");
        }

        body.Append("</tr></thead><tbody>");
        int r = 0;
        foreach (IReadOnlyList<string> row in rows)
        {
            body.Append("<tr>");
            for (int c = 0; c < row.Count; c++)
            {
                double tint = shading?.Invoke(r, c) ?? double.NaN;
                string style = double.IsFinite(tint) ? string.Create(CultureInfo.InvariantCulture, $" style=\"background: rgba(31, 119, 180, {Math.Clamp(tint, 0, 1) * 0.8:F2})\"") : string.Empty;
                body.Append(CultureInfo.InvariantCulture, $"<td{style}>{Escape(row[c])}</td>");
            }

            body.Append("</tr>");
            r++;
        }

        body.Append("</tbody></table>\n");
    }

    /// <summary>A figure, its SVG inline, with a caption (text, escaped here).</summary>
    public void Figure(Figure figure, string caption)
    {
        using (figure)
        {
            FigureCount++;
            string svg = figure.ToInlineSvg(string.Create(CultureInfo.InvariantCulture, $"f{FigureCount}-"));
            body.Append(CultureInfo.InvariantCulture, $"<figure class=\"chart\">{svg}<figcaption>{Escape(caption)}</figcaption></figure>\n");
        }
    }

    /// <summary>The page: a title, a contents list, the sections, and a check that every chart rendered.</summary>
    public string Render(string title, string subtitle)
    {
        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        page.Append(CultureInfo.InvariantCulture, $"<title>{Escape(title)}</title>\n<style>{Style}</style></head>\n<body>\n");
        page.Append(CultureInfo.InvariantCulture, $"<header><h1>{Escape(title)}</h1><p>{subtitle}</p><nav><ol>");
        foreach ((string id, string sectionTitle) in sections)
        {
            page.Append(CultureInfo.InvariantCulture, $"<li><a href=\"#{id}\">{Escape(sectionTitle)}</a></li>");
        }

        page.Append("</ol></nav></header>\n<main>\n").Append(body);
        if (sections.Count > 0)
        {
            page.Append("</section>\n");
        }

        // The page's one script: it records how many charts drew a non-empty picture, so a headless browser's DOM dump
        // shows whether every chart rendered (and a script error leaves the attribute missing).
        page.Append("</main>\n<script>\n(function () {\n  var charts = document.querySelectorAll('figure.chart > svg');\n  var drawn = 0;\n  charts.forEach(function (svg) { var box = svg.getBBox(); if (box.width > 0 && box.height > 0) { drawn++; } });\n  document.body.setAttribute('data-charts-rendered', drawn + '/' + charts.length);\n})();\n</script>\n</body></html>\n");
        return page.ToString();
    }

    private const string Style = """
        body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 24px 48px; color: #222; }
        header { border-bottom: 2px solid #1f77b4; margin-bottom: 8px; }
        h1 { font-size: 26px; margin: 20px 0 4px; }
        h2 { font-size: 21px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 16px; margin: 20px 0 6px; }
        nav ol { columns: 3; font-size: 14px; }
        p.question { color: #555; font-style: italic; }
        p.command code { background: #f4f4f4; padding: 2px 6px; font-size: 13px; }
        table { border-collapse: collapse; margin: 10px 0; font-size: 14px; }
        caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
        th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
        th { background: #f0f0f0; }
        figure.chart { margin: 12px 0; }
        figure.chart svg { max-width: 100%; height: auto; image-rendering: pixelated; }
        td:first-child, th:first-child { text-align: left; }
        figcaption { font-size: 13px; color: #555; max-width: 1040px; }
        .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 10px; }
        """;
}
