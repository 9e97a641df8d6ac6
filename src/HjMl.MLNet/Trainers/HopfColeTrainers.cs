using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace HjMl.MLNet.Trainers;

/// <summary>
/// Trains a Hopf–Cole regression model: the difference of two log-sum-exp heads, f_0(x) - f_1(x), rescaled to the label.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// To create this trainer, use [HopfCole](xref:HjMl.MLNet.HopfColeCatalog.HopfCole(Microsoft.ML.RegressionCatalog.RegressionTrainers,System.String,System.String,System.String,System.Int32,System.Double,System.Int32))
/// or HopfCole(Options).
///
/// ### Input and Output Columns
/// | Input Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Label` | <xref:System.Single> or <xref:System.Double> | The value to predict. |
/// | `Features` | Known-sized vector of <xref:System.Single> | The features. |
///
/// | Output Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Score` | <xref:System.Single> | LabelMean + LabelScale * (f_0(x) - f_1(x)). |
///
/// ### Trainer Characteristics
/// | | |
/// | -- | -- |
/// | Machine learning task | Regression |
/// | Is normalization required? | No (HjMl standardises features and stores the scaling in the model) |
/// | Is caching required? | No (the data is read once into memory) |
/// | Required NuGet in addition to Microsoft.ML | HjMl.MLNet, Microsoft.ML.OnnxTransformer |
/// | Exportable to ONNX | Yes, at every Depth: HjMl's exporter (OnnxExport); Model.Save stores the pipeline through it |
///
/// ### Algorithm Details
/// Each head is an LSE layer f(x) = eps * log sum_j exp((w_j . x + b_j) / eps), the Hopf–Cole solution of the viscous
/// Hamilton–Jacobi equation at x (THEORY.md section 1). Support points start on training rows (k-means++), then squared
/// or Huber loss is minimised with exact gradients by L-BFGS or Adam, with early stopping on a held-out fraction.
/// With Depth &gt; 0 the heads read the terminal state of a residual Gibbs flow of that many Euler steps (section 9).
/// ]]></format>
/// </remarks>
public sealed class HopfColeRegressionTrainer : ITrainerEstimator<HopfColePredictionTransformer, HopfColeModelParameters>
{
    private readonly IHost host;
    private readonly int? contextSeed;

    internal HopfColeRegressionTrainer(IHostEnvironment environment, Options options)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        options.ToEngineOptions(ModelKind.Regression, options.Seed ?? 0);
        contextSeed = CatalogEnvironment.Seed(environment);
        host = environment.Register(nameof(HopfColeRegressionTrainer));
        TrainerOptions = options;
    }

    /// <summary>The options; the trainer reads them when <see cref="Fit"/> runs.</summary>
    public Options TrainerOptions { get; }

    /// <summary>No normalisation or caching needed (see the remarks).</summary>
    public TrainerInfo Info { get; } = MLNetConstruction.TrainerInfo();

    /// <summary>Trains on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, or a value is not finite (the message names it).</exception>
    public HopfColePredictionTransformer Fit(IDataView input) => HopfColeFitting.Fit(host, contextSeed, input, TrainerOptions, ModelKind.Regression);

    /// <summary>The input shape with <c>Score</c> appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => HopfColeFitting.OutputSchema(inputSchema, TrainerOptions, ModelKind.Regression);

    /// <summary>Options of <see cref="HopfColeRegressionTrainer"/>.</summary>
    public sealed class Options : HopfColeTrainingOptions
    {
        /// <summary>The loss on the residual, in standardised label units.</summary>
        public RegressionLoss Loss { get; set; } = RegressionLoss.Squared;

        /// <summary>The Huber threshold, in standardised label units.</summary>
        public double HuberDelta { get; set; } = 1.0;

        internal override HopfColeTrainerOptions ToEngineOptions(ModelKind kind, int seed)
        {
            HopfColeTrainerOptions options = base.ToEngineOptions(kind, seed) with { RegressionLoss = Loss, HuberDelta = HuberDelta };
            options.Validate();
            return options;
        }
    }
}

/// <summary>
/// Trains a Hopf–Cole binary classifier: the margin of two log-sum-exp heads, f_0(x) - f_1(x), under logistic loss.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// To create this trainer, use HopfCole or HopfCole(Options) on `BinaryClassification.Trainers`.
///
/// ### Input and Output Columns
/// | Input Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Label` | <xref:System.Boolean> | true for the positive class. |
/// | `Features` | Known-sized vector of <xref:System.Single> | The features. |
///
/// | Output Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Score` | <xref:System.Single> | The margin f_0(x) - f_1(x) (head 0 is the positive class). |
/// | `Probability` | <xref:System.Single> | sigmoid(Score), trained by logistic loss; ML.NET's Platt calibrator can follow to recalibrate it. |
/// | `PredictedLabel` | <xref:System.Boolean> | Score &gt; 0. |
///
/// ### Trainer Characteristics
/// | | |
/// | -- | -- |
/// | Machine learning task | Binary classification |
/// | Is normalization required? | No (HjMl standardises features and stores the scaling in the model) |
/// | Is caching required? | No |
/// | Required NuGet in addition to Microsoft.ML | HjMl.MLNet, Microsoft.ML.OnnxTransformer |
/// | Exportable to ONNX | Yes, at every Depth: HjMl's exporter (OnnxExport); Model.Save stores the pipeline through it |
///
/// ### Algorithm Details
/// Two LSE heads f_k(x) = eps * log sum_j exp((w_kj . x + b_kj) / eps) (THEORY.md section 1), support points started on
/// rows of their class (k-means++); the margin is certified robust within r* of THEORY.md section 5.
/// With Depth &gt; 0 the heads read the terminal state of a residual Gibbs flow of that many Euler steps (section 9).
/// ]]></format>
/// </remarks>
public sealed class HopfColeBinaryTrainer : ITrainerEstimator<HopfColePredictionTransformer, HopfColeModelParameters>
{
    private readonly IHost host;
    private readonly int? contextSeed;

