using HjMl.Cli.Report;
using HjMl.Relaxation;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace HjMl.Cli.Commands.Relaxation;

/// <summary>
/// The charts of the three relaxation verbs, drawn as every chart of the tool is (<see cref="Figure"/>, <see cref="Panels"/>)
/// and written as SVG or PNG by the file's extension, as <c>hjml budget --plot</c> writes its own.
/// </summary>
internal static class RelaxationCharts
{
    /// <summary>Refuses a plot path that is neither .svg nor .png before the experiment runs.</summary>
    public static void Check(string? path)
    {
        if (path is not null)
        {
            Figure.RequireImagePath(path, "plot");
        }
    }

    /// <summary>The true and recovered U(q), D(q), R(q) of one space-varying recovery run, one panel each.</summary>
    public static Figure Recovery(RecoveryRow shown)
    {
        double[] sites = [.. Enumerable.Range(0, shown.TrueCoefficients.Count).Select(q => (double)q)];
        Plot Profile(string title, Func<AdrCoefficients, double> part)
        {
            Plot plot = Panels.Create($"{title}: true and recovered", "site q (the two end sites are not identifiable)", title);
            Panels.Line(plot, sites, [.. shown.TrueCoefficients.Select(part)], 0, "true");
            Panels.Line(plot, sites, [.. shown.Recovered.Select(part)], 1, $"recovered (seed {shown.Seed})");
            Panels.Legend(plot);
            return plot;
        }

        return new Figure([Profile("advection U(q)", c => c.Advection), Profile("diffusion D(q)", c => c.Diffusion), Profile("reaction R(q)", c => c.Reaction)], columns: 3);
    }

    /// <summary>Held-out accuracy against the steps' parameter count and against the reduction ratio (both log), with the read-out alone as a floor.</summary>
    public static Figure Efficiency(IReadOnlyList<EfficiencyRow> rows, int depth, string dataName)
    {
        double floor = rows.First(r => r.Depth == 0).Accuracy;
        Plot Panel(string title, string axis, Func<EfficiencyRow, double> x)
        {
            Plot plot = Panels.Create($"{title} (depth {depth}, {dataName})", axis, "held-out accuracy (fraction of rows)");
            EfficiencyRow[] adr = [.. rows.Where(r => r.Model.Contains("ADR", StringComparison.Ordinal))];
            EfficiencyRow[] dense = [.. rows.Where(r => r.Model == "dense")];
            Panels.Line(plot, Log10(adr.Select(x)), [.. adr.Select(r => r.Accuracy)], 0, "ADR steps (homogeneous, then tiles down to 1)");
            if (dense.Length > 0)
            {
                Panels.Line(plot, Log10(dense.Select(x)), [.. dense.Select(r => r.Accuracy)], 1, "dense steps");
            }

            double[] span = Log10(rows.Where(r => r.Depth > 0).Select(x));
            LogarithmicTicks(plot.Axes.Bottom, span);
            Panels.Line(plot, [span.Where(double.IsFinite).DefaultIfEmpty(0).Min(), span.Where(double.IsFinite).DefaultIfEmpty(1).Max()], [floor, floor], 2, "read-out only (depth 0)").MarkerSize = 0;
            Panels.Legend(plot);
            return plot;
        }

        return new Figure([Panel("Accuracy vs step parameters", "parameters of the steps (log scale)", r => r.MixingParameters), Panel("Accuracy vs reduction ratio", "step parameters / dense step parameters (log scale)", r => r.ReductionRatio)], columns: 2);
    }

    /// <summary>Iterations to the fixed point of both kernels, and the trained relative loss of every depth, against omega (log y).</summary>
    public static Figure OverRelaxation(OverRelaxationResult result)
    {
        double[] omegas = [.. result.Training.Select(r => r.RelaxationFactor)];
        Plot iterations = Panels.Create("Iterations to the fixed point (gap: no convergence)", "relaxation factor omega", "iterations (log scale)");
        double[] smoothing = Log10(result.FixedPoints.Select(p => (double)p.SmoothingIterations));
        double[] oscillating = Log10(result.FixedPoints.Select(p => (double)p.OscillatingIterations));
        Panels.Line(iterations, omegas, smoothing, 0, "smoothing kernel");
        Panels.Line(iterations, omegas, oscillating, 1, "oscillating kernel");
        LogarithmicTicks(iterations.Axes.Left, [.. smoothing, .. oscillating]);
        Panels.Legend(iterations);
        Plot losses = Panels.Create("Trained relative loss, z = (1 - omega) z + omega tanh(W z - b)", "relaxation factor omega", "relative mean squared error (log scale)");
        var all = new List<double>();
        for (int i = 0; i < result.Depths.Count; i++)
        {
            double[] loss = Log10(result.Training.Select(r => r.RelativeLoss[i]));
            Panels.Line(losses, omegas, loss, i, $"depth {result.Depths[i]}");
            all.AddRange(loss);
        }

        LogarithmicTicks(losses.Axes.Left, all);
        Panels.Legend(losses);
        return new Figure([iterations, losses], columns: 2);
    }

    // Panels plot a log axis at log10 of the value; a value that is not positive (no iteration count, no loss) has no
    // place on it and leaves a gap.
    private static double[] Log10(IEnumerable<double> values) => [.. values.Select(v => v > 0 && double.IsFinite(v) ? Math.Log10(v) : double.NaN)];

    // Ticks at round values of an axis plotted at log10: 1, 2 and 5 times each decade the data span when they span less
    // than two decades (an automatic axis would label 10^0.2 steps as 63.1, 50.1, ...), else the decades alone.
    private static void LogarithmicTicks(IAxis axis, IEnumerable<double> logValues)
    {
        double[] finite = [.. logValues.Where(double.IsFinite)];
        if (finite.Length == 0)
        {
            return;
        }

        double low = Math.Floor(finite.Min()), high = Math.Ceiling(finite.Max());
        double[] multiples = finite.Max() - finite.Min() < 2 ? [1, 2, 5] : [1];
        var positions = new List<double>();
        for (double decade = low; decade <= high; decade++)
        {
            positions.AddRange(multiples.Select(m => decade + Math.Log10(m)).Where(p => p >= finite.Min() - 0.1 && p <= finite.Max() + 0.1));
        }

        axis.TickGenerator = new NumericManual([.. positions], [.. positions.Select(p => Panels.Number(Math.Pow(10, p)))]);
    }
}
