using System.Globalization;
using HjMl.Attribution;
using HjMl.Cli.Data;
using HjMl.Models;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>
/// Global feature importance and a few rows explained one by one (THEORY.md section 4): the feature contributions that,
/// with the bias and entropy terms, sum exactly to the explained value, and the training rows that carried each
/// prediction — <see cref="ModelExplainer.Explain"/>, as <c>hjml explain</c> shows it. Image data is drawn as pixels.
/// </summary>
internal static class ExplanationSection
{
    private const int Bars = 12;

    public static double[] WriteImportance(HtmlPage page, ReportContext context)
    {
        HopfColeModel model = context.Model;
        double[] importance = context.Importance;
        page.Section("importance", "Global feature importance", "Which features drive the model's decisions over these rows?");
        int[] order = Enumerable.Range(0, importance.Length).OrderByDescending(k => importance[k]).Take(Bars + 3).ToArray();
        string units = Units(model);
        Plot bars = Panels.Create($"Mean |contribution| to the {Short(model)}, top {order.Length} of {importance.Length} features", $"mean |contribution| ({units})", string.Empty);
        Panels.HorizontalBars(bars, order.Select(k => model.FeatureNames[k]).ToArray(), order.Select(k => importance[k]).ToArray());
        var panels = new List<Plot> { bars };
        int side = context.ImageSide;
        if (side > 0)
        {
            panels.Add(PixelPanel("Mean |contribution| per pixel", importance, side, diverging: false, $"mean |contribution| ({units})"));
        }

        page.Figure(new Figure(panels, columns: panels.Count, panelWidth: panels.Count == 1 ? 760 : 520, panelHeight: 420), $"The mean over {context.Data.Rows} rows of each feature's |contribution| to the {context.ExplainedValue}{(model.Flow is null ? string.Empty : " (integrated gradients through the flow)")}; contributions are exact parts of the value, so they are in its units ({units}).");
        return importance;
    }

    public static IReadOnlyList<int> WriteRows(HtmlPage page, ReportContext context)
    {
        HopfColeModel model = context.Model;
        page.Section("explanations", "Explained rows", "Why this prediction: which features, which training examples, how sharp?");
        page.Paragraph(HtmlPage.Escape($"Each explained value is the {context.ExplainedValue}. For a single layer it splits exactly as features + bias + eps·H(π) (THEORY.md section 4){(model.Flow is null ? "." : "; with a flow, over the input features as the value at the training means + feature contributions (integrated gradients) + a quadrature remainder.")} {TrainingRows.Note}"));
        var chosen = new List<(int Row, string Why)>();
        void Choose(int row, string why)
        {
            if (row >= 0 && chosen.All(c => c.Row != row) && chosen.Count < context.Inputs.Settings.ExplainedRows)
            {
                chosen.Add((row, why));
            }
        }

        int rows = context.Data.Rows;
        double[] labels = context.Data.Labels.ToArray();
        Choose(0, "the first row");
        Choose(Enumerable.Range(0, rows).MinBy(i => context.Radii[i]), "the least robust row (smallest radius)");
        if (model.Kind == ModelKind.Regression)
        {
            double[] errors = Enumerable.Range(0, rows).Select(i => Math.Abs(labels[i] - context.Predictions[i].PredictedLabel)).ToArray();
            Choose(Array.IndexOf(errors, errors.Max()), "the largest error");
        }
        else
        {
            Choose(Enumerable.Range(0, rows).FirstOrDefault(i => context.Predictions[i].PredictedLabel != labels[i], -1), "the first misclassified row");
        }

        Choose(Enumerable.Range(0, rows).MaxBy(i => context.Coverage[i].Score), "the row farthest from the support");
        var explanation = new Explanation(model, top: Math.Min(3, model.Kind == ModelKind.Regression ? 2 * model.Layer.NumberOfPieces : model.Layer.NumberOfPieces));
        foreach ((int row, string why) in chosen)
        {
            WriteRow(page, context, explanation, row, why);
        }

        page.Command(context.Inputs.CommandLine is { } line ? $"hjml explain{line.Options} --top 3 --out explanations.csv" : null);
        return chosen.Select(c => c.Row).ToArray();
    }

