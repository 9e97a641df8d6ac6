using HjMl.Data;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Report;

/// <summary>
/// What a model-review report is built from: engine-level inputs only, so any loader (an .hjml file and a CSV today, an
/// ML.NET pipeline's featurised rows tomorrow) can hand them over.
/// </summary>
/// <param name="Model">The model reviewed: any task, with or without a flow.</param>
/// <param name="Data">Labelled rows in the model's input space (its feature names, in its order), featurised as the model expects.</param>
/// <param name="DataName">What the rows are, for the page ("test.csv").</param>
/// <param name="ModelName">What the model is, for the page ("model.hjml").</param>
/// <param name="History">The model's training history, one entry per epoch, or null where the model's file does not carry it.</param>
/// <param name="Metadata">The model file's metadata (what it was trained on, the command), shown as they are.</param>
internal sealed record ReportInputs(HopfColeModel Model, Dataset Data, string DataName, string ModelName, IReadOnlyList<TrainingProgress>? History, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>How much the report computes; the defaults suit data sets up to a few thousand rows.</summary>
    public ReportSettings Settings { get; init; } = new();

    /// <summary>
    /// The command line that reproduces a number in the report, with the model and data as the user named them, or null
    /// when the report was built in code (then no commands are printed).
    /// </summary>
    public ReportCommandLine? CommandLine { get; init; }

    /// <summary>
    /// Per row of <see cref="Data"/>, its 0-based row in the data file, when the rows are a sample of the file's
    /// (null: row i is the file's row i); the page names rows by their place in the file.
    /// </summary>
    public IReadOnlyList<int>? SourceRows { get; init; }

    /// <summary>How many rows the data file has when <see cref="Data"/> is a sample of them (null: all of them).</summary>
    public long? FileRows { get; init; }
}

/// <summary>How much a report computes.</summary>
/// <param name="BudgetSteps">eps values of the viscosity budget sweep.</param>
/// <param name="BudgetSpan">The sweep runs from eps / span to eps x span around the model's eps.</param>
/// <param name="LandscapeGrid">Grid points per side of the entropy landscape.</param>
/// <param name="LandscapeSteps">eps values of the basin-count sweep (from eps / 100 to eps x 100, as <c>hjml landscape</c>).</param>
/// <param name="LandscapeHeads">The most heads whose own basins are counted (beside the predicted head's).</param>
/// <param name="ExplainedRows">Rows explained one by one.</param>
/// <param name="CoverageExamples">Out-of-support rows listed.</param>
internal sealed record ReportSettings(int BudgetSteps = 9, double BudgetSpan = 10, int LandscapeGrid = 41, int LandscapeSteps = 9, int LandscapeHeads = 10, int ExplainedRows = 4, int CoverageExamples = 5);

/// <summary>The paths a user gave, for printing the commands that reproduce the report's numbers.</summary>
/// <param name="ModelPath">The model file as given.</param>
/// <param name="DataPath">The data file as given, or null for the data set embedded in the tool.</param>
/// <param name="EngineFile">Whether the model is an engine .hjml file (else an ML.NET zip, which the engine's C# API does not read).</param>
internal sealed record ReportCommandLine(string ModelPath, string? DataPath, bool EngineFile = true)
{
    /// <summary>The model and data options of a reproducing command: " --model m.zip --data test.csv".</summary>
    public string Options => DataPath is null ? $" --model {ModelPath}" : $" --model {ModelPath} --data {DataPath}";
}
