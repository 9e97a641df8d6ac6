using System.Globalization;
using HjMl.Evaluation;
using HjMl.Models;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>
/// The metrics section: ML.NET's metric names on the data; classifiers' confusion matrix, ROC and calibration curves;
/// regression's residuals.
/// </summary>
internal static class MetricsSection
{
    public static (ModelMetrics Metrics, ClassifierEvidence? Classifier, double[]? Residuals) Write(HtmlPage page, ReportContext context)
    {
        HopfColeModel model = context.Model;
        ModelMetrics metrics = ModelMetrics.FromScores(model.Kind, model.ClassLabels, context.Scores, context.Data.Labels);
        page.Section("metrics", "Metrics", "How well does the model do on these rows, and where does it go wrong?");
        var rows = new List<IReadOnlyList<string>> { new[] { "rows", metrics.Rows.ToString(CultureInfo.InvariantCulture) } };
        if (model.Kind == ModelKind.Regression)
        {
            rows.Add(["R²", HtmlPage.Number(metrics.RSquared, "F4")]);
            rows.Add(["RMSE (label units)", HtmlPage.Number(metrics.RootMeanSquaredError)]);
            rows.Add(["MAE (label units)", HtmlPage.Number(metrics.MeanAbsoluteError)]);
        }
        else
        {
            rows.Add(["accuracy", HtmlPage.Number(metrics.Accuracy, "F4")]);
            rows.Add(["macro accuracy", HtmlPage.Number(metrics.MacroAccuracy, "F4")]);
            rows.Add(["log-loss (nats)", HtmlPage.Number(metrics.LogLoss, "F4")]);
            if (model.Kind == ModelKind.BinaryClassification)
            {
                rows.Add(["AUC", HtmlPage.Number(metrics.AreaUnderRocCurve, "F4")]);
                rows.Add(["F1 (positive class)", HtmlPage.Number(metrics.F1Score, "F4")]);
            }
        }

        page.Table(["metric", "value"], rows, "Metrics on " + context.Inputs.DataName);
        if (context.Inputs.CommandLine is { } line)
        {
            page.Command($"hjml predict{line.Options} --out predictions.csv");
            if (line.EngineFile && line.DataPath is not null)
            {
                page.Command($"HjMl.Evaluation.ModelMetrics.Evaluate(HjMl.Persistence.ModelFile.Load(\"{line.ModelPath}\"), HjMl.Data.CsvDataset.Load(\"{line.DataPath}\", \"{context.Data.LabelName}\"))", "in C#");
            }
        }

        if (model.Kind == ModelKind.Regression)
        {
            return (metrics, null, WriteResiduals(page, context));
        }

        return (metrics, WriteClassifier(page, context, metrics), null);
    }

    private static ClassifierEvidence WriteClassifier(HtmlPage page, ReportContext context, ModelMetrics metrics)
    {
        HopfColeModel model = context.Model;
        int classes = model.NumberOfClasses, rows = context.Data.Rows;
        ReadOnlySpan<double> labels = context.Data.Labels;
        int[] truth = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            truth[i] = model.ClassIndexOf(labels[i]);
        }

        int[] predicted = context.Predictions.Select(p => p.ClassIndex).ToArray();
        int[,] confusion = ClassifierCurves.Confusion(classes, truth, predicted);
        string[] names = model.ClassLabels.Select(c => "class " + HtmlPage.Number(c, "G6")).ToArray();
        int unknown = truth.Count(t => t < 0);
        var tableRows = Enumerable.Range(0, classes).Select(t => (IReadOnlyList<string>)[names[t], .. Enumerable.Range(0, classes).Select(p => confusion[t, p].ToString(CultureInfo.InvariantCulture)), Recall(confusion, t)]);
        int rowMaximum = Math.Max(1, Enumerable.Range(0, classes).Max(t => Enumerable.Range(0, classes).Sum(p => confusion[t, p])));
        page.Table(["true \\ predicted", .. names, "recall"], tableRows, "Confusion matrix (rows: true class, columns: predicted class)", (r, c) => c >= 1 && c <= classes ? confusion[r, c - 1] / (double)rowMaximum : double.NaN);
        if (unknown > 0)
        {
            page.Paragraph(HtmlPage.Escape($"{unknown} rows have a label the model was not trained on; they count as errors in accuracy and are left out of the matrix."));
        }

        var curves = new List<RocCurve>();
        CalibrationBin[] calibration;
        if (model.Kind == ModelKind.BinaryClassification)
        {
            bool[] positive = truth.Select(t => t == 1).ToArray();
            curves.Add(ClassifierCurves.Roc(names[1], context.Scores, positive));
            calibration = ClassifierCurves.Calibration(context.Predictions.Select(p => p.Probability).ToArray(), positive);
        }
        else
        {
            for (int c = 0; c < classes; c++)
            {
                double[] probability = Enumerable.Range(0, rows).Select(i => context.Probabilities[(i * classes) + c]).ToArray();
                curves.Add(ClassifierCurves.Roc($"{names[c]} vs rest", probability, truth.Select(t => t == c).ToArray()));
            }

            double[] confidence = Enumerable.Range(0, rows).Select(i => context.Probabilities[(i * classes) + predicted[i]]).ToArray();
            calibration = ClassifierCurves.Calibration(confidence, Enumerable.Range(0, rows).Select(i => truth[i] == predicted[i]).ToArray());
        }

