using System.Globalization;
using HjMl.Cli.Report;
using HjMl.Data;
using HjMl.Relaxation;

namespace HjMl.Cli.Commands.Relaxation;

/// <summary>
/// <c>hjml adr-efficiency</c>: the parameter-efficiency experiment of arXiv:2502.06739 — dense against homogeneous and
/// heterogeneous ADR relaxation steps of the same depth on an image data set, accuracy against parameters and reduction
/// ratio (THEORY.md section 10).
/// </summary>
internal sealed class AdrEfficiencyCommand : IDescribedCommand, IHasSwitches
{
    public string[] Switches => ["no-dense"];

    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("data", "the image CSV file (one column per pixel, row-major), gzip allowed", OptionValue.Text, "data/mnist-10000.csv.gz"),
        new("label", "the label column", OptionValue.Text, "Label"),
        new("grid", "the image grid as HEIGHTxWIDTH; without it, a square grid from the pixel count"),
        new("depth", "relaxation steps of every network compared", OptionValue.Integer, "2"),
        new("epochs", "training epochs per network", OptionValue.Integer, "5"),
        new("tiles", "comma-separated patch sizes of the heterogeneous ADR moments (1 = one set per site)", OptionValue.Text, "14,7,4,2,1"),
        new("no-dense", "leave out the dense network (N^2 parameters a step)", OptionValue.Switch),
        new("learning-rate", "Adam's learning rate", OptionValue.Number, "0.005"),
        new("seed", "the seed of the hold-out split and of every model", OptionValue.Integer, "1"),
        new("out", "a .csv or .json file for the table"),
        new("plot", "a chart: .svg or .png"),
    ];

    public string Name => "adr-efficiency";

    public string Summary => "dense vs homogeneous vs heterogeneous ADR relaxation steps on an image set: accuracy per parameter";

    public string Usage => "hjml adr-efficiency [--data data/mnist-10000.csv.gz] [--label Label] [--grid 28x28] [--depth 2] [--epochs 5] [--tiles 14,7,4,2,1] [--no-dense] [--learning-rate 0.005] [--seed 1] [--out efficiency.csv|.json] [--plot efficiency.svg|.png]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string dataPath = arguments.Text("data") ?? Path.Combine("data", "mnist-10000.csv.gz");
        string label = arguments.Text("label") ?? "Label";
        string? gridText = arguments.Text("grid");
        int depth = arguments.Integer("depth", 2, 1, 1000);
        int epochs = arguments.Integer("epochs", 5, 1, 100_000);
        string tilesText = arguments.Text("tiles") ?? "14,7,4,2,1";
        bool dense = !arguments.Has("no-dense");
        double rate = arguments.Number("learning-rate", 0.005);
        int seed = arguments.Integer("seed", 1);
        string? outPath = arguments.Text("out");
        string? plotPath = arguments.Text("plot");
        arguments.RejectUnknown();
        RelaxationCharts.Check(plotPath);
        Dataset data = CsvDataset.Load(dataPath, label);
        GridShape grid = gridText is null ? Square(data.Columns) : ParseGrid(gridText);
        int[] tiles = AdrRecoveryCommand.Seeds(tilesText);
        if (tiles.Any(tile => tile < 1))
        {
            throw new UsageException($"--tiles is '{tilesText}'; every patch side must be >= 1.");
        }

        var settings = new EfficiencySettings { Grid = grid, Depth = depth, Epochs = epochs, Tiles = tiles, IncludeDense = dense, LearningRate = rate, Seed = seed };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameter efficiency on {Path.GetFileName(dataPath)}: {data.Rows} rows on a {grid} grid, 20% held out (seed {seed}); depth {depth}, softplus eps 0.05, omega 1, Adam {epochs} epochs"));
        output.WriteLine($"{"model",-28} {"step params",12} {"total",10} {"ratio",10} {"accuracy",9} {"loss",8} {"seconds",8}");
        var progress = new InlineProgress<EfficiencyRow>(row => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.Model,-28} {row.MixingParameters,12} {row.TotalParameters,10} {row.ReductionRatio,10:E2} {row.Accuracy,9:F4} {row.TrainingLoss,8:F4} {row.Seconds,8:F1}")));
        IReadOnlyList<EfficiencyRow> rows = ParameterEfficiency.Run(data, settings, progress, cancellation);
        if (outPath is not null)
        {
            TableOutput.Write(outPath, ["Model", "Depth", "StepParameters", "TotalParameters", "ReductionRatio", "Accuracy", "TrainingLoss", "Seconds"], rows.Select(r => (IReadOnlyList<object>)[r.Model, r.Depth, r.MixingParameters, r.TotalParameters, r.ReductionRatio, r.Accuracy, r.TrainingLoss, r.Seconds]));
            output.WriteLine($"table written to {outPath}");
        }

        if (plotPath is not null)
        {
            using Figure figure = RelaxationCharts.Efficiency(rows, depth, Path.GetFileName(dataPath));
            figure.Save(plotPath);
            output.WriteLine($"chart written to {plotPath}");
        }

        return 0;
    }

    private static GridShape Square(int columns)
    {
        int side = (int)Math.Round(Math.Sqrt(columns));
        return side * side == columns ? new GridShape(side, side) : throw new UsageException($"The data has {columns} feature columns, not a square image; give --grid <height>x<width>.");
    }

    private static GridShape ParseGrid(string text)
    {
        string[] sides = text.Split('x');
        return sides.Length == 2 && int.TryParse(sides[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int height) && int.TryParse(sides[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int width) && height > 0 && width > 0
            ? new GridShape(height, width)
            : throw new UsageException($"--grid is '{text}'; write <height>x<width>, e.g. 28x28.");
    }
}
