namespace HjMl.Cli.Commands;

/// <summary>What <c>hjml train --search</c> holds fixed: the held-out share and the budget's bounds.</summary>
internal static class SearchSettings
{
    /// <summary>The share of rows kept back for the final, honest score: no trial, early stopping or featuriser sees them.</summary>
    public const double TestFraction = 0.15;

    /// <summary>Refuses a budget that is not a positive number of seconds a <see cref="TimeSpan"/> holds.</summary>
    public static void CheckBudget(double seconds)
    {
        if (!(seconds > 0) || seconds > CommandLimits.TimeBudgetSeconds)
        {
            throw new UsageException($"--time-budget is {seconds}; it must be a positive number of seconds, at most {CommandLimits.TimeBudgetSeconds} (the longest time span .NET holds).");
        }
    }
}