    internal HopfColeBinaryTrainer(IHostEnvironment environment, Options options)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        options.ToEngineOptions(ModelKind.BinaryClassification, options.Seed ?? 0);
        contextSeed = CatalogEnvironment.Seed(environment);
        host = environment.Register(nameof(HopfColeBinaryTrainer));
        TrainerOptions = options;
    }

    /// <summary>The options; the trainer reads them when <see cref="Fit"/> runs.</summary>
    public Options TrainerOptions { get; }

    /// <summary>No normalisation or caching needed (see the remarks).</summary>
    public TrainerInfo Info { get; } = MLNetConstruction.TrainerInfo();

    /// <summary>Trains on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, a value is not finite, or one class is absent.</exception>
    public HopfColePredictionTransformer Fit(IDataView input) => HopfColeFitting.Fit(host, contextSeed, input, TrainerOptions, ModelKind.BinaryClassification);

    /// <summary>The input shape with <c>Score</c>, <c>Probability</c> and <c>PredictedLabel</c> appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => HopfColeFitting.OutputSchema(inputSchema, TrainerOptions, ModelKind.BinaryClassification);

    /// <summary>Options of <see cref="HopfColeBinaryTrainer"/>.</summary>
    public sealed class Options : HopfColeTrainingOptions
    {
    }
}

/// <summary>
/// Trains a Hopf–Cole multiclass classifier: one log-sum-exp head per class under softmax cross-entropy.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// To create this trainer, use HopfCole or HopfCole(Options) on `MulticlassClassification.Trainers`.
///
/// ### Input and Output Columns
/// | Input Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Label` | [key type](xref:Microsoft.ML.Data.KeyDataViewType) | The class (use MapValueToKey first). |
/// | `Features` | Known-sized vector of <xref:System.Single> | The features. |
///
/// | Output Column Name | Column Type | Description |
/// | -- | -- | -- |
/// | `Score` | Vector of <xref:System.Single> | softmax(f_1(x), ..., f_K(x)), one slot per key, slot names the label's key values. |
/// | `PredictedLabel` | [key type](xref:Microsoft.ML.Data.KeyDataViewType) | The label's key type: the class of the largest head. |
///
/// ### Trainer Characteristics
/// | | |
/// | -- | -- |
/// | Machine learning task | Multiclass classification |
/// | Is normalization required? | No (HjMl standardises features and stores the scaling in the model) |
/// | Is caching required? | No |
/// | Required NuGet in addition to Microsoft.ML | HjMl.MLNet, Microsoft.ML.OnnxTransformer |
/// | Exportable to ONNX | Yes, at every Depth: HjMl's exporter (OnnxExport); Model.Save stores the pipeline through it |
///
/// ### Algorithm Details
/// One LSE head per class (THEORY.md section 1), support points started on rows of that class; the certified radius
/// of THEORY.md section 5 takes the minimum over rival classes.
/// With Depth &gt; 0 the heads read the terminal state of a residual Gibbs flow of that many Euler steps (section 9).
/// ]]></format>
/// </remarks>
public sealed class HopfColeMulticlassTrainer : ITrainerEstimator<HopfColePredictionTransformer, HopfColeModelParameters>
{
    private readonly IHost host;
    private readonly int? contextSeed;

    internal HopfColeMulticlassTrainer(IHostEnvironment environment, Options options)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        options.ToEngineOptions(ModelKind.MulticlassClassification, options.Seed ?? 0);
        contextSeed = CatalogEnvironment.Seed(environment);
        host = environment.Register(nameof(HopfColeMulticlassTrainer));
        TrainerOptions = options;
    }

    /// <summary>The options; the trainer reads them when <see cref="Fit"/> runs.</summary>
    public Options TrainerOptions { get; }

    /// <summary>No normalisation or caching needed (see the remarks).</summary>
    public TrainerInfo Info { get; } = MLNetConstruction.TrainerInfo();

    /// <summary>Trains on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, a value is not finite, or a key is missing.</exception>
    public HopfColePredictionTransformer Fit(IDataView input) => HopfColeFitting.Fit(host, contextSeed, input, TrainerOptions, ModelKind.MulticlassClassification);

    /// <summary>The input shape with <c>Score</c> and <c>PredictedLabel</c> appended.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => HopfColeFitting.OutputSchema(inputSchema, TrainerOptions, ModelKind.MulticlassClassification);

    /// <summary>Options of <see cref="HopfColeMulticlassTrainer"/>.</summary>
    public sealed class Options : HopfColeTrainingOptions
    {
    }
}
