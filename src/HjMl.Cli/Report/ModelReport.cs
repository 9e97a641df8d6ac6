using HjMl.Attribution;
using HjMl.Evaluation;
using HjMl.Landscape;

namespace HjMl.Cli.Report;

/// <summary>
/// A built model-review report: the self-contained HTML page, and the numbers its sections show, so that code (and the
/// tests) can read what the page says without parsing it.
/// </summary>
internal sealed class ModelReport
{
    /// <summary>The page.</summary>
    public required string Html { get; init; }

    /// <summary>The ids of its sections, in order.</summary>
    public required IReadOnlyList<string> Sections { get; init; }

    /// <summary>The charts on the page.</summary>
    public required int Charts { get; init; }

    /// <summary>The metrics on the data.</summary>
    public required ModelMetrics Metrics { get; init; }

    /// <summary>Classifiers: the confusion matrix, ROC and calibration curves; null for regression.</summary>
    public required ClassifierEvidence? Classifier { get; init; }

    /// <summary>Regression: label minus prediction per row; null for classifiers.</summary>
    public required double[]? Residuals { get; init; }

    /// <summary>Global importance: the mean |contribution| of each input feature to the explained value, in the model's feature order.</summary>
    public required double[] Importance { get; init; }

    /// <summary>The viscosity budget sweep around the model's eps.</summary>
    public required IReadOnlyList<BudgetPoint> Budget { get; init; }

    /// <summary>The entropy landscape, or null when the model has none (see <see cref="LandscapeOmitted"/>).</summary>
    public required LandscapeEvidence? Landscape { get; init; }

    /// <summary>Why the landscape is left out, or null.</summary>
    public required string? LandscapeOmitted { get; init; }

    /// <summary>Support coverage and certified radii per row.</summary>
    public required CoverageEvidence Coverage { get; init; }

    /// <summary>The rows explained one by one (0-based).</summary>
    public required IReadOnlyList<int> ExplainedRows { get; init; }

    /// <summary>Whether a training history was drawn (false: the page says the model file does not carry one).</summary>
    public required bool HistoryShown { get; init; }
}

/// <summary>A classifier's evidence beyond its metrics.</summary>
/// <param name="Confusion">Counts[truth, predicted], class indices in the model's class order.</param>
/// <param name="Roc">Binary: one curve (positive class); multiclass: one per class against the rest.</param>
/// <param name="Calibration">Binary: P(positive class); multiclass: confidence (the predicted class's probability) against accuracy.</param>
/// <param name="ExpectedCalibrationError">The row-weighted mean gap of the calibration bins.</param>
internal sealed record ClassifierEvidence(int[,] Confusion, IReadOnlyList<RocCurve> Roc, IReadOnlyList<CalibrationBin> Calibration, double ExpectedCalibrationError);

/// <summary>The entropy landscape shown.</summary>
/// <param name="Plane">The principal-component plane of the data, in standardised features.</param>
/// <param name="Surface">H of the predicted head over the plane, at the model's eps.</param>
/// <param name="BasinsAtModelViscosity">Per drawn head ("predicted", "head 0", ...) the basins at the model's eps.</param>
/// <param name="Counts">Per drawn head, the basin count at each eps of <paramref name="Viscosities"/>.</param>
/// <param name="Viscosities">The sweep's eps values.</param>
internal sealed record LandscapeEvidence(LandscapePlane Plane, LandscapeSurface Surface, IReadOnlyDictionary<string, IReadOnlyList<Basin>> BasinsAtModelViscosity, IReadOnlyDictionary<string, int[]> Counts, double[] Viscosities);

/// <summary>Support coverage and robustness per row.</summary>
/// <param name="Scores">Out-of-support score per row (above 1: out of support).</param>
/// <param name="OutOfSupport">Rows out of support.</param>
/// <param name="Radii">Certified radius (classifiers) or stability radius (regression) per row, standardised units.</param>
/// <param name="Examples">The rows listed as examples, most out of support first (0-based).</param>
internal sealed record CoverageEvidence(double[] Scores, int OutOfSupport, double[] Radii, IReadOnlyList<int> Examples)
{
    /// <summary>The fraction of rows out of support.</summary>
    public double OutOfSupportFraction => Scores.Length == 0 ? 0 : OutOfSupport / (double)Scores.Length;
}
