using HjMl.Attribution;
using HjMl.Cli.Report;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml budget --plot</c>: the viscosity budget's four panels (<see cref="BudgetFigure"/>, the report's chart) as
/// SVG or PNG, by the file's extension.
/// </summary>
internal static class BudgetChart
{
    /// <summary>Refuses a plot path that is neither .svg nor .png before the sweep runs.</summary>
    public static void Check(string? path)
    {
        if (path is not null)
        {
            Figure.RequireImagePath(path, "plot");
        }
    }

    /// <summary>Writes the chart of <paramref name="points"/> to <paramref name="path"/> atomically, <paramref name="trainedViscosity"/> marked.</summary>
    public static void Write(string path, IReadOnlyList<BudgetPoint> points, string metricName, string radiusName, double trainedViscosity)
    {
        using Figure figure = BudgetFigure.Create(points, metricName, radiusName, trainedViscosity);
        figure.Save(path);
    }
}
