using System.Globalization;
using HjMl.Training;

namespace HjMl.Cli;

/// <summary>
/// Shows training progress on a writer: a redrawn bar when the writer is an interactive console, otherwise one line
/// every tenth of the run, so logs stay readable.
/// </summary>
internal sealed class ProgressBar(TextWriter writer, bool interactive, string metricName) : IProgress<TrainingProgress>
{
    private const int Width = 30;
    private int lastLine;

    public void Report(TrainingProgress value)
    {
        int filled = (int)Math.Round(Width * value.Epoch / (double)value.MaximumEpochs);
        string validation = double.IsNaN(value.ValidationMetric) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"  validation {metricName} {value.ValidationMetric:F4}");
        // Time left at the mean pace so far, for every epoch still allowed; early stopping may end the run sooner.
        double left = value.Epoch > 0 ? value.Elapsed.TotalSeconds / value.Epoch * (value.MaximumEpochs - value.Epoch) : double.NaN;
        string text = string.Create(
            CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] epoch {value.Epoch,4}/{value.MaximumEpochs}  loss {value.TrainingLoss:F5}{validation}  eps {value.Viscosity:G4}  {value.Elapsed.TotalSeconds:F1}s, at most {left:F0}s left");
        if (interactive)
        {
            writer.Write('\r' + text);
            return;
        }

        int line = value.Epoch * 10 / value.MaximumEpochs;
        if (line != lastLine || value.Epoch == 1)
        {
            lastLine = line;
            writer.WriteLine(text);
        }
    }

    /// <summary>Ends the redrawn line.</summary>
    public void Finish()
    {
        if (interactive)
        {
            writer.WriteLine();
        }
    }
}
