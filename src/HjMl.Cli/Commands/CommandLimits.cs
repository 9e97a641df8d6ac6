namespace HjMl.Cli.Commands;

/// <summary>
/// The largest counts the verbs accept: each sizes a loop of whole evaluations or trainings, or an allocation, and
/// these are far beyond any use (a sweep of 10,000 viscosities, 100 ensemble members) while a mistyped 2^31 would run
/// out of memory or for days.
/// </summary>
internal static class CommandLimits
{
    /// <summary>Points of a viscosity sweep (budget, landscape, ensemble).</summary>
    public const int Steps = 10_000;

    /// <summary>Members of an ensemble, each trained.</summary>
    public const int Members = 100;

    /// <summary>Pieces per head in <c>hjml verify</c>.</summary>
    public const int Pieces = 100_000;

    /// <summary>Random points per check in <c>hjml verify</c>.</summary>
    public const int Points = 100_000;

    /// <summary>The dimension of <c>hjml scaling</c>'s target function.</summary>
    public const int Dimension = 1_000;

    /// <summary>The longest <c>--time-budget</c>, in seconds: what a <see cref="TimeSpan"/> holds.</summary>
    public static readonly double TimeBudgetSeconds = Math.Floor(TimeSpan.MaxValue.TotalSeconds);
}
