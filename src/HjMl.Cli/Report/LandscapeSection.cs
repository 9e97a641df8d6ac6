using System.Globalization;
using HjMl.Landscape;
using HjMl.Models;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>
/// The entropy-landscape section (THEORY.md section 4): H(pi) of the predicted head over the data's principal-component
/// plane at the model's eps, with the rows and the basins on it, and how many basins each head keeps along eps — the
/// engine's <see cref="EntropyLandscape"/>, as <c>hjml landscape</c> computes it.
/// </summary>
internal static class LandscapeSection
{
    public static (LandscapeEvidence? Evidence, string? Omitted) Write(HtmlPage page, ReportContext context, CancellationToken cancellation)
    {
        HopfColeModel model = context.Model;
        page.Section("landscape", "Entropy landscape and basins", "Where are the attribution basin boundaries, and how do basins merge along eps?");
        string? omitted = model.Flow is not null
            ? $"This model has a flow of depth {model.Depth}: its read-out sees the flow's terminal coordinates, not a plane of the input features, and the engine's landscape is defined for a single layer on its input plane; the section is left out."
            : model.Viscosity > 0 ? null : "This model is tropical (eps = 0): H(π) is piecewise constant and has no isolated minima; the section is left out.";
        if (omitted is not null)
        {
            page.Note(omitted);
            return (null, omitted);
        }

        ReportSettings settings = context.Inputs.Settings;
        double eps = model.Viscosity;
        LandscapePlane plane = LandscapePlane.ForModel(model, context.Data.Features);
        LandscapeSurface surface = EntropyLandscape.Surface(model.Layer, plane, head: null, settings.LandscapeGrid);
        double[] viscosities = EntropyLandscape.GeometricViscosities(eps / 100, eps * 100, settings.LandscapeSteps);
        var heads = new List<(string Name, int? Head)> { ("predicted head", null) };
        heads.AddRange(Enumerable.Range(0, Math.Min(model.Layer.NumberOfHeads, settings.LandscapeHeads)).Select(h => (HeadName(model, h), (int?)h)));
        var counts = new Dictionary<string, int[]>();
        var basins = new Dictionary<string, IReadOnlyList<Basin>>();
        foreach ((string name, int? head) in heads)
        {
            cancellation.ThrowIfCancellationRequested();
            LandscapeSweep sweep = EntropyLandscape.Sweep(model.Layer, plane, viscosities, head, settings.LandscapeGrid, cancellation: cancellation);
            counts[name] = sweep.Levels.Select(level => level.Count).ToArray();
            basins[name] = EntropyLandscape.Basins(model.Layer, plane, head, settings.LandscapeGrid).Basins;
        }

        page.Paragraph(HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"The plane: {plane.Description}, in the model's standardised features; window u [{plane.FirstMinimum:G3}, {plane.FirstMaximum:G3}] × v [{plane.SecondMinimum:G3}, {plane.SecondMaximum:G3}], {settings.LandscapeGrid} × {settings.LandscapeGrid} grid. A basin is a local minimum of H(π): a place where few support points carry the prediction. Following the predicted head, minima on a decision boundary do not count (H jumps there between two heads), so a classifier's predicted-head landscape can have none even where each head alone has several: their counts are shown beside it. The paper's critical scale eps* = N^(−1/d) = {EntropyLandscape.CriticalViscosity(model.Layer):G4}.")));
        var panels = new List<ScottPlot.Plot> { SurfacePanel(context, plane, surface, basins, $"at the model's eps {Panels.Number(eps)}") };
        string caption = string.Create(CultureInfo.InvariantCulture, $"H(π) of the predicted head over the plane at the model's eps {eps:G4}, the rows as dots, each head's basins at this eps as crosses ({string.Join("; ", basins.Select(b => $"{b.Key}: {b.Value.Count}"))}).");

        // Where the model's own eps is smooth enough to leave no basin, the landscape is drawn a second time at the
        // largest eps of the sweep that still has some, so that the basins' places are seen too.
        int sharp = Enumerable.Range(0, viscosities.Length).LastOrDefault(i => viscosities[i] < eps && counts.Values.Any(c => c[i] > 0), -1);
        if (basins.Values.All(b => b.Count == 0) && sharp >= 0)
        {
            double at = viscosities[sharp];
            var layer = model.Layer.WithViscosity(at);
            var sharpBasins = heads.ToDictionary(h => h.Name, h => EntropyLandscape.Basins(layer, plane, h.Head, settings.LandscapeGrid).Basins);
            panels.Add(SurfacePanel(context, plane, EntropyLandscape.Surface(layer, plane, head: null, settings.LandscapeGrid), sharpBasins, $"at eps {Panels.Number(at)}"));
            caption += string.Create(CultureInfo.InvariantCulture, $" No head has a basin there, so the landscape is drawn again at eps {at:G3}, the largest eps of the sweep with basins ({string.Join("; ", sharpBasins.Where(b => b.Value.Count > 0).Select(b => $"{b.Key}: {b.Value.Count}"))}).");
        }

        panels.Add(CountPanel(viscosities, counts, eps));
        page.Figure(new Figure(panels, columns: 2, panelHeight: 440), caption + " Last: basins per head along eps (log scale), the model's eps dashed.");
        var table = heads.Select(h => (IReadOnlyList<string>)[h.Name, .. counts[h.Name].Select(c => c.ToString(CultureInfo.InvariantCulture))]);
        page.Table(["basins at eps", .. viscosities.Select(v => HtmlPage.Number(v, "G3"))], table, "Basin counts along the sweep");
        page.Command(context.Inputs.CommandLine is { } line ? string.Create(CultureInfo.InvariantCulture, $"hjml landscape{line.Options} --viscosity {eps / 100:R}..{eps * 100:R} --steps {settings.LandscapeSteps} --grid {settings.LandscapeGrid} --head predicted|<k>") : null);
        return (new LandscapeEvidence(plane, surface, basins, counts, viscosities), null);
    }

    private static string HeadName(HopfColeModel model, int head) => model.Kind switch
    {
        ModelKind.MulticlassClassification => $"head {head} (class {HtmlPage.Number(model.ClassLabels[head], "G6")})",
        ModelKind.BinaryClassification => head == 0 ? $"head 0 (class {HtmlPage.Number(model.ClassLabels[1], "G6")})" : $"head 1 (class {HtmlPage.Number(model.ClassLabels[0], "G6")})",
        _ => $"head {head}",
    };

    /// <summary>H(pi) of <paramref name="surface"/> as a heat map over (u, v), v growing upwards, with the rows and the basins on it.</summary>
    internal static Plot SurfacePanel(ReportContext context, LandscapePlane plane, LandscapeSurface surface, IReadOnlyDictionary<string, IReadOnlyList<Basin>> basins, string when)
    {
        int n = surface.U.Count;
        var intensities = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                // A heat map's row 0 is its top row: the largest v, so that v grows upwards; column i is u[i].
                intensities[n - 1 - j, i] = surface.Entropy[(i * n) + j];
            }
        }

        Plot plot = Panels.Create($"H(π) of the predicted head, {when}", "u: first principal component (standardised units)", "v: second principal component (standardised units)");
        ScottPlot.Plottables.Heatmap heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // The grid's values are at the cells' centres: the picture reaches half a cell beyond the first and last.
        double du = (surface.U[^1] - surface.U[0]) / (n - 1) / 2, dv = (surface.V[^1] - surface.V[0]) / (n - 1) / 2;
        heatmap.Extent = new CoordinateRect(surface.U[0] - du, surface.U[^1] + du, surface.V[0] - dv, surface.V[^1] + dv);
        ScottPlot.Panels.ColorBar bar = plot.Add.ColorBar(heatmap);
        bar.Label = "H(π), nats";
        (double[] u, double[] v) = Project(context, plane);
        ScottPlot.Plottables.Scatter rows = plot.Add.ScatterPoints(u, v, Colors.White.WithOpacity(0.7));
        rows.MarkerSize = 3;
        int series = 1;
        foreach ((string name, IReadOnlyList<Basin> found) in basins)
        {
            if (found.Count == 0)
            {
                continue;
            }

            ScottPlot.Plottables.Scatter marks = plot.Add.ScatterPoints(found.Select(b => b.First).ToArray(), found.Select(b => b.Second).ToArray(), Panels.Series[series++ % Panels.Series.Length]);
            marks.MarkerShape = MarkerShape.Cross;
            marks.MarkerSize = 12;
            marks.MarkerLineWidth = 2;
            marks.LegendText = $"basins, {name}";
        }

        plot.Axes.SetLimits(surface.U[0] - du, surface.U[^1] + du, surface.V[0] - dv, surface.V[^1] + dv);
        if (series > 1)
        {
            Panels.Legend(plot);
        }

        return plot;
    }

    private static Plot CountPanel(double[] viscosities, Dictionary<string, int[]> counts, double eps)
    {
        Plot plot = Panels.Create("Basins along eps", "eps, the viscosity (log scale)", "basins in the window (count)");
        Panels.LogarithmicX(plot);
        double[] x = viscosities.Select(Math.Log10).ToArray();
        int series = 0;
        foreach ((string name, int[] count) in counts)
        {
            Panels.Line(plot, x, count.Select(c => (double)c).ToArray(), series++, name);
        }

        Panels.MarkX(plot, Math.Log10(eps), $"model eps {Panels.Number(eps)}");
        Panels.Legend(plot);
        return plot;
    }

    // The rows' coordinates on the plane: u = (z - origin) . first, v = (z - origin) . second for standardised rows z.
    private static (double[] U, double[] V) Project(ReportContext context, LandscapePlane plane)
    {
        int rows = context.Data.Rows, d = context.Model.InputDimension;
        var u = new double[rows];
        var v = new double[rows];
        var z = new double[d];
        for (int row = 0; row < rows; row++)
        {
            context.Model.Scaling.Apply(context.Data.Row(row), z);
            for (int k = 0; k < d; k++)
            {
                double centred = z[k] - plane.Origin[k];
                u[row] += centred * plane.First[k];
                v[row] += centred * plane.Second[k];
            }
        }

        return (u, v);
    }
}
