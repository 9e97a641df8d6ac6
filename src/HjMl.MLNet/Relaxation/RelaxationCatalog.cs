using HjMl.MLNet.Columns;
using Microsoft.ML;

namespace HjMl.MLNet.Relaxation;

/// <summary>HjMl's relaxation (ADR) featuriser in ML.NET's transforms catalog: <c>mlContext.Transforms.AdrFeaturizer(...)</c>.</summary>
public static class RelaxationCatalog
{
    /// <summary>Creates an <see cref="AdrFeaturizerEstimator"/> (see its remarks).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The column written: the terminal state, one slot per input value.</param>
    /// <param name="inputColumnName">The image or signal read (a known-size vector of float in grid order).</param>
    /// <param name="labelColumnName">The class label the steps are trained on.</param>
    /// <param name="depth">L, the ADR steps.</param>
    /// <param name="heterogeneous">Moments per site instead of one set a step.</param>
    /// <param name="relaxationFactor">omega &gt; 0 (1: the usual layer).</param>
    /// <param name="epochs">Training epochs.</param>
    /// <example>
    /// <code language="csharp">
    /// var pipeline = mlContext.Transforms.AdrFeaturizer("Adr", "Pixels", depth: 2, heterogeneous: true)
    ///     .Append(mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy(featureColumnName: "Adr"));
    /// </code>
    /// </example>
    public static AdrFeaturizerEstimator AdrFeaturizer(
        this TransformsCatalog catalog,
        string outputColumnName = "AdrFeatures",
        string inputColumnName = DefaultColumnNames.Features,
        string labelColumnName = DefaultColumnNames.Label,
        int depth = 2,
        bool heterogeneous = false,
        double relaxationFactor = 1.0,
        int epochs = 10)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new AdrFeaturizerEstimator(new AdrFeaturizerEstimator.Options
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            LabelColumnName = labelColumnName,
            Depth = depth,
            Heterogeneous = heterogeneous,
            RelaxationFactor = relaxationFactor,
            Epochs = epochs,
        });
    }

    /// <summary>Creates an <see cref="AdrFeaturizerEstimator"/> from <paramref name="options"/> (validated here; the message names a bad option).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, grid, steps, omega and training.</param>
    public static AdrFeaturizerEstimator AdrFeaturizer(this TransformsCatalog catalog, AdrFeaturizerEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new AdrFeaturizerEstimator(options);
    }
}
