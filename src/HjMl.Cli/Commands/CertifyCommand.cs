using System.Globalization;
using HjMl.Attribution;
using HjMl.Cli.Data;
using HjMl.Models;
using HjMl.Robustness;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml certify</c>: per row the certified radius (classifiers) or the stability radius for a tolerance (regression),
/// and support coverage; with <c>--attack</c>, projected-gradient attacks check every certificate and measure its tightness.
/// </summary>
internal sealed class CertifyCommand : IDescribedCommand, IHasSwitches
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the CSV file to read (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("tolerance", "regression: the output change the stability radius allows", OptionValue.Number, "0.1 x the label scale"),
        new("attack", "check every certificate with projected-gradient attacks", OptionValue.Switch),
        new("out", "write every certificate to this .csv or .json"),
        new("label", "the label column, left out of the features", OptionValue.Text, "Label"),
    ];

    public string Name => "certify";

    public string Summary => "certified radii and support coverage per row; --attack checks them with projected gradient";

    public string Usage => "hjml certify --model <model.zip|model.hjml> [--data <csv>] [--label <column>] [--tolerance t (regression)] [--attack] [--out certificates.csv|.json]";

    public string[] Switches => ["attack"];

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        double tolerance = arguments.Number("tolerance", double.NaN);
        bool attack = arguments.Has("attack");
        string? outPath = arguments.Text("out");
        arguments.RejectUnknown();
        ModelData data = ModelData.Load(modelPath);
        HopfColeModel model = data.Model;
        if (model.Kind == ModelKind.Regression && double.IsNaN(tolerance))
        {
            tolerance = 0.1 * model.LabelScale;
        }

        if (model.Kind == ModelKind.Regression && attack)
        {
            throw new UsageException("--attack changes a predicted class; a regression model has none (its stability radius is exact arithmetic).");
        }

        var explainer = new ModelExplainer(model);
        ProjectedGradientAttack? attacker = attack ? new ProjectedGradientAttack(model) : null;
        int d = model.InputDimension;
        var radii = new List<double>();
        var ratios = new List<double>();
        int outside = 0, broken = 0;

        // Rows stream from the file through the certificates to the output, a batch at a time.
        IEnumerable<IReadOnlyList<object>> Records()
        {
            var features = new double[d];
            var progress = new RowProgress(error, "certify");
            foreach (RowBatch batch in data.Read(dataPath, label, 1024, cancellation))
            {
                ScoredRows.Check(model, batch);
                for (int i = 0; i < batch.Rows; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    int row = checked((int)(batch.FirstRow + i));
                    progress.Report(row);
                    Array.Copy(batch.Features, i * d, features, 0, d);
                    Certificate certificate = model.Kind == ModelKind.Regression ? explainer.StabilityRadius(features, tolerance) : explainer.Certify(features);
                    SupportCoverage coverage = explainer.Coverage(features);
                    ScoredRows.RequireFinite(row, "certified", "margin, gradient norm and distance to the nearest support point", certificate.Margin, certificate.GradientNorm, coverage.NearestDistance);
                    radii.Add(certificate.Radius);
                    outside += coverage.IsOutOfSupport ? 1 : 0;
                    double ratio = double.NaN;
                    if (attacker is not null && certificate.Radius > 0)
                    {
                        broken += attacker.Attack(features, certificate.Radius * (1 - 1e-9)).Succeeded ? 1 : 0;
                        ratio = attacker.SmallestSuccessfulRadius(features, certificate.Radius) / certificate.Radius;
                        ratios.Add(ratio);
                    }

                    yield return [row + 1, certificate.Radius, certificate.RawRadius, certificate.Margin, certificate.GradientNorm, certificate.Curvature, certificate.BindingClass, coverage.NearestDistance, coverage.NearestSupportRow, coverage.DiffusionRadius, coverage.CoverageRadius, coverage.Score, coverage.LogitGap, coverage.ExtrapolationBound, coverage.IsOutOfSupport, ratio];
                }
            }
        }

        if (outPath is not null)
        {
            TableOutput.Write(outPath, ["Row", "Radius", "RawRadius", "Margin", "GradientNorm", "Curvature", "BindingClass", "NearestSupportDistance", "NearestSupportRow", "DiffusionRadius", "CoverageRadius", "OutOfSupportScore", "LogitGap", "ExtrapolationBound", "OutOfSupport", "AttackRatio"], Records());
        }
        else
        {
            foreach (IReadOnlyList<object> record in Records())
            {
                _ = record;
            }
        }

        if (radii.Count == 0)
        {
            throw new InvalidDataException($"{CsvSource.NameOf(dataPath)} has no rows to certify.");
        }

        radii.Sort();
        string what = model.Kind == ModelKind.Regression ? string.Create(CultureInfo.InvariantCulture, $"stability radius (output moves < {tolerance:G4})") : "certified radius";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model.Kind} model, eps {model.Viscosity:G4}; {radii.Count} rows of {CsvSource.NameOf(dataPath)}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}, standardised units: mean {radii.Average():G4}, median {radii[radii.Count / 2]:G4}, min {radii[0]:G4}, max {radii[^1]:G4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"out of support: {outside} of {radii.Count} rows ({100.0 * outside / radii.Count:F1}%); diffusion radius sqrt(2 eps t) = {Math.Sqrt(2 * model.Viscosity * model.Time):G4}, calibrated coverage radius {model.CoverageRadius:G4}"));
        if (attacker is not null)
        {
            ratios.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"projected-gradient attacks inside r*: {broken} of {ratios.Count} certificates broken"));
            if (ratios.Count > 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tightness: median (smallest successful attack radius / r*) = {ratios[ratios.Count / 2]:F2}"));
            }
        }

        if (outPath is not null)
        {
            output.WriteLine($"{radii.Count} certificates written to {outPath}");
        }

        return broken == 0 ? 0 : 1;
    }
}
