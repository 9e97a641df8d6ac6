using System.Globalization;

namespace HjMl.Landscape;

/// <summary>A basin of the attribution-entropy landscape: a local minimum of H(pi(x)) on the plane.</summary>
/// <param name="First">u, its coordinate along the plane's first direction.</param>
/// <param name="Second">v, its coordinate along the plane's second direction.</param>
/// <param name="Entropy">H(pi) there, in nats (0 when it underflows).</param>
/// <param name="LogEntropy">log H there, which stays finite where H underflows (deep inside a cell at small eps).</param>
/// <param name="Head">The head whose Gibbs weights pi are (the predicted head there, when the landscape follows predictions).</param>
/// <param name="GradientNorm">|grad H| on the plane at the basin (THEORY.md section 4's -Cov_pi(w, z) / eps^2, projected): 0 up to the descent's tolerance.</param>
/// <param name="Area">The fraction of the window's grid points whose descent ends in this basin: how much of the plane drains into it.</param>
public sealed record Basin(double First, double Second, double Entropy, double LogEntropy, int Head, double GradientNorm, double Area);

/// <summary>The basins at one viscosity.</summary>
/// <param name="Viscosity">eps.</param>
/// <param name="Basins">The basins, deepest (lowest H) first.</param>
public sealed record LandscapeLevel(double Viscosity, IReadOnlyList<Basin> Basins)
{
    /// <summary>The number of basins.</summary>
    public int Count => Basins.Count;
}

/// <summary>
/// Where basins merged along the sweep: between two consecutive viscosities the count dropped (fold bifurcations, in
/// which a minimum meets a saddle and both disappear; THEORY.md section 4).
/// </summary>
/// <param name="FromViscosity">The last eps with the larger count.</param>
/// <param name="ToViscosity">The first eps with the smaller count.</param>
/// <param name="BasinsBefore">The count at <paramref name="FromViscosity"/>.</param>
/// <param name="BasinsAfter">The count at <paramref name="ToViscosity"/>.</param>
public sealed record BasinMerge(double FromViscosity, double ToViscosity, int BasinsBefore, int BasinsAfter)
{
    /// <summary>The geometric midpoint sqrt(from * to): the estimate of where the merge happened on a log-spaced sweep.</summary>
    public double Viscosity => Math.Sqrt(FromViscosity * ToViscosity);

    /// <summary>How many basins disappeared.</summary>
    public int Lost => BasinsBefore - BasinsAfter;
}

/// <summary>
/// An eps sweep of the attribution-entropy landscape: the basins at each viscosity, where their number dropped, and
/// the paper's critical scale eps* = N^(-1/d) for reference (THEORY.md sections 4 and 7).
/// </summary>
/// <param name="Plane">The plane the landscape was drawn on.</param>
/// <param name="Head">The head followed, or null when each point used its predicted head (argmax_k f_k).</param>
/// <param name="GridSize">Grid points per side.</param>
/// <param name="CriticalViscosity">eps* = N^(-1/d) for N pieces per head and the layer's input dimension d.</param>
/// <param name="Levels">One entry per eps, in increasing eps.</param>
/// <param name="Merges">Every drop of the basin count between consecutive viscosities.</param>
public sealed record LandscapeSweep(LandscapePlane Plane, int? Head, int GridSize, double CriticalViscosity, IReadOnlyList<LandscapeLevel> Levels, IReadOnlyList<BasinMerge> Merges)
{
    /// <summary>The CSV header <see cref="WriteCsv"/> writes.</summary>
    public const string CsvHeader = "viscosity,basins,basin,u,v,entropy,log_entropy,head,gradient_norm,area";

    /// <summary>
    /// Writes one row per basin (a viscosity with no basin gets one row with the basin columns empty), so that
    /// eps against basins, and u against v coloured by eps, plot straight from the file. Numbers round-trip ("R").
    /// </summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine(CsvHeader);
        foreach (LandscapeLevel level in Levels)
        {
            string prefix = $"{Format(level.Viscosity)},{level.Count}";
            if (level.Count == 0)
            {
                writer.WriteLine($"{prefix},,,,,,,,");
                continue;
            }

            for (int i = 0; i < level.Count; i++)
            {
                Basin basin = level.Basins[i];
                writer.WriteLine($"{prefix},{i + 1},{Format(basin.First)},{Format(basin.Second)},{Format(basin.Entropy)},{Format(basin.LogEntropy)},{basin.Head},{Format(basin.GradientNorm)},{Format(basin.Area)}");
            }
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
