using System.Globalization;
using HjMl.Attribution;
using HjMl.Models;

namespace HjMl.Cli.Report;

/// <summary>
/// The viscosity budget section (PRODUCT.md): accuracy, certified radius, entropy and out-of-support fraction along eps
/// around the model's own, computed by <see cref="ViscosityBudget.Sweep"/> exactly as <c>hjml budget</c> does.
/// </summary>
internal static class BudgetSection
{
    public static IReadOnlyList<BudgetPoint> Write(HtmlPage page, ReportContext context, CancellationToken cancellation)
    {
        HopfColeModel model = context.Model;
        ReportSettings settings = context.Inputs.Settings;

        // A tropical model (eps = 0) has no eps to sweep around; the sweep then spans the default range of hjml budget.
        double centre = model.Viscosity > 0 ? model.Viscosity : 1;
        double from = centre / settings.BudgetSpan, to = centre * settings.BudgetSpan;
        double[] viscosities = ViscosityBudget.Range(from, to, settings.BudgetSteps);
        IReadOnlyList<BudgetPoint> points = ViscosityBudget.Sweep(model, context.Data, viscosities, cancellation: cancellation);
        string metric = model.Kind == ModelKind.Regression ? "R²" : "accuracy";
        string radius = model.Kind == ModelKind.Regression ? "stability radius" : "certified radius r*";
        page.Section("budget", "Viscosity budget", "How does the model behave as it moves toward hard selection (small eps) or smooths out (large eps)?");
        page.Paragraph(HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"The trained layer rescaled to {points.Count} values of eps from {from:G3} to {to:G3} (the model was trained at eps {model.Viscosity:G4}, marked in red), each evaluated on the {context.Data.Rows} rows. Small eps: sharper decisions, smaller certified radii, fewer support points per prediction. Large eps: the opposite. Radii are in the model's input space — the standardised features — not in raw units.{(model.Kind == ModelKind.Regression ? string.Create(CultureInfo.InvariantCulture, $" The stability radius certifies that the prediction moves by less than {context.Tolerance:G4} label units.") : string.Empty)}")));
        page.Figure(BudgetFigure.Create(points, metric, radius, model.Viscosity), "The viscosity budget: each panel against eps on a log scale; the dashed red line is the model's own eps.");
        page.Table(
            ["eps", metric, $"mean {radius}", "mean entropy (nats)", "out of support"],
            points.Select(p => (IReadOnlyList<string>)[HtmlPage.Number(p.Viscosity), HtmlPage.Number(p.Metric, "F4"), HtmlPage.Number(p.MeanRadius), HtmlPage.Number(p.MeanEntropy, "F3"), HtmlPage.Number(100 * p.OutOfSupportFraction, "F1") + "%"]),
            "The sweep's numbers");
        page.Command(context.Inputs.CommandLine is { } line ? string.Create(CultureInfo.InvariantCulture, $"hjml budget{line.Options} --viscosity {from:R}..{to:R} --steps {settings.BudgetSteps} --plot budget.svg") : null);
        return points;
    }
}
