using System.Collections.Immutable;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Columns;
using HjMl.MLNet.Prediction;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet;

/// <summary>
/// ML.NET's model explainability entry points for Hopf–Cole models, where ML.NET's own cannot take a third party's
/// model: <c>mlContext.Transforms.CalculateFeatureContribution(model)</c> (same name, options and output column as
/// ML.NET's, which needs internal interfaces) and <c>HopfColePermutationFeatureImportance</c> (the job of ML.NET's
/// <c>PermutationFeatureImportance(ITransformer model, ...)</c>, the overload Model Builder generates, which finds the
/// predictor through an internal interface). ML.NET's generic <c>PermutationFeatureImportance(predictionTransformer, ...)</c>
/// works with a Hopf–Cole transformer as it is.
/// </summary>
public static class HopfColeExplainabilityCatalog
{
    /// <summary>The defaults of ML.NET's CalculateFeatureContribution.</summary>
    private const int DefaultNumberOfContributions = 10;

    /// <summary>
    /// Creates a <see cref="HopfColeFeatureContributionEstimator"/>: ML.NET's <c>FeatureContributions</c> column for a
    /// Hopf–Cole model, with ML.NET's options and defaults, from the exact decomposition of THEORY.md section 4 (see
    /// <see cref="HopfColeFeatureContributionTransformer"/>). ML.NET's own CalculateFeatureContribution needs model
    /// parameters implementing its internal IFeatureContributionMapper, which no component outside ML.NET can; for a
    /// Hopf–Cole model this overload is the one the call resolves to.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="predictionTransformer">The trained Hopf–Cole model (a trainer's Fit result, or a chain's LastTransformer).</param>
    /// <param name="numberOfPositiveContributions">How many of the largest positive contributions to keep (ML.NET's default 10).</param>
    /// <param name="numberOfNegativeContributions">How many of the most negative contributions to keep (ML.NET's default 10).</param>
    /// <param name="normalize">Whether to divide the kept contributions by their largest magnitude, into [-1, 1] (ML.NET's default true).</param>
    /// <example>
    /// <code language="csharp">
    /// var model = pipeline.Fit(train);
    /// var contributions = mlContext.Transforms.CalculateFeatureContribution(model.LastTransformer, normalize: false)
    ///     .Fit(model.Transform(train));
    /// </code>
    /// </example>
    public static HopfColeFeatureContributionEstimator CalculateFeatureContribution(
        this TransformsCatalog catalog,
        HopfColePredictionTransformer predictionTransformer,
        int numberOfPositiveContributions = DefaultNumberOfContributions,
        int numberOfNegativeContributions = DefaultNumberOfContributions,
        bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(predictionTransformer);
        ArgumentOutOfRangeException.ThrowIfNegative(numberOfPositiveContributions);
        ArgumentOutOfRangeException.ThrowIfNegative(numberOfNegativeContributions);
        return new HopfColeFeatureContributionEstimator(predictionTransformer, numberOfPositiveContributions, numberOfNegativeContributions, normalize);
    }

