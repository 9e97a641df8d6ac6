using HjMl.Models;
using HjMl.Training;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>The training history section: loss, validation metric and eps per epoch, when the caller has them.</summary>
internal static class HistorySection
{
    /// <summary>The statement the page makes when the history is not available.</summary>
    public const string NotCarried = "The .hjml model file does not carry its training history: it stores the model and a metadata map (what it was trained on, the command), not the epochs. The history is the TrainingResult.History that HopfColeTrainer.Train returns (and the progress hjml train prints while training); a report built in code from that result draws it here.";

    public static bool Write(HtmlPage page, ReportContext context)
    {
        page.Section("history", "Training history", "How did training go: did it converge, did it overfit, where did eps end?");
        IReadOnlyList<TrainingProgress>? history = context.Inputs.History;
        if (history is null || history.Count == 0)
        {
            page.Note(NotCarried);
            return false;
        }

        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        Plot loss = Panels.Create("Loss per epoch", "epoch", "loss per row (the training objective)");
        Panels.Line(loss, epochs, history.Select(h => h.TrainingLoss).ToArray(), 0, "training loss").MarkerSize = 0;
        if (history.Any(h => double.IsFinite(h.ValidationLoss)))
        {
            Panels.Line(loss, epochs, history.Select(h => h.ValidationLoss).ToArray(), 1, "validation loss").MarkerSize = 0;
        }

        Panels.Legend(loss);
        string metric = context.Model.Kind == ModelKind.Regression ? "validation R²" : "validation accuracy (fraction)";
        Plot quality = Panels.Create("Validation metric per epoch", "epoch", metric);
        Panels.Line(quality, epochs, history.Select(h => h.ValidationMetric).ToArray(), 2).MarkerSize = 0;
        Plot viscosity = Panels.Create("eps per epoch", "epoch", "eps, the viscosity");
        Panels.Line(viscosity, epochs, history.Select(h => h.Viscosity).ToArray(), 3).MarkerSize = 0;
        page.Figure(new Figure([loss, quality, viscosity], columns: 3, panelWidth: 360, panelHeight: 320), $"{history.Count} epochs, {history[^1].Elapsed.TotalSeconds:F1} s.");
        return true;
    }
}