        double calibrationError = ClassifierCurves.ExpectedCalibrationError(calibration);
        Plot roc = Panels.Create(curves.Count == 1 ? $"ROC curve, AUC {HtmlPage.Number(curves[0].Area, "F4")}" : "ROC curves, one class against the rest", "false positive rate (fraction of negatives)", "true positive rate (fraction of positives)");
        for (int c = 0; c < curves.Count; c++)
        {
            ScottPlot.Plottables.Scatter line = Panels.Line(roc, curves[c].FalsePositiveRates, curves[c].TruePositiveRates, c, curves.Count > 1 ? $"{curves[c].Name} (AUC {HtmlPage.Number(curves[c].Area, "F3")})" : null);
            line.MarkerSize = 0;
        }

        Panels.Diagonal(roc, "chance");
        Panels.Legend(roc);
        roc.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        string what = model.Kind == ModelKind.BinaryClassification ? $"predicted P({names[1]})" : "confidence (predicted class's probability)";
        string observed = model.Kind == ModelKind.BinaryClassification ? $"observed frequency of {names[1]}" : "observed accuracy";
        Plot reliability = Panels.Create($"Calibration, expected error {HtmlPage.Number(calibrationError, "F3")}", what + " (bin mean)", observed + " (fraction)");
        Panels.Line(reliability, calibration.Select(b => b.MeanPredicted).ToArray(), calibration.Select(b => b.ObservedFrequency).ToArray(), 0, "model (10 equal bins)");
        Panels.Diagonal(reliability, "perfect calibration");
        Panels.Legend(reliability);
        reliability.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        page.Figure(new Figure([roc, reliability], columns: 2, panelHeight: 380), $"Left: ROC {(curves.Count == 1 ? "curve of the margin" : "curves of each class's probability against the rest")} (AUC {string.Join(", ", curves.Select(c => HtmlPage.Number(c.Area, "F3")))}). Right: calibration — rows binned by {what}; a point on the diagonal means the probabilities can be taken at face value. Expected calibration error {HtmlPage.Number(calibrationError, "F3")} (row-weighted mean gap over the {calibration.Length} non-empty bins).");
        return new ClassifierEvidence(confusion, curves, calibration, calibrationError);
    }

    private static string Recall(int[,] confusion, int truth)
    {
        int total = Enumerable.Range(0, confusion.GetLength(1)).Sum(p => confusion[truth, p]);
        return total == 0 ? "n/a" : HtmlPage.Number(confusion[truth, truth] / (double)total, "F3");
    }

    private static double[] WriteResiduals(HtmlPage page, ReportContext context)
    {
        int rows = context.Data.Rows;
        ReadOnlySpan<double> labels = context.Data.Labels;
        double[] predicted = context.Scores;
        double[] actual = labels.ToArray();
        double[] residuals = Enumerable.Range(0, rows).Select(i => actual[i] - predicted[i]).ToArray();
        Plot scatter = Panels.Create("Residuals against the prediction", "prediction (label units)", "residual: label − prediction (label units)");
        ScottPlot.Plottables.Scatter points = scatter.Add.ScatterPoints(predicted, residuals, Panels.Series[0]);
        points.MarkerSize = 4;
        scatter.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dashed);
        Plot fit = Panels.Create("Prediction against the label", "label (label units)", "prediction (label units)");
        ScottPlot.Plottables.Scatter fitted = fit.Add.ScatterPoints(actual, predicted, Panels.Series[0]);
        fitted.MarkerSize = 4;
        double low = Math.Min(actual.Min(), predicted.Min()), high = Math.Max(actual.Max(), predicted.Max());
        ScottPlot.Plottables.Scatter diagonal = fit.Add.Scatter(new[] { low, high }, new[] { low, high }, Colors.Gray);
        diagonal.LinePattern = LinePattern.Dotted;
        diagonal.MarkerSize = 0;
        diagonal.LegendText = "prediction = label";
        Panels.Legend(fit);
        Plot histogram = Panels.Create("Distribution of the residuals", "residual (label units)", "rows");
        Panels.Histogram(histogram, residuals, 30);
        page.Figure(new Figure([scatter, fit, histogram], columns: 3, panelWidth: 360, panelHeight: 340), $"Residuals on {rows} rows: mean {HtmlPage.Number(residuals.Average())}, largest |residual| {HtmlPage.Number(residuals.Max(r => Math.Abs(r)))} (label units). A pattern against the prediction means the model misses a trend there.");
        return residuals;
    }
}