    /// <summary>
    /// Permutation feature importance of the last Hopf–Cole model in <paramref name="model"/>, keyed by feature name:
    /// what ML.NET's <c>PermutationFeatureImportance(ITransformer model, ...)</c> returns for its own trainers. That overload
    /// finds the predictor through an internal interface and reports "does not have a compatible predictor" for any
    /// third-party transformer, so this method finds the HopfCole transformer itself and runs ML.NET's generic PFI on it.
    /// </summary>
    /// <param name="catalog">The regression catalog.</param>
    /// <param name="model">A HopfCole regression transformer, or a chain holding one (the last is used).</param>
    /// <param name="data">Data the model's Hopf–Cole stage reads: the output of the stages before it (as for ML.NET's overload).</param>
    /// <param name="labelColumnName">The label column.</param>
    /// <param name="numberOfExamplesToUse">Rows to use; null for all.</param>
    /// <param name="permutationCount">Permutations per feature.</param>
    /// <returns>Per feature (slot name, or "Slot i" without one), the change in each metric when it is permuted.</returns>
    public static ImmutableDictionary<string, RegressionMetricsStatistics> HopfColePermutationFeatureImportance(
        this RegressionCatalog catalog,
        ITransformer model,
        IDataView data,
        string labelColumnName = DefaultColumnNames.Label,
        int? numberOfExamplesToUse = null,
        int permutationCount = 1)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        HopfColePredictionTransformer predictor = LastHopfCole(model);
        return ByName(data, predictor, catalog.PermutationFeatureImportance(predictor, data, labelColumnName, false, numberOfExamplesToUse, permutationCount));
    }

    /// <summary>
    /// Permutation feature importance of the last Hopf–Cole model in <paramref name="model"/>, keyed by feature name (see
    /// the regression overload for why ML.NET's non-generic overload cannot do this).
    /// </summary>
    /// <param name="catalog">The binary classification catalog.</param>
    /// <param name="model">A HopfCole binary transformer, or a chain holding one (the last is used).</param>
    /// <param name="data">Data the model's Hopf–Cole stage reads: the output of the stages before it.</param>
    /// <param name="labelColumnName">The label column.</param>
    /// <param name="numberOfExamplesToUse">Rows to use; null for all.</param>
    /// <param name="permutationCount">Permutations per feature.</param>
    /// <returns>Per feature (slot name, or "Slot i" without one), the change in each metric when it is permuted.</returns>
    public static ImmutableDictionary<string, BinaryClassificationMetricsStatistics> HopfColePermutationFeatureImportance(
        this BinaryClassificationCatalog catalog,
        ITransformer model,
        IDataView data,
        string labelColumnName = DefaultColumnNames.Label,
        int? numberOfExamplesToUse = null,
        int permutationCount = 1)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        HopfColePredictionTransformer predictor = LastHopfCole(model);
        return ByName(data, predictor, catalog.PermutationFeatureImportance(predictor, data, labelColumnName, false, numberOfExamplesToUse, permutationCount));
    }

    /// <summary>
    /// Permutation feature importance of the last Hopf–Cole model in <paramref name="model"/>, keyed by feature name (see
    /// the regression overload for why ML.NET's non-generic overload cannot do this).
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog.</param>
    /// <param name="model">A HopfCole multiclass transformer, or a chain holding one (the last is used).</param>
    /// <param name="data">Data the model's Hopf–Cole stage reads: the output of the stages before it.</param>
    /// <param name="labelColumnName">The label column (a key).</param>
    /// <param name="numberOfExamplesToUse">Rows to use; null for all.</param>
    /// <param name="permutationCount">Permutations per feature.</param>
    /// <returns>Per feature (slot name, or "Slot i" without one), the change in each metric when it is permuted.</returns>
    public static ImmutableDictionary<string, MulticlassClassificationMetricsStatistics> HopfColePermutationFeatureImportance(
        this MulticlassClassificationCatalog catalog,
        ITransformer model,
        IDataView data,
        string labelColumnName = DefaultColumnNames.Label,
        int? numberOfExamplesToUse = null,
        int permutationCount = 1)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        HopfColePredictionTransformer predictor = LastHopfCole(model);
        return ByName(data, predictor, catalog.PermutationFeatureImportance(predictor, data, labelColumnName, false, numberOfExamplesToUse, permutationCount));
    }

    // The last HopfCole transformer in a transformer or (nested) chain, in the order the chain applies them.
    private static HopfColePredictionTransformer LastHopfCole(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        static IEnumerable<ITransformer> Flatten(ITransformer transformer)
            => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

        return Flatten(model).OfType<HopfColePredictionTransformer>().LastOrDefault()
            ?? throw new ArgumentException("The model holds no HopfCole prediction transformer; for ML.NET's own trainers use ML.NET's PermutationFeatureImportance.", nameof(model));
    }

    // As ML.NET's overload keys its results: the feature column's slot names, "Slot i" where one is empty.
    private static ImmutableDictionary<string, TResult> ByName<TResult>(IDataView data, HopfColePredictionTransformer predictor, ImmutableArray<TResult> importance)
    {
        ArgumentNullException.ThrowIfNull(data);
        VBuffer<ReadOnlyMemory<char>> names = default;
        DataViewSchema.Column features = FeatureColumns.Require(data.Schema, predictor.FeatureColumnName);
        if (features.HasSlotNames())
        {
            features.GetSlotNames(ref names);
        }

        ReadOnlyMemory<char>[] slots = names.Length == importance.Length ? names.DenseValues().ToArray() : new ReadOnlyMemory<char>[importance.Length];
        return importance.Select((result, slot) => (Name: slots[slot].IsEmpty ? $"Slot {slot}" : slots[slot].ToString(), Result: result))
            .ToImmutableDictionary(entry => entry.Name, entry => entry.Result);
    }
}
