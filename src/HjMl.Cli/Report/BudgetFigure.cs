using HjMl.Attribution;
using ScottPlot;

namespace HjMl.Cli.Report;

/// <summary>
/// The viscosity budget as four panels sharing a logarithmic eps axis — metric, mean certified (or stability) radius,
/// mean attribution entropy, out-of-support fraction — with the model's own eps marked. <c>hjml budget --plot</c> and
/// the report both draw it.
/// </summary>
internal static class BudgetFigure
{
    /// <summary>The figure of <paramref name="points"/>; <paramref name="trainedViscosity"/> (the model's eps) is marked on every panel.</summary>
    /// <param name="points">The sweep, at least one point.</param>
    /// <param name="metricName">"accuracy" or "R²".</param>
    /// <param name="radiusName">What the radius is: "certified radius r*" or "stability radius".</param>
    /// <param name="trainedViscosity">The model's eps.</param>
    public static Figure Create(IReadOnlyList<BudgetPoint> points, string metricName, string radiusName, double trainedViscosity)
    {
        if (points.Count == 0)
        {
            throw new ArgumentException("A budget chart needs at least one point of the sweep.", nameof(points));
        }

        double[] logEps = points.Select(p => Math.Log10(p.Viscosity)).ToArray();
        (string Title, string Axis, Func<BudgetPoint, double> Value)[] panels =
        [
            ($"{metricName} against eps", metricName == "R²" ? "R² (1 = perfect)" : $"{metricName} (fraction of rows)", p => p.Metric),
            ($"mean {radiusName} against eps", "mean radius (standardised units)", p => p.MeanRadius),
            ("mean attribution entropy H(π) against eps", "mean H(π) (nats)", p => p.MeanEntropy),
            ("out-of-support rows against eps", "out of support (% of rows)", p => 100 * p.OutOfSupportFraction),
        ];
        var plots = new List<Plot>();
        for (int k = 0; k < panels.Length; k++)
        {
            Plot plot = Panels.Create(panels[k].Title, "eps, the viscosity (log scale)", panels[k].Axis);
            Panels.LogarithmicX(plot);
            Panels.Line(plot, logEps, points.Select(panels[k].Value).Select(v => double.IsFinite(v) ? v : double.NaN).ToArray(), k);
            if (double.IsFinite(trainedViscosity) && trainedViscosity > 0)
            {
                Panels.MarkX(plot, Math.Log10(trainedViscosity), $"trained eps {Panels.Number(trainedViscosity)}");
                Panels.Legend(plot);
            }

            plots.Add(plot);
        }

        return new Figure(plots, columns: 2);
    }
}