    private static void WriteRow(HtmlPage page, ReportContext context, Explanation explanation, int row, string why)
    {
        HopfColeModel model = context.Model;
        context.Explainer.Explain(context.Data.Row(row), explanation);
        Prediction prediction = explanation.Prediction;
        (double[] contributions, double value) = context.InputContributions(explanation);
        double label = context.Data.Labels[row];
        string probability = double.IsNaN(prediction.Probability) ? string.Empty
            : model.Kind == ModelKind.BinaryClassification ? string.Create(CultureInfo.InvariantCulture, $", P(class {model.ClassLabels[1]:G6}) {prediction.Probability:F3}")
            : string.Create(CultureInfo.InvariantCulture, $", probability {prediction.Probability:F3}");
        page.Subheading($"Row {context.RowNumber(row)}: {why}");
        page.Paragraph(HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"Predicted {HtmlPage.Number(prediction.PredictedLabel, "G6")}{probability}; label {HtmlPage.Number(label, "G6")}.")));
        page.Paragraph(HtmlPage.Escape(Parts(model, explanation, contributions, value)));
        page.Paragraph(HtmlPage.Escape(Entropy(model, explanation)));
        page.Paragraph(HtmlPage.Escape("Carried by " + string.Join("; ", explanation.TopSupport.Select(s => string.Create(CultureInfo.InvariantCulture, $"{TrainingRows.Name(s.SupportRow)}, head {s.Head}, weight π {s.Weight:F3}"))) + "."));
        int[] order = Enumerable.Range(0, contributions.Length).OrderByDescending(k => Math.Abs(contributions[k])).Take(Bars).ToArray();
        Plot bars = Panels.Create($"Row {context.RowNumber(row)}: the {order.Length} largest contributions", $"contribution to the {Short(model)} ({Units(model)})", string.Empty);
        Panels.HorizontalBars(bars, order.Select(k => model.FeatureNames[k]).ToArray(), order.Select(k => contributions[k]).ToArray());
        bars.Add.VerticalLine(0, 1, Colors.Gray);
        var panels = new List<Plot> { bars };
        int side = context.ImageSide;
        if (side > 0)
        {
            panels.Add(PixelPanel($"Row {context.RowNumber(row)}: the input (raw values)", context.Data.Row(row).ToArray(), side, diverging: false, null));
            panels.Add(PixelPanel($"Row {context.RowNumber(row)}: contribution ({Units(model)})", contributions, side, diverging: true, null));
        }

        page.Figure(new Figure(panels, columns: panels.Count, panelWidth: panels.Count == 1 ? 760 : 440, panelHeight: 400), $"Row {context.RowNumber(row)}: blue bars push the {Short(model)} up, orange bars down{(side > 0 ? "; in the pixel map red pushes up, blue down" : string.Empty)}.");
    }

    private static string Parts(HopfColeModel model, Explanation explanation, double[] contributions, double value)
    {
        bool multiclass = model.Kind == ModelKind.MulticlassClassification;
        InputDecomposition? input = multiclass ? explanation.InputClass : explanation.InputMargin;
        if (input is not null)
        {
            return string.Create(CultureInfo.InvariantCulture, $"The {(multiclass ? "predicted class's score" : "value")} {value:G6} = {input.Baseline:G6} (at the training means) + {contributions.Sum():G6} (input features) + {input.Remainder:G2} (quadrature remainder, {input.QuadratureNodes} nodes).");
        }

        Decomposition parts = multiclass ? explanation.Class : explanation.Margin;
        string baseline = parts.Baseline != 0 ? string.Create(CultureInfo.InvariantCulture, $" + {parts.Baseline:G6} (label mean)") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"The {(multiclass ? $"score of class {model.ClassLabels[explanation.Prediction.ClassIndex]:G6}" : model.Kind == ModelKind.Regression ? "prediction" : "margin")} {parts.Value:G6} = {contributions.Sum():G6} (features) + {parts.BiasTerm:G6} (bias) + {parts.EntropyTerm:G6} (eps·H term){baseline}.");
    }

    /// <summary>
    /// The entropy beside the eps·H term, as the term is made of it: for a margin of two heads that is the difference of
    /// both heads' entropies, which is not the predicted head's entropy alone (<c>hjml explain</c> prints the same line).
    /// </summary>
    internal static string Entropy(HopfColeModel model, Explanation explanation)
    {
        double h = explanation.Entropy;
        string effective = string.Create(CultureInfo.InvariantCulture, $"H(π) of the predicted head is {h:F3} nats, {explanation.EffectiveSupportCount:F1} effective support points");
        if (model.Kind == ModelKind.MulticlassClassification || model.Flow is not null || !(model.Viscosity > 0))
        {
            return model.Kind == ModelKind.MulticlassClassification && model.Flow is null
                ? string.Create(CultureInfo.InvariantCulture, $"{effective}; the eps·H term is eps × H = {model.Viscosity:G4} × {h:G3}.")
                : effective + ".";
        }

        double scale = model.Kind == ModelKind.Regression ? model.LabelScale : 1;
        double difference = explanation.Margin.EntropyTerm / (scale * model.Viscosity);
        bool headZero = model.Kind == ModelKind.Regression || explanation.Prediction.ClassIndex == 1;
        double h0 = headZero ? h : h + difference, h1 = headZero ? h - difference : h;
        return string.Create(CultureInfo.InvariantCulture, $"{effective}; the margin's eps·H term is {(scale != 1 ? "label scale × " : string.Empty)}eps × (H(head 0) − H(head 1)) = {(scale != 1 ? $"{scale:G4} × " : string.Empty)}{model.Viscosity:G4} × ({h0:F3} − {h1:F3}).");
    }

    /// <summary>
    /// <paramref name="values"/> (row-major, <paramref name="side"/> x <paramref name="side"/>) as an image, row 0 at the
    /// top; a diverging map centred on 0 for signed values.
    /// </summary>
    internal static Plot PixelPanel(string title, double[] values, int side, bool diverging, string? unit)
    {
        var pixels = new double[side, side];
        for (int k = 0; k < side * side; k++)
        {
            pixels[k / side, k % side] = values[k];
        }

        Plot plot = Panels.Create(title, "pixel column", "pixel row");
        ScottPlot.Plottables.Heatmap heatmap = plot.Add.Heatmap(pixels);
        heatmap.Extent = new CoordinateRect(-0.5, side - 0.5, side - 0.5, -0.5);
        if (diverging)
        {
            double largest = Math.Max(1e-300, values.Max(v => Math.Abs(v)));
            heatmap.Colormap = new ScottPlot.Colormaps.Balance();
            heatmap.ManualRange = new ScottPlot.Range(-largest, largest);
        }
        else
        {
            heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        }

        ScottPlot.Panels.ColorBar bar = plot.Add.ColorBar(heatmap);
        if (unit is not null)
        {
            bar.Label = unit;
        }

        plot.Axes.SetLimits(-0.5, side - 0.5, side - 0.5, -0.5);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        return plot;
    }

    private static string Short(HopfColeModel model) => model.Kind switch
    {
        ModelKind.BinaryClassification => "margin",
        ModelKind.MulticlassClassification => "class score",
        _ => "prediction",
    };

    private static string Units(HopfColeModel model) => model.Kind switch
    {
        ModelKind.BinaryClassification => "log-odds",
        ModelKind.MulticlassClassification => "logit units",
        _ => "label units",
    };
}
