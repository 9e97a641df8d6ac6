using HjMl.MLNet.Attribution;
using HjMl.MLNet.Columns;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Featurization;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using Microsoft.ML;

namespace HjMl.MLNet;

/// <summary>
/// HjMl's entries in ML.NET's catalogs: <c>mlContext.Regression.Trainers.HopfCole(...)</c>,
/// <c>mlContext.BinaryClassification.Trainers.HopfCole(...)</c> and <c>mlContext.MulticlassClassification.Trainers.HopfCole(...)</c>,
/// each with a simple overload using ML.NET's default column names and one taking <c>Options</c>.
/// </summary>
public static class HopfColeCatalog
{
    /// <summary>Creates a <see cref="HopfColeRegressionTrainer"/> (see its remarks).</summary>
    /// <param name="catalog">The regression trainers' catalog.</param>
    /// <param name="labelColumnName">The label: <see cref="float"/> or <see cref="double"/>.</param>
    /// <param name="featureColumnName">The features: a known-size vector of <see cref="float"/>.</param>
    /// <param name="exampleWeightColumnName">Optional non-negative example weights.</param>
    /// <param name="numberOfSupportPoints">Support points per head (the width).</param>
    /// <param name="viscosity">The viscosity eps &gt; 0.</param>
    /// <param name="maximumEpochs">The epoch limit (early stopping may end sooner).</param>
    /// <example>
    /// <code language="csharp">
    /// var pipeline = mlContext.Transforms.Concatenate("Features", featureColumns)
    ///     .Append(mlContext.Regression.Trainers.HopfCole(viscosity: 0.2));
    /// </code>
    /// </example>
    public static HopfColeRegressionTrainer HopfCole(
        this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label,
        string featureColumnName = DefaultColumnNames.Features,
        string? exampleWeightColumnName = null,
        int numberOfSupportPoints = HopfColeTrainingOptions.DefaultNumberOfSupportPoints,
        double viscosity = HopfColeTrainingOptions.DefaultViscosity,
        int maximumEpochs = HopfColeTrainingOptions.DefaultMaximumEpochs)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeRegressionTrainer(CatalogEnvironment.Of(catalog), Simple(new HopfColeRegressionTrainer.Options(), labelColumnName, featureColumnName, exampleWeightColumnName, numberOfSupportPoints, viscosity, maximumEpochs));
    }

    /// <summary>Creates a <see cref="HopfColeRegressionTrainer"/> from <paramref name="options"/>.</summary>
    /// <param name="catalog">The regression trainers' catalog.</param>
    /// <param name="options">Columns and hyper-parameters; validated here (the message names a bad option).</param>
    public static HopfColeRegressionTrainer HopfCole(this RegressionCatalog.RegressionTrainers catalog, HopfColeRegressionTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeRegressionTrainer(CatalogEnvironment.Of(catalog), options);
    }

    /// <summary>Creates a <see cref="HopfColeBinaryTrainer"/> (see its remarks).</summary>
    /// <param name="catalog">The binary classification trainers' catalog.</param>
    /// <param name="labelColumnName">The label: <see cref="bool"/>.</param>
    /// <param name="featureColumnName">The features: a known-size vector of <see cref="float"/>.</param>
    /// <param name="exampleWeightColumnName">Optional non-negative example weights.</param>
    /// <param name="numberOfSupportPoints">Support points per head (the width).</param>
    /// <param name="viscosity">The viscosity eps &gt; 0.</param>
    /// <param name="maximumEpochs">The epoch limit (early stopping may end sooner).</param>
    public static HopfColeBinaryTrainer HopfCole(
        this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label,
        string featureColumnName = DefaultColumnNames.Features,
        string? exampleWeightColumnName = null,
        int numberOfSupportPoints = HopfColeTrainingOptions.DefaultNumberOfSupportPoints,
        double viscosity = HopfColeTrainingOptions.DefaultViscosity,
        int maximumEpochs = HopfColeTrainingOptions.DefaultMaximumEpochs)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeBinaryTrainer(CatalogEnvironment.Of(catalog), Simple(new HopfColeBinaryTrainer.Options(), labelColumnName, featureColumnName, exampleWeightColumnName, numberOfSupportPoints, viscosity, maximumEpochs));
    }

    /// <summary>Creates a <see cref="HopfColeBinaryTrainer"/> from <paramref name="options"/>.</summary>
    /// <param name="catalog">The binary classification trainers' catalog.</param>
    /// <param name="options">Columns and hyper-parameters; validated here (the message names a bad option).</param>
    public static HopfColeBinaryTrainer HopfCole(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, HopfColeBinaryTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeBinaryTrainer(CatalogEnvironment.Of(catalog), options);
    }

    /// <summary>Creates a <see cref="HopfColeMulticlassTrainer"/> (see its remarks).</summary>
    /// <param name="catalog">The multiclass classification trainers' catalog.</param>
    /// <param name="labelColumnName">The label: a key type (MapValueToKey).</param>
    /// <param name="featureColumnName">The features: a known-size vector of <see cref="float"/>.</param>
    /// <param name="exampleWeightColumnName">Optional non-negative example weights.</param>
    /// <param name="numberOfSupportPoints">Support points per head (the width).</param>
    /// <param name="viscosity">The viscosity eps &gt; 0.</param>
    /// <param name="maximumEpochs">The epoch limit (early stopping may end sooner).</param>
    public static HopfColeMulticlassTrainer HopfCole(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label,
        string featureColumnName = DefaultColumnNames.Features,
        string? exampleWeightColumnName = null,
        int numberOfSupportPoints = HopfColeTrainingOptions.DefaultNumberOfSupportPoints,
        double viscosity = HopfColeTrainingOptions.DefaultViscosity,
        int maximumEpochs = HopfColeTrainingOptions.DefaultMaximumEpochs)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeMulticlassTrainer(CatalogEnvironment.Of(catalog), Simple(new HopfColeMulticlassTrainer.Options(), labelColumnName, featureColumnName, exampleWeightColumnName, numberOfSupportPoints, viscosity, maximumEpochs));
    }

    /// <summary>Creates a <see cref="HopfColeMulticlassTrainer"/> from <paramref name="options"/>.</summary>
    /// <param name="catalog">The multiclass classification trainers' catalog.</param>
    /// <param name="options">Columns and hyper-parameters; validated here (the message names a bad option).</param>
    public static HopfColeMulticlassTrainer HopfCole(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, HopfColeMulticlassTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeMulticlassTrainer(CatalogEnvironment.Of(catalog), options);
    }

    /// <summary>
    /// Creates a <see cref="GibbsAttributionEstimator"/> that explains the model of the HopfCole trainer before it in the
    /// same chain, found at Fit on that trainer's Score column: per row, the support points (training rows) that carried
    /// the prediction with their Gibbs weights, the attribution entropy, exact feature contributions which with
    /// <c>ScoreTerms</c> sum to <c>ExplainedScore</c> (the Score for regression and binary), the certified radius and the
    /// out-of-support score and flag (see <see cref="GibbsAttributionTransformer"/>). One estimator chain then trains,
    /// scores and explains, in <c>Fit</c> and in <c>CrossValidate</c>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="topSupportPoints">k, support points listed per row; null for min(5, support points per head).</param>
    /// <param name="idColumnName">A column of the training data whose values TopSupportRows reports instead of row positions; null for positions.</param>
    /// <example>
    /// <code language="csharp">
    /// var pipeline = mlContext.Transforms.Concatenate("Features", featureColumns)
    ///     .Append(mlContext.BinaryClassification.Trainers.HopfCole())
    ///     .Append(mlContext.Transforms.GibbsAttribution(idColumnName: "CustomerId"));
    /// var folds = mlContext.BinaryClassification.CrossValidate(data, pipeline, numberOfFolds: 5);
    /// </code>
    /// </example>
    public static GibbsAttributionEstimator GibbsAttribution(this TransformsCatalog catalog, int? topSupportPoints = null, string? idColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GibbsAttributionEstimator(null, new GibbsAttributionEstimator.Options { TopSupportPoints = topSupportPoints, IdColumnName = idColumnName });
    }

    /// <summary>
    /// Creates a <see cref="GibbsAttributionEstimator"/> from <paramref name="options"/> that explains the model of the
    /// HopfCole trainer before it in the same chain (found at Fit on <see cref="GibbsAttributionEstimator.Options.ScoreColumnName"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">k, the feature, score and id columns.</param>
    public static GibbsAttributionEstimator GibbsAttribution(this TransformsCatalog catalog, GibbsAttributionEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GibbsAttributionEstimator(null, options);
    }

    /// <summary>
    /// Creates a <see cref="GibbsAttributionEstimator"/>: per row, the support points (training rows) that carried the
    /// prediction with their Gibbs weights, the attribution entropy, exact feature contributions (slot names copied from
    /// the features), the certified radius and the out-of-support score and flag (see <see cref="GibbsAttributionTransformer"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="model">The trained Hopf–Cole prediction transformer to explain.</param>
    /// <param name="topSupportPoints">k, support points listed per row; null for min(5, support points per head).</param>
    /// <example>
    /// <code language="csharp">
    /// var trained = pipeline.Fit(data);
    /// var explained = trained.Append(mlContext.Transforms.GibbsAttribution(trained.LastTransformer).Fit(data));
    /// </code>
    /// </example>
    public static GibbsAttributionEstimator GibbsAttribution(this TransformsCatalog catalog, HopfColePredictionTransformer model, int? topSupportPoints = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        return new GibbsAttributionEstimator(model, new GibbsAttributionEstimator.Options { TopSupportPoints = topSupportPoints });
    }

    /// <summary>Creates a <see cref="GibbsAttributionEstimator"/> from <paramref name="options"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="model">The trained Hopf–Cole prediction transformer to explain.</param>
    /// <param name="options">k, the feature and id columns (an id column is read from the data Fit gets, which must then be the training data).</param>
    public static GibbsAttributionEstimator GibbsAttribution(this TransformsCatalog catalog, HopfColePredictionTransformer model, GibbsAttributionEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        return new GibbsAttributionEstimator(model, options);
    }

    /// <summary>
    /// Creates a <see cref="HopfColeFeaturizerEstimator"/>: support points placed on training rows without labels, and
    /// per row their Gibbs weights (or log-sum-exp features) as a vector for ML.NET's own trainers.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The column written.</param>
    /// <param name="inputColumnName">The features read (a known-size vector of float); null for <paramref name="outputColumnName"/>'s default "Features".</param>
    /// <param name="numberOfSupportPoints">N, the support points.</param>
    /// <param name="viscosity">eps &gt; 0.</param>
    /// <param name="output">Gibbs weights (N slots) or log-sum-exp features (N + 1 slots).</param>
    /// <example>
    /// <code language="csharp">
    /// var pipeline = mlContext.Transforms.HopfColeFeaturizer("Soft", "Features", numberOfSupportPoints: 16)
    ///     .Append(mlContext.Transforms.Concatenate("Features", "Features", "Soft"))
    ///     .Append(mlContext.BinaryClassification.Trainers.SdcaLogisticRegression());
    /// </code>
    /// </example>
    public static HopfColeFeaturizerEstimator HopfColeFeaturizer(
        this TransformsCatalog catalog,
        string outputColumnName = "HopfColeFeatures",
        string? inputColumnName = null,
        int numberOfSupportPoints = 16,
        double viscosity = 1.0,
        HopfColeFeatures output = HopfColeFeatures.GibbsWeights)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeFeaturizerEstimator(new HopfColeFeaturizerEstimator.Options
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName ?? DefaultColumnNames.Features,
            NumberOfSupportPoints = numberOfSupportPoints,
            Viscosity = viscosity,
            Output = output,
        });
    }

    /// <summary>Creates a <see cref="HopfColeFeaturizerEstimator"/> from <paramref name="options"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, width, eps, output and seed.</param>
    public static HopfColeFeaturizerEstimator HopfColeFeaturizer(this TransformsCatalog catalog, HopfColeFeaturizerEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new HopfColeFeaturizerEstimator(options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over regression estimators: the engine's viscosity ensemble rule
    /// (Gibbs weights softmax(-L / eps), a logarithmic opinion pool, or log-sum-exp pooling) fitted on the members'
    /// out-of-fold scores, the members refitted on all rows (see its remarks). Uses this catalog's MLContext (its seed and log).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="estimators">The members: any ML.NET estimators (pipelines) of this task, each reading the same input.</param>
    /// <param name="viscosity">eps &gt;= 0 (0 keeps the best member alone, large eps weighs the members alike); null chooses it on the out-of-fold scores.</param>
    /// <param name="labelColumnName">The label the members' losses are measured on.</param>
    /// <param name="numberOfFolds">F &gt;= 2, the folds of the out-of-fold scores.</param>
    /// <param name="seed">The seed of the fold assignment; null uses the MLContext's.</param>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(
        this RegressionCatalog.RegressionTrainers catalog,
        IEnumerable<IEstimator<ITransformer>> estimators,
        double? viscosity = null,
        string labelColumnName = DefaultColumnNames.Label,
        int numberOfFolds = ViscosityEnsembleEstimator.DefaultNumberOfFolds,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(estimators);
        var options = new ViscosityEnsembleEstimator.Options { Estimators = [.. estimators], Viscosity = viscosity, LabelColumnName = labelColumnName, NumberOfFolds = numberOfFolds, Seed = seed };
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.Regression, options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over regression estimators from <paramref name="options"/>; with
    /// <c>Viscosity = null</c> (the default) eps is chosen on the out-of-fold scores (see <see cref="ViscosityEnsembleEstimator.Fit"/>).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="options">Members, eps or its candidates, combination, label, folds and seed.</param>
    /// <example>
    /// <code language="csharp">
    /// var ensemble = mlContext.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
    /// {
    ///     Estimators = [mlContext.Regression.Trainers.HopfCole(), otherPipeline],
    /// }).Fit(train);
    /// // ensemble.Combination and ensemble.Viscosity: what was chosen; ensemble.Search: the out-of-fold loss of every eps tried
    /// </code>
    /// </example>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(this RegressionCatalog.RegressionTrainers catalog, ViscosityEnsembleEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.Regression, options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over calibrated binary classification estimators: the engine's viscosity ensemble rule
    /// (Gibbs weights softmax(-L / eps), a logarithmic opinion pool, or log-sum-exp pooling) fitted on the members'
    /// out-of-fold scores, the members refitted on all rows (see its remarks). Uses this catalog's MLContext (its seed and log).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="estimators">The members: any ML.NET estimators (pipelines) of this task, each reading the same input.</param>
    /// <param name="viscosity">eps &gt;= 0 (0 keeps the best member alone, large eps weighs the members alike); null chooses it on the out-of-fold scores.</param>
    /// <param name="labelColumnName">The label the members' losses are measured on.</param>
    /// <param name="numberOfFolds">F &gt;= 2, the folds of the out-of-fold scores.</param>
    /// <param name="seed">The seed of the fold assignment; null uses the MLContext's.</param>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(
        this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        IEnumerable<IEstimator<ITransformer>> estimators,
        double? viscosity = null,
        string labelColumnName = DefaultColumnNames.Label,
        int numberOfFolds = ViscosityEnsembleEstimator.DefaultNumberOfFolds,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(estimators);
        var options = new ViscosityEnsembleEstimator.Options { Estimators = [.. estimators], Viscosity = viscosity, LabelColumnName = labelColumnName, NumberOfFolds = numberOfFolds, Seed = seed };
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.BinaryClassification, options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over calibrated binary classification estimators from <paramref name="options"/>; with
    /// <c>Viscosity = null</c> (the default) eps is chosen on the out-of-fold scores (see <see cref="ViscosityEnsembleEstimator.Fit"/>).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="options">Members, eps or its candidates, combination, label, folds and seed.</param>
    /// <example>
    /// <code language="csharp">
    /// var ensemble = mlContext.BinaryClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
    /// {
    ///     Estimators = [mlContext.BinaryClassification.Trainers.HopfCole(), otherPipeline],
    /// }).Fit(train);
    /// // ensemble.Combination and ensemble.Viscosity: what was chosen; ensemble.Search: the out-of-fold loss of every eps tried
    /// </code>
    /// </example>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, ViscosityEnsembleEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.BinaryClassification, options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over multiclass classification estimators: the engine's viscosity ensemble rule
    /// (Gibbs weights softmax(-L / eps), a logarithmic opinion pool, or log-sum-exp pooling) fitted on the members'
    /// out-of-fold scores, the members refitted on all rows (see its remarks). Uses this catalog's MLContext (its seed and log).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="estimators">The members: any ML.NET estimators (pipelines) of this task, each reading the same input.</param>
    /// <param name="viscosity">eps &gt;= 0 (0 keeps the best member alone, large eps weighs the members alike); null chooses it on the out-of-fold scores.</param>
    /// <param name="labelColumnName">The label the members' losses are measured on.</param>
    /// <param name="numberOfFolds">F &gt;= 2, the folds of the out-of-fold scores.</param>
    /// <param name="seed">The seed of the fold assignment; null uses the MLContext's.</param>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        IEnumerable<IEstimator<ITransformer>> estimators,
        double? viscosity = null,
        string labelColumnName = DefaultColumnNames.Label,
        int numberOfFolds = ViscosityEnsembleEstimator.DefaultNumberOfFolds,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(estimators);
        var options = new ViscosityEnsembleEstimator.Options { Estimators = [.. estimators], Viscosity = viscosity, LabelColumnName = labelColumnName, NumberOfFolds = numberOfFolds, Seed = seed };
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.MulticlassClassification, options);
    }

    /// <summary>
    /// Creates a <see cref="ViscosityEnsembleEstimator"/> over multiclass classification estimators from <paramref name="options"/>; with
    /// <c>Viscosity = null</c> (the default) eps is chosen on the out-of-fold scores (see <see cref="ViscosityEnsembleEstimator.Fit"/>).
    /// </summary>
    /// <param name="catalog">The trainers' catalog.</param>
    /// <param name="options">Members, eps or its candidates, combination, label, folds and seed.</param>
    /// <example>
    /// <code language="csharp">
    /// var ensemble = mlContext.MulticlassClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
    /// {
    ///     Estimators = [mlContext.MulticlassClassification.Trainers.HopfCole(), otherPipeline],
    /// }).Fit(train);
    /// // ensemble.Combination and ensemble.Viscosity: what was chosen; ensemble.Search: the out-of-fold loss of every eps tried
    /// </code>
    /// </example>
    public static ViscosityEnsembleEstimator ViscosityEnsemble(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, ViscosityEnsembleEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new ViscosityEnsembleEstimator(CatalogEnvironment.Of(catalog), HjMl.Models.ModelKind.MulticlassClassification, options);
    }

    private static TOptions Simple<TOptions>(TOptions options, string label, string features, string? weights, int supportPoints, double viscosity, int epochs)
        where TOptions : HopfColeTrainingOptions
    {
        options.LabelColumnName = label;
        options.FeatureColumnName = features;
        options.ExampleWeightColumnName = weights;
        options.NumberOfSupportPoints = supportPoints;
        options.Viscosity = viscosity;
        options.MaximumEpochs = epochs;
        return options;
    }
}
