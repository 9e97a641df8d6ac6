using System.Text.RegularExpressions;
using HjMl.Attribution;
using HjMl.Cli.Report;
using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Landscape;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Cli;

/// <summary>
/// The model-review report built on real data (breast_cancer, iris, digits, diabetes): every section is on the page,
/// and the numbers it shows are the engine's own — metrics, ROC area, budget sweep, basin counts, coverage, radii,
/// importance — recomputed here with the engine's public calls.
/// </summary>
public sealed partial class ReportBuilderTests
{
    private static readonly string[] AllSections = ["overview", "metrics", "importance", "budget", "landscape", "coverage", "explanations", "history"];

    private static readonly ReportSettings Quick = new(BudgetSteps: 5, LandscapeGrid: 21, LandscapeSteps: 5, LandscapeHeads: 3, ExplainedRows: 3);

    [Fact]
    public void BinaryReportShowsEverySectionWithTheEnginesMetricsRocBudgetCoverageAndHistory()
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        TrainingResult trained = new HopfColeTrainer(new HopfColeTrainerOptions { NumberOfSupportPoints = 8, MaximumEpochs = 15, Seed = 1 }).Train(data);
        HopfColeModel model = trained.Model;
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "breast_cancer.csv", "bc.hjml", trained.History, new Dictionary<string, string>()) { Settings = Quick });

        Assert.Equal(AllSections, report.Sections);
        Assert.All(AllSections, id => Assert.Contains($"<section id=\"{id}\">", report.Html));
        ModelMetrics expected = ModelMetrics.Evaluate(model, data);
        Assert.Equal(expected, report.Metrics);
        Assert.Contains(expected.Accuracy.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), report.Html);
        ClassifierEvidence classifier = Assert.IsType<ClassifierEvidence>(report.Classifier);
        Assert.Equal(expected.AreaUnderRocCurve, Assert.Single(classifier.Roc).Area, 12);
        int diagonal = classifier.Confusion[0, 0] + classifier.Confusion[1, 1];
        Assert.Equal(data.Rows, classifier.Confusion.Cast<int>().Sum());
        Assert.Equal(expected.Accuracy, diagonal / (double)data.Rows, 12);
        Assert.Equal(data.Rows, classifier.Calibration.Sum(bin => bin.Rows));

        IReadOnlyList<BudgetPoint> budget = ViscosityBudget.Sweep(model, data, ViscosityBudget.Range(model.Viscosity / 10, model.Viscosity * 10, 5));
        Assert.Equal(budget, report.Budget);
        var explainer = new ModelExplainer(model);
        int outside = Enumerable.Range(0, data.Rows).Count(row => explainer.Coverage(data.Row(row)).IsOutOfSupport);
        Assert.Equal(outside, report.Coverage.OutOfSupport);
        Assert.Equal(Enumerable.Range(0, data.Rows).Select(row => explainer.Certify(data.Row(row)).Radius), report.Coverage.Radii);
        Assert.Equal(budget[2].MeanRadius, report.Coverage.Radii.Average(), 9);
        Assert.Contains($"{model.SupportRows.Count(row => row >= 0)} of {model.SupportRows.Count} started on a training row", report.Html);
        Assert.True(report.HistoryShown);
        Assert.DoesNotContain("does not carry its training history", report.Html);
        Assert.Equal(3, report.ExplainedRows.Count);
    }

    [Fact]
    public void ImportanceIsTheMeanAbsoluteContributionOfEachFeatureToTheExplainedValue()
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { NumberOfSupportPoints = 6, MaximumEpochs = 10, Seed = 2 }).Fit(data);
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "bc", "m", null, new Dictionary<string, string>()) { Settings = Quick });
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 1);
        var expected = new double[data.Columns];
        for (int row = 0; row < data.Rows; row++)
        {
            explainer.Explain(data.Row(row), explanation);
            for (int k = 0; k < data.Columns; k++)
            {
                expected[k] += Math.Abs(explanation.Margin.FeatureContributions[k]) / data.Rows;
            }
        }

        Assert.Equal(expected.Length, report.Importance.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], report.Importance[k], 12);
        }
    }

    [Fact]
    public void MulticlassReportDrawsOneRocCurvePerClassAndTheEnginesBasinCounts()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, MaximumEpochs = 20, Seed = 3 }).Fit(data);
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "iris.csv", "iris.hjml", null, new Dictionary<string, string>()) { Settings = Quick });

        ClassifierEvidence classifier = Assert.IsType<ClassifierEvidence>(report.Classifier);
        Assert.Equal(3, classifier.Roc.Count);
        Assert.All(classifier.Roc, curve => Assert.InRange(curve.Area, 0.5, 1));
        LandscapeEvidence landscape = Assert.IsType<LandscapeEvidence>(report.Landscape);
        LandscapePlane plane = LandscapePlane.ForModel(model, data.Features);
        double[] viscosities = EntropyLandscape.GeometricViscosities(model.Viscosity / 100, model.Viscosity * 100, Quick.LandscapeSteps);
        Assert.Equal(viscosities, landscape.Viscosities);
        for (int head = 0; head < 3; head++)
        {
            LandscapeSweep sweep = EntropyLandscape.Sweep(model.Layer, plane, viscosities, head, Quick.LandscapeGrid);
            int[] counts = landscape.Counts.Single(pair => pair.Key.StartsWith($"head {head} ", StringComparison.Ordinal)).Value;
            Assert.Equal(sweep.Levels.Select(level => level.Count), counts);
        }

        Assert.Equal(EntropyLandscape.Sweep(model.Layer, plane, viscosities, null, Quick.LandscapeGrid).Levels.Select(level => level.Count), landscape.Counts["predicted head"]);
        Assert.Null(report.LandscapeOmitted);
    }

    [Fact]
    public void RegressionReportShowsResidualsAndStabilityRadiiInsteadOfClassifierCurves()
    {
        Dataset data = TestData.Load("diabetes.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.Regression, NumberOfSupportPoints = 8, MaximumEpochs = 15, Seed = 4 }).Fit(data);
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "diabetes.csv", "d.hjml", null, new Dictionary<string, string>()) { Settings = Quick });

        Assert.Null(report.Classifier);
        double[] residuals = Assert.IsType<double[]>(report.Residuals);
        Assert.Equal(Enumerable.Range(0, data.Rows).Select(row => data.Labels[row] - model.Predict(data.Row(row)).PredictedLabel), residuals);
        Assert.Equal(report.Metrics.RootMeanSquaredError, Math.Sqrt(residuals.Average(r => r * r)), 9);
        var explainer = new ModelExplainer(model);
        Assert.Equal(Enumerable.Range(0, data.Rows).Select(row => explainer.StabilityRadius(data.Row(row), 0.1 * model.LabelScale).Radius), report.Coverage.Radii);
        Assert.Contains("Residuals against the prediction", report.Html);
        Assert.Contains(HtmlEscaped(HistorySection.NotCarried), report.Html);
        Assert.False(report.HistoryShown);
    }

    [Fact]
    public void ImageDataGetsPixelMapsOfImportanceAndOfEachExplainedRow()
    {
        Dataset digits = TestData.Load("digits.csv");
        Dataset data = digits.Subset(Enumerable.Range(0, 300).ToArray());
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 4, MaximumEpochs = 5, Seed = 5 }).Fit(data);
        ReportSettings settings = Quick with { LandscapeHeads = 1, LandscapeSteps = 3, ExplainedRows = 2 };
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "digits", "digits.hjml", null, new Dictionary<string, string>()) { Settings = settings });

        Assert.Contains("Mean |contribution| per pixel", report.Html);
        Assert.Equal(2, report.ExplainedRows.Count);
        Assert.All(report.ExplainedRows, row => Assert.Contains($"Row {row + 1}: the input (raw values)", report.Html));
    }

    [Fact]
    public void AFlowModelsReportSaysWhyItHasNoLandscapeAndStillExplainsOverTheInputFeatures()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, Depth = 2, FlowWidth = 6, NumberOfSupportPoints = 8, MaximumEpochs = 10, Seed = 6 }).Fit(data);
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "iris.csv", "flow.hjml", null, new Dictionary<string, string>()) { Settings = Quick });

        Assert.Null(report.Landscape);
        Assert.Contains("flow of depth 2", report.LandscapeOmitted);
        Assert.Contains("quadrature remainder", report.Html);
        Assert.Equal(4, report.Importance.Length);
        Assert.All(report.Importance, value => Assert.True(double.IsFinite(value) && value >= 0));
    }

    [Fact]
    public void EveryChartIsInlineScalableSvgWithIdsUniqueInThePage()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, MaximumEpochs = 10, Seed = 7 }).Fit(data);
        ModelReport report = ReportBuilder.Build(new ReportInputs(model, data, "iris.csv", "iris.hjml", null, new Dictionary<string, string>()) { Settings = Quick });

        Assert.Equal(report.Charts, Regex.Count(report.Html, "<figure class=\"chart\"><svg viewBox=\"0 0 [0-9]+ [0-9]+\""));
        Assert.True(report.Charts >= 7, $"{report.Charts} charts");
        string[] ids = Identifier().Matches(report.Html).Select(match => match.Groups[1].Value).ToArray();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain("<?xml", report.Html);
        Assert.DoesNotContain("src=\"http", report.Html);
    }

    [Fact]
    public void RowsInAnotherFeatureOrderThanTheModelsAreRefusedByName()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 4, MaximumEpochs = 3, Seed = 8 }).Fit(data);
        string[] names = [.. data.FeatureNames.Reverse()];
        var reversed = new Dataset(data.Features.ToArray(), data.Labels.ToArray(), names);
        var problem = Assert.Throws<ArgumentException>(() => ReportBuilder.Build(new ReportInputs(model, reversed, "x", "m", null, new Dictionary<string, string>())));
        Assert.Contains($"'{names[0]}'", problem.Message);
    }

    private static string HtmlEscaped(string text) => System.Net.WebUtility.HtmlEncode(text);

    [GeneratedRegex("\\bid=\"([^\"]+)\"")]
    private static partial Regex Identifier();
}
