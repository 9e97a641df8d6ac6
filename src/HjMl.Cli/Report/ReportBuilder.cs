using System.Globalization;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;

namespace HjMl.Cli.Report;

/// <summary>
/// Builds the model-review report (PRODUCT.md's "one report, not a notebook"): metrics, global importance, the
/// viscosity budget, the entropy landscape, coverage and robustness, explained rows and the training history, as one
/// self-contained HTML page whose charts are inline SVG. Pure: engine-level inputs in, the page and its numbers out.
/// </summary>
internal static class ReportBuilder
{
    /// <summary>Builds the report of <paramref name="inputs"/>; <paramref name="progress"/> hears which part is being computed.</summary>
    /// <exception cref="ArgumentException">The rows do not match the model's features, or a row is too far from the training data for double.</exception>
    public static ModelReport Build(ReportInputs inputs, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        Validate(inputs.Model, inputs.Data);
        progress?.Report($"scoring, explaining and certifying {inputs.Data.Rows} rows");
        var context = new ReportContext(inputs, cancellation);
        var page = new HtmlPage();
        WriteOverview(page, context);
        var (metrics, classifier, residuals) = MetricsSection.Write(page, context);
        double[] importance = ExplanationSection.WriteImportance(page, context);
        progress?.Report($"viscosity budget: {inputs.Settings.BudgetSteps} values of eps");
        var budget = BudgetSection.Write(page, context, cancellation);
        progress?.Report("entropy landscape and its basins");
        var (landscape, omitted) = LandscapeSection.Write(page, context, cancellation);
        CoverageEvidence coverage = CoverageSection.Write(page, context);
        IReadOnlyList<int> explained = ExplanationSection.WriteRows(page, context);
        bool history = HistorySection.Write(page, context);
        HopfColeModel model = inputs.Model;
        string subtitle = HtmlPage.Escape(string.Create(CultureInfo.InvariantCulture, $"{inputs.ModelName}: a {Task(model)} model reviewed on {Rows(inputs)} of {inputs.DataName}. Built by hjml {ModelFile.LibraryVersion}."));
        return new ModelReport
        {
            Html = page.Render($"Model review: {inputs.ModelName}", subtitle),
            Sections = ["overview", .. page.SectionIds.Skip(1)],
            Charts = page.FigureCount,
            Metrics = metrics,
            Classifier = classifier,
            Residuals = residuals,
            Importance = importance,
            Budget = budget,
            Landscape = landscape,
            LandscapeOmitted = omitted,
            Coverage = coverage,
            ExplainedRows = explained,
            HistoryShown = history,
        };
    }

    private static void Validate(HopfColeModel model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Columns != model.InputDimension)
        {
            throw new ArgumentException($"The data has {data.Columns} feature columns but the model takes {model.InputDimension}.", nameof(data));
        }

        for (int k = 0; k < data.Columns; k++)
        {
            if (data.FeatureNames[k] != model.FeatureNames[k])
            {
                throw new ArgumentException($"Feature {k + 1} of the data is '{data.FeatureNames[k]}' but the model's is '{model.FeatureNames[k]}'; give the rows in the model's feature order.", nameof(data));
            }
        }

        // As the landscape and certify verbs: a row beyond this many standardised units overflows the geometry.
        ReadOnlySpan<double> means = model.Scaling.Means, scales = model.Scaling.Scales;
        for (int row = 0; row < data.Rows; row++)
        {
            ReadOnlySpan<double> features = data.Row(row);
            model.ValidateFeatures(features, row);
            for (int k = 0; k < features.Length; k++)
            {
                double z = (features[k] - means[k]) / scales[k];
                if (!(Math.Abs(z) <= HopfColeModel.FiniteScoreRange))
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Row {row + 1}: feature '{model.FeatureNames[k]}' is {features[k]}, {Math.Abs(z):G3} standardised units from its training mean, beyond the {HopfColeModel.FiniteScoreRange:G3} within which the model's geometry stays finite."), nameof(data));
                }
            }
        }
    }

    private static string Rows(ReportInputs inputs) => inputs.FileRows is long all && all > inputs.Data.Rows
        ? string.Create(CultureInfo.InvariantCulture, $"{inputs.Data.Rows} of the {all} rows (a seeded random sample, kept in file order; every row with --max-rows {all})")
        : string.Create(CultureInfo.InvariantCulture, $"{inputs.Data.Rows} rows");

    private static string Task(HopfColeModel model) => model.Kind switch
    {
        ModelKind.BinaryClassification => "binary classification",
        ModelKind.MulticlassClassification => $"{model.NumberOfClasses}-class classification",
        _ => "regression",
    };

    private static void WriteOverview(HtmlPage page, ReportContext context)
    {
        HopfColeModel model = context.Model;
        page.Section("overview", "The model", "What is the model, and what is its effective temperature (sharpness)?");
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "task", Task(model) },
            new[] { "features (d)", model.InputDimension.ToString(CultureInfo.InvariantCulture) },
            new[] { "flow", model.Flow is null ? "none (a single log-sum-exp layer)" : string.Create(CultureInfo.InvariantCulture, $"depth {model.Depth}, width {model.Flow.Width}") },
            new[] { "read-out", string.Create(CultureInfo.InvariantCulture, $"{model.Layer.NumberOfHeads} heads × {model.Layer.NumberOfPieces} support points") },
            new[] { "eps, the viscosity", HtmlPage.Number(model.Viscosity) },
            new[] { "time t", HtmlPage.Number(model.Time) },
            new[] { "mean attribution entropy H(π)", string.Create(CultureInfo.InvariantCulture, $"{context.Entropies.Average():F3} nats ({Math.Exp(context.Entropies.Average()):F1} effective support points; at most log N = {Math.Log(model.Layer.NumberOfPieces):F3})") },
            new[] { "calibrated coverage radius", HtmlPage.Number(model.CoverageRadius) },
            new[] { "support points' provenance", string.Create(CultureInfo.InvariantCulture, $"{model.SupportRows.Count(row => row >= 0)} of {model.SupportRows.Count} started on a training row ({model.SupportRows.Where(row => row >= 0).Distinct().Count()} distinct rows); compare across model versions") },
        };
        rows.AddRange(context.Inputs.Metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => (IReadOnlyList<string>)[pair.Key, pair.Value]));
        page.Table(["property", "value"], rows, "The model as its file describes it");
        page.Paragraph(HtmlPage.Escape("eps is at once the softmax temperature, the viscosity of the Hamilton–Jacobi equation and the entropy regularisation: small eps gives sharp, winner-take-all models; large eps smooth ones with larger certified radii and attributions spread over more support points (THEORY.md). Every number below is computed by the engine on the rows given; the command under each section reproduces it."));
    }
}
