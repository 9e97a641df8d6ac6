namespace HjMl.Cli;

/// <summary>What an option's value is, so the parser checks it before the verb runs.</summary>
internal enum OptionValue
{
    /// <summary>Any text (a path, a name, a list, a range).</summary>
    Text,

    /// <summary>A 32-bit integer.</summary>
    Integer,

    /// <summary>A number (invariant culture).</summary>
    Number,

    /// <summary>No value: present or not.</summary>
    Switch,
}

/// <summary>One option of a verb, as <c>hjml &lt;verb&gt; --help</c> shows it.</summary>
/// <param name="Name">The name without the leading dashes.</param>
/// <param name="Description">What it means.</param>
/// <param name="Value">What its value is.</param>
/// <param name="Default">Its default as the user would write it, or null when it has none or is required.</param>
internal sealed record VerbOption(string Name, string Description, OptionValue Value = OptionValue.Text, string? Default = null);

/// <summary>
/// A verb that declares its options: the parser (System.CommandLine) then shows them in <c>--help</c> with their meaning and
/// default, checks their values' types, and suggests the nearest name for a mistyped one. A verb that only implements
/// <see cref="ICommand"/> still runs: its arguments are passed through as before.
/// </summary>
internal interface IDescribedCommand : ICommand
{
    /// <summary>Every option the verb reads.</summary>
    IReadOnlyList<VerbOption> Options { get; }

    /// <summary>The name of the verb's positional arguments (shown in help), or null when it takes none.</summary>
    string? Positional => null;
}
