using HjMl.MLNet.Columns;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// The ML.NET stages that follow a saved graph and give a prediction's columns their ML.NET types, in the fewest stages
/// ML.NET's public transforms allow. OnnxTransformer only writes vectors, and ML.NET has no public transform from a
/// one-slot vector to a scalar, so each scalar comes from a linear prediction transformer trained to be exactly the
/// identity (see <see cref="OnnxPipeline.Identity"/> and <see cref="BinaryIdentity"/>); the graph names its one-slot
/// output Score, so the identity's Score hides it.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>task</term><description>graph outputs, then stages</description></listheader>
/// <item><term>regression</term><description>Score [1]; regression identity (Score): 1 stage.</description></item>
/// <item><term>binary</term><description>Score [1] = the margin, and the placeholders of <see cref="BinaryPlaceholders"/>;
/// binary identity (Score, PredictedLabel = Score &gt; 0), then ML.NET's fixed Platt calibrator with slope -1 and offset
/// 0 (Probability = 1 / (1 + exp(-Score)) = sigmoid(margin), as the model's): 2 stages.</description></item>
/// <item><term>multiclass</term><description><see cref="Probabilities"/> [K] (slot names in the graph) and Score [1], the
/// 0-based class index; regression identity, the index mapped to the label's value, the probabilities copied to Score,
/// the value mapped to the label's key (LabelKeys.ClassIndexToKey), and a drop: 5 stages.</description></item>
/// </list>
/// </remarks>
internal static class PredictionStages
{
    /// <summary>The graph output holding multiclass probabilities, float32 [K].</summary>
    public const string Probabilities = OnnxPipeline.Prefix + "probabilities";

    private const string ClassValue = OnnxPipeline.Prefix + "value";
    private const string IdentityLabel = "Label";

    /// <summary>Regression: Score from the graph's one-slot <paramref name="output"/>.</summary>
    public static void Regression(SaveChain chain, string output)
    {
        chain.Add(OnnxPipeline.Identity(chain.Context, output));
        DropUnlessHidden(chain, output);
    }

    /// <summary>
    /// Adds one-slot graph outputs named Probability and PredictedLabel (copies of <paramref name="margin"/>, never read)
    /// unless <paramref name="taken"/> is one of those names, and returns the graph's outputs in order. ML.NET puts a
    /// column after the last column of the same name, so the binary identity's PredictedLabel and the calibrator's
    /// Probability take these places: Score, Probability, PredictedLabel, the live transformer's order, without a stage.
    /// </summary>
    public static string[] BinaryPlaceholders(OnnxGraphBuilder graph, string margin, string taken)
    {
        string[] placeholders = [DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel];
        if (placeholders.Contains(taken))
        {
            return [margin];
        }

        foreach (string placeholder in placeholders)
        {
            graph.Node("Identity", placeholder, [margin]);
            graph.Output(placeholder, TensorProto.Types.DataType.Float, "A placeholder that fixes the column order; the stages after the graph write this column.", 1);
        }

        return [margin, .. placeholders];
    }

    /// <summary>Binary classification from the graph's one-slot margin <paramref name="output"/>.</summary>
    public static void BinaryFromMargin(SaveChain chain, string output)
    {
        MLContext context = chain.Context;
        chain.Add(BinaryIdentity(context, output));
        chain.Fit(context.BinaryClassification.Calibrators.Platt(slope: -1, offset: 0));
        DropUnlessHidden(chain, output);
    }

    /// <summary>
    /// Multiclass classification from the graph's <see cref="Probabilities"/> and one-slot class index
    /// <paramref name="output"/>; <paramref name="classIndexToKey"/> gives the label's two mapping stages from a class
    /// index column and a value column (LabelKeys.ClassIndexToKey).
    /// </summary>
    public static void Multiclass(SaveChain chain, string output, Func<MLContext, string, string, IEstimator<ITransformer>[]> classIndexToKey)
    {
        MLContext context = chain.Context;
        chain.Add(OnnxPipeline.Identity(context, output));

        // The index is mapped to the label's value before the probabilities take Score's name, and to the key after,
        // so Score comes before PredictedLabel as in the live transformer.
        IEstimator<ITransformer>[] toKey = classIndexToKey(context, DefaultColumnNames.Score, ClassValue);
        chain.Fit(toKey[0]);
        chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Probabilities));
        chain.Fit(toKey[1]);
        string[] dropped = output == DefaultColumnNames.Score ? [Probabilities, ClassValue] : [Probabilities, ClassValue, output];
        chain.Fit(context.Transforms.DropColumns(dropped));
    }

    /// <summary>
    /// A binary prediction transformer reading the one-slot vector column <paramref name="column"/> with weight exactly 1
    /// and bias exactly 0: Score is that slot's float and PredictedLabel is Score &gt; 0. ML.NET's averaged perceptron
    /// without averaging (hinge loss, learning rate 1/2, no decay or regularisation, no shuffling) gets there exactly from
    /// (1, true): margin 0 &lt; 1, so w = b = 1/2; then (-1, false): margin 0 &lt; 1, so w = 1, b = 0; every step is a
    /// power of two, so nothing rounds.
    /// </summary>
    public static ITransformer BinaryIdentity(MLContext context, string column)
    {
        var examples = context.Data.LoadFromEnumerable([new IdentityExample { Value = [1f], Label = true }, new IdentityExample { Value = [-1f], Label = false }]);
        var trainer = context.BinaryClassification.Trainers.AveragedPerceptron(new AveragedPerceptronTrainer.Options
        {
            FeatureColumnName = column,
            LabelColumnName = IdentityLabel,
            LearningRate = 0.5f,
            DecreaseLearningRate = false,
            L2Regularization = 0,
            NumberOfIterations = 1,
            Shuffle = false,
            Averaged = false,
            LazyUpdate = false,
        });
        IDataView renamed = context.Transforms.CopyColumns(column, nameof(IdentityExample.Value)).Fit(examples).Transform(examples);
        BinaryPredictionTransformer<LinearBinaryModelParameters> identity = trainer.Fit(renamed);
        IReadOnlyList<float> weights = identity.Model.Weights;
        if (weights.Count != 1 || weights[0] != 1f || identity.Model.Bias != 0f)
        {
            throw new InvalidOperationException($"ML.NET's averaged perceptron gave weights [{string.Join(", ", weights)}] and bias {identity.Model.Bias} instead of exactly [1] and 0; this ML.NET cannot save HjMl models through ONNX.");
        }

        return identity;
    }

    // A graph output not named Score stays visible after the identity: drop it.
    private static void DropUnlessHidden(SaveChain chain, string output)
    {
        if (output != DefaultColumnNames.Score)
        {
            chain.Fit(chain.Context.Transforms.DropColumns(output));
        }
    }

    /// <summary>A training example of <see cref="BinaryIdentity"/>.</summary>
    public sealed class IdentityExample
    {
        /// <summary>The feature.</summary>
        [VectorType(1)]
        public float[] Value { get; set; } = [];

        /// <summary>The label.</summary>
        public bool Label { get; set; }
    }
}
