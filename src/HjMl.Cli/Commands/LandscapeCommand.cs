using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Data;
using HjMl.Landscape;
using HjMl.Models;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml landscape</c>: the attribution-entropy landscape of a model (THEORY.md section 4) on the principal-component
/// plane of a data file's rows: basins of H(pi(x)) along an eps sweep, where their count drops (basins merge), and the
/// paper's critical scale eps* = N^(-1/d). Prints a table and writes the basins as CSV (atomically).
/// </summary>
internal sealed class LandscapeCommand : IDescribedCommand
{
    // As the report's landscape section: beyond ten heads the table would not fit a terminal.
    private const int MostHeads = 10;

    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the CSV file to read (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("label", "the label column, left out of the features", OptionValue.Text, "Label"),
        new("viscosity", "eps range swept, <from>..<to>"),
        new("steps", "points of the sweep", OptionValue.Integer, "25"),
        new("grid", "grid points per axis of the PCA plane", OptionValue.Integer, "41"),
        new("head", "'predicted' or a head index", OptionValue.Text, "predicted"),
        new("out", "write the landscape to this CSV"),
    ];

    public string Name => "landscape";

    public string Summary => "attribution-entropy landscape: basins of H(pi(x)) on a PCA plane along an eps sweep, and where they merge";

    public string Usage => "hjml landscape --model <model.zip|model.hjml> [--data <csv>] [--label <column>] [--viscosity <from>..<to>] [--steps 25] [--grid 41] [--head predicted|<k>] [--out landscape.csv]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        string? range = arguments.Text("viscosity");
        int steps = arguments.Integer("steps", 25, 2, CommandLimits.Steps);
        int grid = arguments.Integer("grid", EntropyLandscape.DefaultGridSize);
        string headText = arguments.Text("head") ?? "predicted";
        string? outPath = arguments.Text("out");
        arguments.RejectUnknown();

        ModelData loaded = ModelData.Load(modelPath);
        HopfColeModel model = loaded.Model;
        int? head = ParseHead(headText, model);
        double critical = EntropyLandscape.CriticalViscosity(model.Layer);
        double reference = model.Viscosity > 0 ? model.Viscosity : critical;
        (double from, double to) = range is null ? (reference / 100, reference * 100) : ViscosityRange.Parse(range, "viscosity");
        double[] viscosities = ViscosityRange.Geometric(from, to, steps, keepZero: false);
        Dataset table = loaded.ReadAll(dataPath, label, cancellation);
        ScoredRows.Check(model, table.Features, table.Rows);
        ScoredRows.WithinRange(model, table.Features, table.Rows);
        LandscapePlane plane = LandscapePlane.ForModel(model, table.Features);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(modelPath)}: {model.Kind}, {model.Layer.NumberOfHeads} heads x {model.Layer.NumberOfPieces} pieces, d = {model.InputDimension}, trained eps {model.Viscosity:G4}"));
        output.WriteLine($"plane: {plane.Description}, in the model's standardised features");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"window u [{plane.FirstMinimum:G4}, {plane.FirstMaximum:G4}] x v [{plane.SecondMinimum:G4}, {plane.SecondMaximum:G4}], {grid} x {grid} grid; entropy of {(head is int chosen ? $"head {chosen}" : "the predicted head")}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"critical scale eps* = N^(-1/d) = {model.Layer.NumberOfPieces}^(-1/{model.InputDimension}) = {critical:G4} (for reference)"));
        output.WriteLine($"{"eps",10} {"basins",7} {"merges",8}  deepest basin (u, v, H)");
        int? previous = null;
        var progress = new InlineProgress<LandscapeLevel>(level =>
        {
            string merges = previous is int before && level.Count < before ? $"-{before - level.Count}" : string.Empty;
            string deepest = level.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $"({level.Basins[0].First:F3}, {level.Basins[0].Second:F3}, {level.Basins[0].Entropy:G3})") : "-";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{level.Viscosity,10:G4} {level.Count,7} {merges,8}  {deepest}"));
            previous = level.Count;
        });
        LandscapeSweep sweep = EntropyLandscape.Sweep(model.Layer, plane, viscosities, head, grid, progress: progress, cancellation: cancellation);

        if (sweep.Merges.Count == 0)
        {
            output.WriteLine("no basins merged along the sweep");
        }

        foreach (BasinMerge merge in sweep.Merges)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"basins merge between eps {merge.FromViscosity:G4} and {merge.ToViscosity:G4} (~{merge.Viscosity:G4}): {merge.BasinsBefore} -> {merge.BasinsAfter}"));
        }

        if (head is null && model.Layer.NumberOfHeads > 1)
        {
            WriteHeadCounts(output, model, plane, viscosities, grid, sweep, cancellation);
        }

        if (outPath is not null)
        {
            AtomicFile.Write(outPath, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                sweep.WriteCsv(writer);
            });
            output.WriteLine($"basins written to {outPath} ({LandscapeSweep.CsvHeader})");
        }

        return 0;
    }

    // Following the predicted head, a minimum of H on a decision boundary is not a basin (H jumps there from one head's
    // entropy to another's), so a classifier's predicted-head count can be 0 at every eps where each head alone has
    // several: each head's own counts along the same sweep are printed beside it, as the report's landscape section does.
    private static void WriteHeadCounts(TextWriter output, HopfColeModel model, LandscapePlane plane, double[] viscosities, int grid, LandscapeSweep predicted, CancellationToken cancellation)
    {
        int heads = Math.Min(model.Layer.NumberOfHeads, MostHeads);
        var counts = new int[heads][];
        for (int h = 0; h < heads; h++)
        {
            cancellation.ThrowIfCancellationRequested();
            counts[h] = EntropyLandscape.Sweep(model.Layer, plane, viscosities, h, grid, cancellation: cancellation).Levels.Select(level => level.Count).ToArray();
        }

        output.WriteLine();
        output.WriteLine(predicted.Levels.All(level => level.Count == 0)
            ? "the predicted head has no basin at any eps: its minima lie on decision boundaries, where H jumps between heads and no minimum counts. Each head's own basins:"
            : "each head's own basins (a minimum on a decision boundary counts here):");
        string more = model.Layer.NumberOfHeads > heads ? $" (the first {heads} of {model.Layer.NumberOfHeads} heads)" : string.Empty;
        output.WriteLine($"{"eps",10} {"predicted",9}" + string.Concat(Enumerable.Range(0, heads).Select(h => $" {"head " + h.ToString(CultureInfo.InvariantCulture),7}")) + more);
        for (int i = 0; i < viscosities.Length; i++)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{viscosities[i],10:G4} {predicted.Levels[i].Count,9}") + string.Concat(counts.Select(count => string.Create(CultureInfo.InvariantCulture, $" {count[i],7}"))));
        }

        output.WriteLine("for a head's own basins, their places and merges (and in --out), run with --head <k>");
    }

    private static int? ParseHead(string text, HopfColeModel model)
    {
        if (string.Equals(text, "predicted", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int head) || head < 0 || head >= model.Layer.NumberOfHeads)
        {
            throw new UsageException($"--head is '{text}'; give 'predicted' or a head from 0 to {model.Layer.NumberOfHeads - 1}.");
        }

        return head;
    }
}
