using System.Globalization;
using HjMl.Training;

namespace HjMl.Cli;

/// <summary>
/// Shows training progress on a writer: a bar redrawn every tenth of a second when the writer is an interactive console,
/// otherwise one line every tenth of the run, so logs stay readable.
/// </summary>
internal sealed class ProgressBar(TextWriter writer, bool interactive, string metricName) : IProgress<TrainingProgress>
{
    private const int Width = 30;

    // A console redraw at most this often: a fast run reports thousands of epochs a second, and each line costs its formatting.
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);
    private int lastLine;
    private TimeSpan lastRedraw;

    public void Report(TrainingProgress value)
    {
        int line = value.Epoch * 10 / value.MaximumEpochs;
        bool last = value.Epoch == value.MaximumEpochs;
        if (interactive ? !last && value.Epoch != 1 && value.Elapsed - lastRedraw < RedrawInterval : line == lastLine && value.Epoch != 1)
        {
            return;
        }

        int filled = (int)Math.Round(Width * value.Epoch / (double)value.MaximumEpochs);
        string validation = double.IsNaN(value.ValidationMetric) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"  validation {metricName} {value.ValidationMetric:F4}");
        // Time left at the mean pace so far, for every epoch still allowed; early stopping may end the run sooner.
        double left = value.Epoch > 0 ? value.Elapsed.TotalSeconds / value.Epoch * (value.MaximumEpochs - value.Epoch) : double.NaN;
        string text = string.Create(
            CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] epoch {value.Epoch,4}/{value.MaximumEpochs}  loss {value.TrainingLoss:F5}{validation}  eps {value.Viscosity:G4}  {value.Elapsed.TotalSeconds:F1}s, at most {left:F0}s left");
        if (interactive)
        {
            lastRedraw = value.Elapsed;
            writer.Write('\r' + text);
            return;
        }

        lastLine = line;
        writer.WriteLine(text);
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
