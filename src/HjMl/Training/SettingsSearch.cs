using System.Diagnostics;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>One tried setting of a <see cref="SettingsSearch"/>.</summary>
/// <param name="Width">Support points per head.</param>
/// <param name="Viscosity">eps.</param>
/// <param name="Metric">Accuracy or R^2 on the held-out rows.</param>
/// <param name="Elapsed">Training time of this setting.</param>
public sealed record SearchTrial(int Width, double Viscosity, double Metric, TimeSpan Elapsed);

/// <summary>
/// Model Builder-style settings search: tries widths and viscosities on a seeded 20% hold-out, smallest models first,
/// within a time budget, and returns the trials and the best setting (ties go to the smaller, smoother model).
/// Deterministic for a seed, except where the budget cuts the list short.
/// </summary>
public static class SettingsSearch
{
    /// <summary>The widths tried, smallest first.</summary>
    public static IReadOnlyList<int> Widths { get; } = [4, 8, 16, 32];

    /// <summary>The viscosities tried.</summary>
    public static IReadOnlyList<double> Viscosities { get; } = [0.25, 0.5, 1, 2];

    /// <summary>Searches over <see cref="Widths"/> x <see cref="Viscosities"/> starting from <paramref name="template"/>.</summary>
    /// <exception cref="ArgumentException">The budget is not positive, or the data is too small to hold rows out.</exception>
    public static (IReadOnlyList<SearchTrial> Trials, HopfColeTrainerOptions Best) Run(Dataset data, HopfColeTrainerOptions template, TimeSpan budget, IProgress<SearchTrial>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(template);
        if (budget <= TimeSpan.Zero)
        {
            throw new ArgumentException($"budget is {budget}; a search needs a positive time budget.", nameof(budget));
        }

        if (data.Rows < 10)
        {
            throw new ArgumentException($"The data set has {data.Rows} rows; a settings search holds out 20% and needs at least 10.", nameof(data));
        }

        int[] order = data.ShuffledRows(template.Seed);
        int heldOut = data.Rows / 5;
        Dataset validation = data.Subset(order[..heldOut]);
        Dataset training = data.Subset(order[heldOut..]);
        var stopwatch = Stopwatch.StartNew();
        var trials = new List<SearchTrial>();
        foreach (int width in Widths)
        {
            foreach (double viscosity in Viscosities)
            {
                cancellation.ThrowIfCancellationRequested();
                if (trials.Count > 0 && stopwatch.Elapsed >= budget)
                {
                    break;
                }

                var started = Stopwatch.StartNew();
                HopfColeTrainerOptions options = template with { NumberOfSupportPoints = width, Viscosity = viscosity };
                HopfColeModel model = new HopfColeTrainer(options).Fit(training, cancellation: cancellation);
                var trial = new SearchTrial(width, viscosity, ModelMetrics.Evaluate(model, validation).Primary, started.Elapsed);
                trials.Add(trial);
                progress?.Report(trial);
            }
        }

        // Best metric; among near-ties (within 0.2 percentage points) the smaller width, then the larger eps.
        double top = trials.Max(trial => trial.Metric);
        SearchTrial best = trials.Where(trial => trial.Metric >= top - 0.002).OrderBy(trial => trial.Width).ThenByDescending(trial => trial.Viscosity).First();
        return (trials, template with { NumberOfSupportPoints = best.Width, Viscosity = best.Viscosity });
    }
}
