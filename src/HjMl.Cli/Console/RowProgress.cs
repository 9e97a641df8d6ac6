using System.Diagnostics;
using System.Globalization;

namespace HjMl.Cli;

/// <summary>
/// Shows a streaming verb's progress on the error stream: rows done, elapsed time and rate, at most every two seconds,
/// so a long run (certificates checked by attacks, a million rows) is never silent.
/// </summary>
internal sealed class RowProgress(TextWriter writer, string verb)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private TimeSpan last;

    /// <summary>Reports that <paramref name="rows"/> rows are done.</summary>
    public void Report(long rows)
    {
        TimeSpan now = clock.Elapsed;
        if (now - last < Interval)
        {
            return;
        }

        last = now;
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{verb}: {rows:N0} rows in {now.TotalSeconds:F1}s ({rows / now.TotalSeconds:N0} rows/s)"));
    }
}
