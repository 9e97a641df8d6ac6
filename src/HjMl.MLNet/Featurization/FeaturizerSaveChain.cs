using System.Globalization;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Featurization;

/// <summary>
/// What <see cref="HopfColeFeaturizerTransformer"/> saves in its place: one OnnxTransformer stage whose graph writes the
/// output column itself, with its slot names (a copy and a drop follow only when the output column is the input column).
/// </summary>
internal static class FeaturizerSaveChain
{
    /// <summary>The settings <see cref="SavedStage"/> records for a featuriser stage.</summary>
    public const string InputSetting = "input_column", OutputSetting = "output_column", FeaturesSetting = "features";

    /// <summary>
    /// The saveable chain standing for a featuriser: head 0's scaled logits a_j = z_j / eps (<see cref="ScoringGraph.ScaledLogits"/>),
    /// guarded as predictions are (<see cref="ScoringGraph.Guard"/>), then their Softmax, the Gibbs weights pi_j, or
    /// eps LogSoftmax(a)_j = z_j - f (the log-weights) followed by f = eps ReduceLogSumExp(a) (THEORY.md section 3).
    /// </summary>
    public static TransformerChain<ITransformer> For(HopfColeFeaturizerTransformer transformer)
    {
        HopfColeModel model = transformer.Model;
        string input = transformer.InputColumnName;
        string output = transformer.OutputColumnName == input ? OnnxPipeline.Prefix + "features" : transformer.OutputColumnName;
        if (output.StartsWith(OnnxPipeline.Prefix, StringComparison.Ordinal) && output != OnnxPipeline.Prefix + "features")
        {
            throw new NotSupportedException($"The featuriser's output column is named '{output}'; names starting with '{OnnxPipeline.Prefix}' are reserved for HjMl's saved graph.");
        }

        ModelProto proto = Graph(transformer, output);
        OnnxPipeline.AddSlotNames(proto, output, transformer.SlotNames());
        SavedStage.Write(proto, SavedStage.Featurizer, model, (InputSetting, input), (OutputSetting, transformer.OutputColumnName), (FeaturesSetting, transformer.Output.ToString()));
        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(input, model.InputDimension));
        chain.Add(OnnxPipeline.ApplyGraph(chain.Context, proto, [output], [input], chain.Current));
        if (output != transformer.OutputColumnName)
        {
            chain.Fit(chain.Context.Transforms.CopyColumns(transformer.OutputColumnName, output));
            chain.Fit(chain.Context.Transforms.DropColumns(output));
        }

        return chain.ToChain();
    }

    private static ModelProto Graph(HopfColeFeaturizerTransformer transformer, string output)
    {
        HopfColeModel model = transformer.Model;
        int pieces = model.Layer.NumberOfPieces;
        string prefix = OnnxPipeline.Prefix;
        var graph = new OnnxGraphBuilder("hjml_saved_featurizer", "A HjMl Hopf–Cole featuriser as ML.NET's OnnxTransformer runs it, one row at a time.");
        graph.Input(transformer.InputColumnName, DataType.Float, "Raw features, float32 [1, d].", 1, model.InputDimension);
        string logits = ScoringGraph.ScaledLogits(graph, model, transformer.InputColumnName, heads: 1)
            ?? throw new NotSupportedException($"The featuriser's weights over eps = {model.Viscosity.ToString("R", CultureInfo.InvariantCulture)} leave float32's range, so its saved graph cannot hold them.");
        string guarded = ScoringGraph.Guard(graph, logits, pieces);
        if (transformer.Output == HopfColeFeatures.GibbsWeights)
        {
            graph.Node("Softmax", output, [guarded], Integer("axis", -1));
        }
        else
        {
            string viscosity = graph.Floats(prefix + "viscosity", [(float)model.Viscosity]);
            string logWeights = graph.Node("Mul", prefix + "log_weights", [graph.Node("LogSoftmax", prefix + "scaled_log_weights", [guarded], Integer("axis", -1)), viscosity]);
            string logSum = graph.Node("ReduceLogSumExp", prefix + "log_sum", [guarded], Integers("axes", 0), Integer("keepdims", 1));
            string value = graph.Node("Mul", prefix + "head_value", [logSum, viscosity]);
            graph.Node("Concat", output, [logWeights, value], Integer("axis", 0));
        }

        graph.Output(output, DataType.Float, "The featuriser's output.", transformer.OutputSize);
        return ScoringGraph.Model(graph.Graph);
    }
}
