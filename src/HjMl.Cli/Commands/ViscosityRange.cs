using System.Globalization;

namespace HjMl.Cli.Commands;

/// <summary>A <c>--viscosity from..to</c> range, as the landscape and ensemble verbs read it.</summary>
internal static class ViscosityRange
{
    /// <summary>Parses "from..to" (two numbers, 0 &lt;= from &lt; to, both finite); a usage error names the option otherwise.</summary>
    public static (double From, double To) Parse(string text, string option)
    {
        string[] parts = text.Split("..", StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double from)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double to))
        {
            throw new UsageException($"--{option} is '{text}'; give a range as from..to, e.g. 0.01..10.");
        }

        if (!(from >= 0) || !(to > from) || !double.IsFinite(to))
        {
            throw new UsageException($"--{option} is '{text}'; it needs 0 <= from < to, both finite.");
        }

        return (from, to);
    }

    /// <summary>
    /// <paramref name="steps"/> values from <paramref name="from"/> to <paramref name="to"/> evenly spaced in log eps; a
    /// range from 0 starts the log spacing at to / 1e6 and, if <paramref name="keepZero"/>, puts 0 itself in front.
    /// </summary>
    public static double[] Geometric(double from, double to, int steps, bool keepZero)
    {
        if (steps < 2)
        {
            throw new UsageException($"--steps is {steps}; a sweep needs at least 2.");
        }

        double start = from > 0 ? from : to * 1e-6;
        double[] values = HjMl.Landscape.EntropyLandscape.GeometricViscosities(start, to, steps);
        return from == 0 && keepZero ? [0, .. values] : values;
    }
}
