using HjMl.MLNet.Columns;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// What <see cref="HopfColePredictionTransformer"/> saves in its place: OnnxTransformer running the model's saved graph
/// (<see cref="ScoringGraph"/>), then the few ML.NET stages that give the live transformer's columns
/// (<see cref="PredictionStages"/>): 2 stages for regression, 3 for binary, 6 for multiclass.
/// </summary>
internal static class PredictionSaveChain
{
    /// <summary>The settings <see cref="SavedStage"/> records for a prediction stage.</summary>
    public const string FeatureColumnSetting = "feature_column", TrainingRowsSetting = "training_rows";

    /// <summary>The saveable chain standing for <paramref name="transformer"/>.</summary>
    public static TransformerChain<ITransformer> For(HopfColePredictionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        if (model.Kind == ModelKind.MulticlassClassification)
        {
            RequireEveryClass(model, transformer.LabelKeys!);
        }

        string featureColumn = transformer.FeatureColumnName;

        // The one-slot output is named Score so that the identity's Score hides it, unless the features are called Score.
        string output = featureColumn == DefaultColumnNames.Score ? OnnxPipeline.Prefix + "score" : DefaultColumnNames.Score;
        string[] outputs = [];
        ModelProto proto = ScoringGraph.Build(model, featureColumn, (graph, values) => outputs = Outputs(graph, model, values, output, featureColumn));
        if (model.Kind == ModelKind.MulticlassClassification)
        {
            OnnxPipeline.AddSlotNames(proto, PredictionStages.Probabilities, transformer.LabelKeys!.Names);
        }

        SavedStage.Write(proto, SavedStage.Prediction, model, (FeatureColumnSetting, featureColumn), (TrainingRowsSetting, transformer.Model.NumberOfTrainingRows.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(featureColumn, model.InputDimension));
        chain.Add(OnnxPipeline.ApplyGraph(chain.Context, proto, outputs, [featureColumn], chain.Current));
        switch (model.Kind)
        {
            case ModelKind.Regression:
                PredictionStages.Regression(chain, output);
                break;
            case ModelKind.BinaryClassification:
                PredictionStages.BinaryFromMargin(chain, output);
                break;
            default:
                PredictionStages.Multiclass(chain, output, transformer.LabelKeys!.ClassIndexToKey);
                break;
        }

        return chain.ToChain();
    }

    // Regression: LabelMean + LabelScale (f_0 - f_1); binary: the margin f_0 - f_1 (each with the export's own nodes, so
    // the same float32 value); multiclass: softmax(f) and the index of the largest f (the first on ties, as HjMl), as a float.
    private static string[] Outputs(OnnxGraphBuilder graph, HopfColeModel model, string values, string output, string featureColumn)
    {
        string prefix = OnnxPipeline.Prefix;
        if (model.Kind == ModelKind.MulticlassClassification)
        {
            graph.Node("Softmax", PredictionStages.Probabilities, [values], Integer("axis", -1));
            string index = graph.Node("ArgMax", prefix + "class_index", [values], Integer("axis", 0), Integer("keepdims", 1), Integer("select_last_index", 0));
            graph.Node("Cast", output, [index], Integer("to", (long)DataType.Float));
            graph.Output(PredictionStages.Probabilities, DataType.Float, "Class probabilities softmax(f), in key order.", model.NumberOfClasses);
            graph.Output(output, DataType.Float, "The 0-based index of the largest f_k.", 1);
            return [PredictionStages.Probabilities, output];
        }

        graph.Node("Split", [prefix + "head0_score", prefix + "head1_score"], [values], Integer("axis", 0));
        string margin = graph.Node("Sub", model.Kind == ModelKind.Regression ? prefix + "margin" : output, [prefix + "head0_score", prefix + "head1_score"]);
        if (model.Kind == ModelKind.BinaryClassification)
        {
            graph.Output(output, DataType.Float, "The margin f_0 - f_1.", 1);
            return PredictionStages.BinaryPlaceholders(graph, output, featureColumn);
        }

        string scaled = graph.Node("Mul", prefix + "scaled_margin", [margin, graph.Floats(prefix + "label_scale", [(float)model.LabelScale])]);
        graph.Node("Add", output, [scaled, graph.Floats(prefix + "label_mean", [(float)model.LabelMean])]);
        graph.Output(output, DataType.Float, "LabelMean + LabelScale * (f_0 - f_1).", 1);
        return [output];
    }

    // The saved Score has one slot per key, in key order, so every key must be a class the model has, in that order.
    private static void RequireEveryClass(HopfColeModel model, LabelKeys keys)
    {
        if (model.NumberOfClasses != keys.Count)
        {
            throw new NotSupportedException($"The label's key type has {keys.Count} values but only {model.NumberOfClasses} occurred in the training data; a saved model's Score would have {model.NumberOfClasses} slots instead of {keys.Count}. Train on data with every class, or map the label to keys on the training data only.");
        }

        for (int c = 0; c < model.NumberOfClasses; c++)
        {
            if (model.ClassLabels[c] != c)
            {
                throw new InvalidOperationException($"Class {c} of the model has label {model.ClassLabels[c]}; a Hopf–Cole model trained by ML.NET has the 0-based keys in order.");
            }
        }
    }
}
