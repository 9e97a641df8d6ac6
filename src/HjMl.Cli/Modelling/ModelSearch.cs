using System.Diagnostics;
using System.Globalization;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Modelling;

/// <summary>One trained and scored configuration of the search.</summary>
/// <param name="Number">1-based, in the order trials ran.</param>
/// <param name="Rung">The successive-halving rung (0 = fewest epochs).</param>
/// <param name="Options">The trainer options it ran with (MaximumEpochs is the rung's).</param>
/// <param name="Metrics">Its metrics on the search's hold-out rows.</param>
/// <param name="Elapsed">Its training time.</param>
internal sealed record SearchTrialResult(int Number, int Rung, HopfColeTrainerOptions Options, ModelMetrics Metrics, TimeSpan Elapsed);

/// <summary>What a search found.</summary>
/// <param name="Best">The best trial's settings with the full number of epochs, to train the final model with.</param>
/// <param name="Trials">Every completed trial, in the order they ran.</param>
/// <param name="SearchRows">Rows the trials trained on.</param>
/// <param name="HoldoutRows">Rows the trials were scored on.</param>
/// <param name="Elapsed">The search's wall time.</param>
internal sealed record SearchOutcome(HopfColeTrainerOptions Best, IReadOnlyList<SearchTrialResult> Trials, int SearchRows, int HoldoutRows, TimeSpan Elapsed)
{
    /// <summary>The trials, best first (by the primary metric, larger epochs breaking ties).</summary>
    public IEnumerable<SearchTrialResult> Leaderboard => Trials.OrderByDescending(t => t.Metrics.Primary).ThenByDescending(t => t.Rung).ThenBy(t => t.Number);
}

/// <summary>
/// A time-bounded search over depth, width, viscosity and learning rate by successive halving (Jamieson and Talwalkar
/// 2016; repeated brackets as in Hyperband, Li et al. 2017): each bracket draws <see cref="BracketSize"/> settings, trains
/// them for a few epochs, keeps the best third for three times as many, and so on up to the epochs asked for; brackets
/// repeat until the budget is spent. Trials train on 80% of the rows given and are scored on the other 20%; the rows
/// the caller held out for the final score are never passed in. The first setting of the first bracket is the one asked
/// for, so the search cannot end worse than it on the hold-out. Draws come from one generator seeded by the options'
/// seed, so a seed fixes the sequence of trials; the budget decides how many of them run.
/// </summary>
internal static class ModelSearch
{
    /// <summary>Settings drawn per bracket.</summary>
    public const int BracketSize = 9;

    /// <summary>What survives a rung.</summary>
    public const int Keep = 3;

