using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;

namespace HjMl.Attribution;

/// <summary>One viscosity of a budget sweep.</summary>
/// <param name="Viscosity">eps.</param>
/// <param name="Metric">Accuracy (classifiers) or R^2 (regression) on the data.</param>
/// <param name="MeanRadius">Mean certified radius (classifiers) or mean stability radius for the tolerance (regression), standardised units.</param>
/// <param name="MeanEntropy">Mean attribution entropy H(pi), nats.</param>
/// <param name="OutOfSupportFraction">Fraction of rows flagged out of support.</param>
/// <param name="Retrained">Whether the model at this eps was retrained rather than rescaled.</param>
public sealed record BudgetPoint(double Viscosity, double Metric, double MeanRadius, double MeanEntropy, double OutOfSupportFraction, bool Retrained);

/// <summary>
/// The viscosity budget (PRODUCT.md; THEORY.md sections 4–6): sweep eps and report, per eps, accuracy, mean certified
/// radius, mean attribution entropy and the out-of-support fraction — the coupled trade-off between sharp models
/// (small eps: discriminate, small radii, few support points, one rule beyond the data) and smooth ones.
/// </summary>
public static class ViscosityBudget
{
    /// <summary><paramref name="count"/> eps values spaced geometrically from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <exception cref="ArgumentException">An end is not finite and &gt; 0, or count &lt; 1 — an empty range.</exception>
    public static double[] Range(double from, double to, int count)
    {
        if (!(from > 0) || !(to > 0) || !double.IsFinite(from) || !double.IsFinite(to))
        {
            throw new ArgumentException($"The eps range {from}..{to} is empty or invalid; both ends must be finite and > 0.", nameof(from));
        }

        if (count < 1)
        {
            throw new ArgumentException($"count is {count}; a sweep needs at least one eps.", nameof(count));
        }

        if (count == 1)
        {
            return [from];
        }

        return Enumerable.Range(0, count).Select(i => from * Math.Pow(to / from, i / (double)(count - 1))).ToArray();
    }

    /// <summary>
    /// Sweeps <paramref name="viscosities"/> over <paramref name="model"/> on <paramref name="data"/>. By default each eps
    /// rescales the trained layer (<see cref="HopfColeModel.WithViscosity"/>); with <paramref name="retrain"/> each eps
    /// trains a fresh model with that fixed eps.
    /// </summary>
    /// <param name="model">The trained model.</param>
    /// <param name="data">Labelled rows the metrics are computed on.</param>
    /// <param name="viscosities">The eps values (at least one, each &gt; 0).</param>
    /// <param name="tolerance">Regression only: the output change the stability radius certifies against (label units); default a tenth of the label scale.</param>
    /// <param name="retrain">
    /// Trains a fresh model at the fixed eps it is given (for example a <c>HopfColeTrainer</c> with
    /// <c>ViscosityMode.Fixed</c> on the training rows), or null to rescale. It should honour the sweep's cancellation.
    /// </param>
    /// <param name="progress">Receives each point.</param>
    /// <param name="cancellation">Stops the sweep.</param>
    public static IReadOnlyList<BudgetPoint> Sweep(HopfColeModel model, Dataset data, IReadOnlyList<double> viscosities, double tolerance = double.NaN, Func<double, HopfColeModel>? retrain = null, IProgress<BudgetPoint>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(viscosities);
        if (viscosities.Count == 0)
        {
            throw new ArgumentException("The eps range is empty; give at least one viscosity.", nameof(viscosities));
        }

        double regressionTolerance = double.IsNaN(tolerance) ? 0.1 * model.LabelScale : tolerance;
        var points = new List<BudgetPoint>();
        foreach (double eps in viscosities)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!(eps > 0) || !double.IsFinite(eps))
            {
                throw new ArgumentException($"viscosities holds {eps}; each eps in a budget sweep must be finite and > 0.", nameof(viscosities));
            }

            HopfColeModel at = retrain is null ? model.WithViscosity(eps) : retrain(eps);
            var explainer = new ModelExplainer(at);
            var explanation = new Explanation(at, top: 1);
            double radius = 0, entropy = 0;
            int outside = 0;
            for (int row = 0; row < data.Rows; row++)
            {
                ReadOnlySpan<double> features = data.Row(row);
                explainer.Explain(features, explanation);
                entropy += explanation.Entropy;
                radius += at.Kind == ModelKind.Regression ? explainer.StabilityRadius(features, regressionTolerance).Radius : explainer.Certify(features).Radius;
                outside += explainer.Coverage(features).IsOutOfSupport ? 1 : 0;
            }

            var point = new BudgetPoint(eps, ModelMetrics.Evaluate(at, data).Primary, radius / data.Rows, entropy / data.Rows, outside / (double)data.Rows, retrain is not null);
            points.Add(point);
            progress?.Report(point);
        }

        return points;
    }
}
