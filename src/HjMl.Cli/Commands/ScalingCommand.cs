using System.Globalization;
using HjMl.PaperChecks;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml scaling</c>: the width-scaling law and the implied intrinsic dimension (THEORY.md section 7).
/// Three forms: run the paper's experiment on f(x) = ||x|| in [-2, 2]^d; fit alpha to (width, error) pairs from a CSV
/// file; or turn published exponents into dimensions d = 1/alpha.
/// </summary>
internal sealed class ScalingCommand : IDescribedCommand, IHasSwitches
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("dimension", "dimension of the target function", OptionValue.Integer, "1"),
        new("widths", "widths to fit, comma-separated", OptionValue.Text, "10,20,50,100,200,500"),
        new("train", "train the layers instead of constructing them", OptionValue.Switch),
        new("seed", "random seed", OptionValue.Integer, "1"),
        new("pairs", "a CSV of width,error pairs to fit instead"),
        new("exponents", "measured exponents alpha, comma-separated, to read as intrinsic dimensions"),
    ];

    public string Name => "scaling";

    public string Summary => "width-scaling law: error ~ N^(-alpha), implied intrinsic dimension d = 1/alpha";

    public string Usage => "hjml scaling [--dimension d] [--widths 10,20,50,100,200,500] [--train] [--seed s] | --pairs <csv: width,error> | --exponents 0.076,0.35,...";

    public string[] Switches => ["train"];

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string? pairs = arguments.Text("pairs");
        string? exponents = arguments.Text("exponents");
        int dimension = arguments.Integer("dimension", 1, 1, CommandLimits.Dimension);
        string? widthText = arguments.Text("widths");
        bool train = arguments.Has("train");
        int seed = arguments.Integer("seed", 1);
        arguments.RejectUnknown();
        output.WriteLine("convention (paper a, THEORY.md section 7): error ~ C N^(-alpha); intrinsic dimension d = 1/alpha");
        if (exponents is not null)
        {
            output.WriteLine($"{"alpha",8} {"d = 1/alpha",12}");
            foreach (double exponent in Numbers(exponents, "exponents"))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{exponent,8:G4} {ScalingFit.DimensionOf(exponent),12:F1}"));
            }

            return 0;
        }

        if (pairs is not null)
        {
            (double[] widths, double[] errors) = ReadPairs(pairs);
            WriteFit(output, ScalingFit.Fit(widths, errors), expected: null);
            return 0;
        }

        int[] widthList = widthText is null ? [.. WidthScaling.DefaultWidths] : Numbers(widthText, "widths").Select(w => (int)w).ToArray();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"f(x) = ||x||_2 on [-2, 2]^{dimension}, eps = t = N^(-1/{dimension}), {(train ? "constructed then trained (L-BFGS)" : "Hopf–Cole construction, untrained")}, seed {seed}"));
        output.WriteLine($"{"N",6} {"eps",10} {"max error",12} {"RMS error",12}");
        var progress = new InlineProgress<WidthScalingPoint>(point => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{point.Width,6} {point.Viscosity,10:G4} {point.Error,12:G4} {point.RootMeanSquaredError,12:G4}")));
        (_, ScalingFit fit) = WidthScaling.Run(dimension, widthList, train, seed: seed, progress: progress, cancellation: cancellation);
        WriteFit(output, fit, expected: 1.0 / dimension);
        return 0;
    }

    private static void WriteFit(TextWriter output, ScalingFit fit, double? expected)
    {
        (double lower, double upper) = fit.IntrinsicDimensionInterval;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alpha = {fit.Exponent:F3} (95% interval {fit.ExponentLower:F3} to {fit.ExponentUpper:F3}; R² of the log-log fit {fit.RSquared:F3}; {fit.Points} points)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"implied intrinsic dimension d = 1/alpha = {fit.IntrinsicDimension:F2} (interval {lower:F2} to {upper:F2})"));
        if (expected is double law)
        {
            double relative = Math.Abs(fit.Exponent - law) / law;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the law says alpha = 1/d = {law:F3}; fitted alpha is {100 * relative:F0}% away"));
        }
    }

    private static double[] Numbers(string text, string option)
        => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw new UsageException($"--{option} holds '{part}', which is not a number."))
            .ToArray();

    private static (double[] Widths, double[] Errors) ReadPairs(string path)
    {
        var widths = new List<double>();
        var errors = new List<double>();
        int row = 0;
        foreach (string line in File.ReadLines(path))
        {
            row++;
            string[] cells = line.Split(',');
            if (cells.Length < 2)
            {
                throw new InvalidDataException($"{path}: row {row} has {cells.Length} field; it needs width,error.");
            }

            bool parsed = double.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double width);
            parsed &= double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value);
            if (!parsed)
            {
                if (row == 1)
                {
                    continue; // a header
                }

                throw new InvalidDataException($"{path}: row {row} is '{line}'; width and error must be numbers.");
            }

            widths.Add(width);
            errors.Add(value);
        }

        return ([.. widths], [.. errors]);
    }
}