    /// <summary>Runs the search on <paramref name="data"/> for <paramref name="budget"/>; trial lines go to <paramref name="output"/>.</summary>
    public static SearchOutcome Run(Dataset data, HopfColeTrainerOptions template, TimeSpan budget, TextWriter output, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(template.Seed);
        int[] order = data.ShuffledRows(template.Seed);
        int holdout = Math.Max(1, order.Length / 5);
        Dataset scored = data.Subset(order[..holdout]);
        Dataset trained = data.Subset(order[holdout..]);
        int fullEpochs = Math.Max(1, template.MaximumEpochs);
        int[] rungs = [.. new[] { fullEpochs / (Keep * Keep), fullEpochs / Keep, fullEpochs }.Where(e => e >= 1).Distinct()];
        string metric = template.Kind == ModelKind.Regression ? "R²" : "accuracy";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"searching depth, width, eps and learning rate by successive halving for {budget.TotalSeconds:G4}s: trials train on {trained.Rows} rows and are scored on {holdout} others; rungs of {string.Join(", ", rungs)} epochs, keeping the best 1/{Keep} of each"));
        var trials = new List<SearchTrialResult>();
        SearchTrialResult? best = null;
        bool first = true;
        while (clock.Elapsed < budget)
        {
            var candidates = new List<HopfColeTrainerOptions>();
            for (int i = 0; i < BracketSize; i++)
            {
                candidates.Add(first ? template : Draw(template, random, trained));
                first = false;
            }

            for (int rung = 0; rung < rungs.Length && candidates.Count > 0 && clock.Elapsed < budget; rung++)
            {
                int epochs = rungs[rung];
                var results = new List<SearchTrialResult>();
                foreach (HopfColeTrainerOptions candidate in candidates)
                {
                    TimeSpan left = budget - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        break;
                    }

                    // The optimiser the full run of this candidate would take: Automatic resolves by the epochs too, and a
                    // short rung would otherwise judge a candidate by L-BFGS that the full run trains by Adam.
                    HopfColeTrainerOptions options = candidate with { MaximumEpochs = epochs, Optimizer = HopfColeTrainer.ResolvedOptimizer(candidate, trained) };
                    SearchTrialResult? result = Trial(trained, scored, options, trials.Count + 1, rung, left, cancellation);
                    if (result is null)
                    {
                        continue;
                    }

                    trials.Add(result);
                    results.Add(result);
                    if (best is null || result.Metrics.Primary > best.Metrics.Primary)
                    {
                        best = result;
                    }

                    TimeSpan remaining = budget - clock.Elapsed;
                    string line = string.Create(CultureInfo.InvariantCulture, $"  trial {result.Number,3}  rung {rung} ({epochs,3} epochs)  {Describe(options)}  {metric} {result.Metrics.Primary:F4}  {result.Elapsed.TotalSeconds,5:F1}s | best {best.Metrics.Primary:F4} (trial {best.Number}) | {Math.Max(0, remaining.TotalSeconds):F0}s left");
                    output.WriteLine(line);
                }

                candidates = results.OrderByDescending(r => r.Metrics.Primary).Take(Math.Max(1, results.Count / Keep)).Select(r => r.Options).ToList();
            }
        }

        if (best is null)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"No trial finished within the time budget of {budget.TotalSeconds:G4}s; give a longer --time-budget."));
        }

        return new SearchOutcome(best.Options with { MaximumEpochs = template.MaximumEpochs }, trials, trained.Rows, scored.Rows, clock.Elapsed);
    }

    /// <summary>The searched settings of <paramref name="options"/>, as one line.</summary>
    public static string Describe(HopfColeTrainerOptions options)
        => string.Create(CultureInfo.InvariantCulture, $"depth {options.Depth}  width {options.NumberOfSupportPoints,3}  eps {options.Viscosity,6:G3}  lr {options.LearningRate,7:G2}");

    // Log-uniform draws around the defaults: width 4..128, eps 0.05..5, learning rate 3e-4..3e-2; depth 0 half the time
    // (the single layer is the model most data sets want), else a flow of 1 or 2 steps at the default lift.
    private static HopfColeTrainerOptions Draw(HopfColeTrainerOptions template, Random random, Dataset data)
    {
        static double LogUniform(Random random, double low, double high) => Math.Exp(Math.Log(low) + (random.NextDouble() * (Math.Log(high) - Math.Log(low))));
        int width = (int)Math.Round(LogUniform(random, 4, 128));
        double eps = LogUniform(random, 0.05, 5);
        double rate = LogUniform(random, 3e-4, 3e-2);
        int depth = random.NextDouble() < 0.5 ? 0 : 1 + random.Next(2);
        return template with
        {
            NumberOfSupportPoints = Math.Min(width, Math.Max(1, data.Rows)),
            Viscosity = Math.Round(eps, 3),
            LearningRate = Math.Round(rate, 5),
            Depth = depth,
            FlowWidth = depth > 0 ? template.FlowWidth : 0,
        };
    }

    private static SearchTrialResult? Trial(Dataset trained, Dataset scored, HopfColeTrainerOptions options, int number, int rung, TimeSpan left, CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(left);
        var clock = Stopwatch.StartNew();
        try
        {
            HopfColeModel model = new HopfColeTrainer(options).Fit(trained, cancellation: deadline.Token);
            ModelMetrics metrics = ModelMetrics.Evaluate(model, scored);
            return double.IsFinite(metrics.Primary) ? new SearchTrialResult(number, rung, options, metrics, clock.Elapsed) : null;
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return null;
        }
        catch (ArgumentException)
        {
            // A drawn setting the data cannot take (a learning rate that diverges at once): the next one is drawn.
            return null;
        }
    }
}
