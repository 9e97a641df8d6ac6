using System.Globalization;

namespace HjMl.Cli;

/// <summary>A verb's arguments: <c>--name value</c> options, <c>--flag</c> switches and positional values.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    private ParsedArguments()
    {
    }

    /// <summary>Positional values, in order.</summary>
    public List<string> Positional { get; } = [];

    /// <summary>The arguments a parser already split: option values by name (null for a switch) and positional values.</summary>
    public static ParsedArguments From(IReadOnlyDictionary<string, string?> options, IEnumerable<string> positional)
    {
        var parsed = new ParsedArguments();
        foreach (KeyValuePair<string, string?> option in options)
        {
            parsed.options[option.Key] = option.Value;
        }

        parsed.Positional.AddRange(positional);
        return parsed;
    }

    /// <summary>Parses <paramref name="arguments"/>; names in <paramref name="switches"/> take no value.</summary>
    public static ParsedArguments Parse(IReadOnlyList<string> arguments, params string[] switches)
    {
        var parsed = new ParsedArguments();
        for (int i = 0; i < arguments.Count; i++)
        {
            string argument = arguments[i];
            if (!argument.StartsWith("--", StringComparison.Ordinal))
            {
                parsed.Positional.Add(argument);
                continue;
            }

            string name = argument[2..];
            if (switches.Contains(name))
            {
                parsed.options[name] = null;
                continue;
            }

            if (i + 1 >= arguments.Count)
            {
                throw new UsageException($"--{name} needs a value.");
            }

            parsed.options[name] = arguments[++i];
        }

        return parsed;
    }

    /// <summary>Whether <c>--name</c> was given.</summary>
    public bool Has(string name)
    {
        read.Add(name);
        return options.ContainsKey(name);
    }

    /// <summary>The value of <c>--name</c>, or null.</summary>
    public string? Text(string name)
    {
        read.Add(name);
        return options.TryGetValue(name, out string? value) ? value : null;
    }

    /// <summary>The value of <c>--name</c>; a usage error if it is missing.</summary>
    public string Required(string name) => Text(name) ?? throw new UsageException($"--{name} is required.");

    /// <summary>The integer value of <c>--name</c>, or <paramref name="fallback"/>.</summary>
    public int Integer(string name, int fallback)
    {
        string? text = Text(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new UsageException($"--{name} is '{text}', which is not an integer.");
    }

    /// <summary>
    /// The integer value of <c>--name</c>, or <paramref name="fallback"/>; a usage error naming the range unless it lies
    /// in [<paramref name="minimum"/>, <paramref name="maximum"/>]. A verb bounds a count that sizes its work or memory,
    /// so that a mistyped value is refused at once instead of running out of memory or time.
    /// </summary>
    public int Integer(string name, int fallback, int minimum, int maximum)
    {
        int value = Integer(name, fallback);
        return value >= minimum && value <= maximum
            ? value
            : throw new UsageException($"--{name} is {value}; it must be between {minimum} and {maximum}.");
    }

    /// <summary>The number value of <c>--name</c>, or <paramref name="fallback"/>.</summary>
    public double Number(string name, double fallback)
    {
        string? text = Text(name);
        if (text is null)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new UsageException($"--{name} is '{text}', which is not a number.");
    }

    /// <summary>A usage error if an option was given that the verb never asked about.</summary>
    public void RejectUnknown()
    {
        foreach (string name in options.Keys)
        {
            if (!read.Contains(name))
            {
                throw new UsageException($"--{name} is not an option of this command.");
            }
        }
    }
}

/// <summary>A mistake in how a command was called; reported with the verb's usage and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
