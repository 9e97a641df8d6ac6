using System.Globalization;
using HjMl.Attribution;
using HjMl.Cli.Data;
using HjMl.Models;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>
/// The coverage and robustness section (THEORY.md sections 5–6): which rows lie outside what the model was trained on,
/// with examples, and the certified radii — each row's <see cref="ModelExplainer.Coverage"/> and
/// <see cref="ModelExplainer.Certify"/> (regression: <see cref="ModelExplainer.StabilityRadius"/>), as <c>hjml certify</c>.
/// </summary>
internal static class CoverageSection
{
    public static CoverageEvidence Write(HtmlPage page, ReportContext context)
    {
        HopfColeModel model = context.Model;
        SupportCoverage[] coverage = context.Coverage;
        double[] scores = coverage.Select(c => c.Score).ToArray();
        int outside = coverage.Count(c => c.IsOutOfSupport);
        int rows = coverage.Length;
        page.Section("coverage", "Coverage and robustness", "How dense is support coverage where it matters, and how far can an input move before the answer changes?");
        double diffusion = Math.Sqrt(2 * model.Viscosity * model.Time);
        page.Paragraph(HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"{outside} of {rows} rows ({100.0 * outside / rows:F1}%) are out of support: farther from the nearest support point than max(diffusion radius √(2 eps t) = {diffusion:G4}, calibrated coverage radius {model.CoverageRadius:G4}), the score above 1. There the model extrapolates one piece's rule instead of interpolating between training examples.")));
        string radius = model.Kind == ModelKind.Regression ? string.Create(CultureInfo.InvariantCulture, $"stability radius (output moves < {context.Tolerance:G4})") : "certified radius r*";
        double[] sorted = [.. context.Radii.Order()];
        page.Paragraph(HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"{char.ToUpperInvariant(radius[0])}{radius[1..]}: mean {context.Radii.Average():G4}, median {sorted[sorted.Length / 2]:G4}, min {sorted[0]:G4}, max {sorted[^1]:G4}. These radii hold in the model's input space — the standardised features, after the featurisers — not in the raw columns: no change of the standardised row shorter than the radius changes the {(model.Kind == ModelKind.Regression ? "prediction by the tolerance" : "predicted class")}.")));
        Plot scoreChart = Panels.Create("Out-of-support score per row", "distance to nearest support point ÷ in-support radius (1 = edge)", "rows");
        Panels.Histogram(scoreChart, scores, 30);
        Panels.MarkX(scoreChart, 1, "edge of the support (score 1)");
        Panels.Legend(scoreChart);
        Plot radiusChart = Panels.Create($"{radius} per row", $"{radius} (standardised units)", "rows");
        Panels.Histogram(radiusChart, context.Radii, 30, series: 1);
        page.Figure(new Figure([scoreChart, radiusChart], columns: 2, panelHeight: 360), "Left: the out-of-support score of every row; rows right of the dashed line are out of support. Right: the distribution of the radii.");

        int[] examples = Enumerable.Range(0, rows).OrderByDescending(i => scores[i]).Take(context.Inputs.Settings.CoverageExamples).Where(i => outside == 0 || coverage[i].IsOutOfSupport).ToArray();
        page.Paragraph(HtmlPage.Escape(outside == 0 ? "No row is out of support; the rows nearest the edge of the support:" : "Example rows out of support, the farthest first:"));
        page.Table(
            ["row", "score", "distance to nearest support point", "its training row", radius, "prediction", "most unusual features (standardised value)"],
            examples.Select(i => (IReadOnlyList<string>)[
                context.RowNumber(i).ToString(CultureInfo.InvariantCulture),
                HtmlPage.Number(scores[i], "F2"),
                HtmlPage.Number(coverage[i].NearestDistance),
                TrainingRows.Name(coverage[i].NearestSupportRow),
                HtmlPage.Number(context.Radii[i]),
                HtmlPage.Number(context.Predictions[i].PredictedLabel, "G6"),
                Unusual(context, i)]),
            "Rows farthest from the support (rows numbered from 1 in the data file)");
        page.Paragraph(HtmlPage.Escape(TrainingRows.Note));
        page.Command(context.Inputs.CommandLine is { } line ? $"hjml certify{line.Options} --out certificates.csv" : null);
        return new CoverageEvidence(scores, outside, context.Radii, examples);
    }

    // The three features farthest from their training mean, in standardised units.
    private static string Unusual(ReportContext context, int row)
    {
        int d = context.Model.InputDimension;
        var z = new double[d];
        context.Model.Scaling.Apply(context.Data.Row(row), z);
        return string.Join(", ", Enumerable.Range(0, d).OrderByDescending(k => Math.Abs(z[k])).Take(3).Select(k => string.Create(CultureInfo.InvariantCulture, $"{context.Model.FeatureNames[k]} {z[k]:+0.0;-0.0}")));
    }
}
