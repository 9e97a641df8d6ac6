namespace HjMl.Cli;

/// <summary>A verb of the <c>hjml</c> tool: one class per verb, its settings beside it, the console injected.</summary>
internal interface ICommand
{
    /// <summary>The verb, e.g. "verify".</summary>
    string Name { get; }

    /// <summary>One line for <c>hjml help</c>.</summary>
    string Summary { get; }

    /// <summary>The usage line.</summary>
    string Usage { get; }

    /// <summary>Runs the verb; returns the process exit code.</summary>
    int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation);
}

/// <summary>A command with options that take no value.</summary>
internal interface IHasSwitches
{
    /// <summary>The names of its value-less options.</summary>
    string[] Switches { get; }
}
