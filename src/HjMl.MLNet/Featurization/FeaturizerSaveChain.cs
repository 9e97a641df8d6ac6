using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Featurization;

/// <summary>What <see cref="HopfColeFeaturizerTransformer"/> saves in its place (see <see cref="OnnxPipeline"/>).</summary>
internal static class FeaturizerSaveChain
{
    private const string Prefix = OnnxPipeline.Prefix;

    /// <summary>
    /// The saveable chain standing for a featuriser: HjMl's graph of its layer with one output, head 0's Gibbs weights
    /// (the GibbsWeights explanation output) or its log-weights eps (scaled logit - log sum) followed by the head's value,
    /// copied to the output column.
    /// </summary>
    public static TransformerChain<ITransformer> For(HopfColeFeaturizerTransformer transformer)
    {
        HopfColeModel model = transformer.Model;
        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(transformer.InputColumnName, model.InputDimension));
        MLContext context = chain.Context;
        string output = transformer.OutputColumnName;
        var exportOptions = new OnnxExportOptions { IncludeExplanations = true };
        chain.Add(OnnxPipeline.Apply(context, model, exportOptions, transformer.InputColumnName, [output], chain.Current, out _, graph => SelectFeatures(graph, transformer)));
        chain.Fit(context.Transforms.CopyColumns(output, Prefix + output));
        chain.Fit(context.Transforms.DropColumns(Prefix + output));
        return chain.ToChain();
    }

    private static void SelectFeatures(GraphProto graph, HopfColeFeaturizerTransformer transformer)
    {
        var builder = new OnnxGraphBuilder("features", string.Empty);
        foreach (string existing in new[] { OnnxExport.GibbsWeightsName, "scaled_logits", "log_sum", "head_scores" })
        {
            builder.Input(existing, TensorProto.Types.DataType.Float, string.Empty);
        }

        string head = builder.Int64s("features_head", [0]);
        string name = Prefix + OnnxPipeline.Selected + transformer.OutputColumnName;
        if (transformer.Output == HopfColeFeatures.GibbsWeights)
        {
            builder.Node("Gather", name, [OnnxExport.GibbsWeightsName, head], OnnxGraphBuilder.Integer("axis", 1));
        }
        else
        {
            float viscosity = (float)transformer.Model.Viscosity;
            string logWeights = builder.Node("Mul", "features_log_weights", [builder.Node("Sub", "features_scaled_log_weights", ["scaled_logits", "log_sum"]), builder.Floats("features_viscosity", [viscosity])]);
            string headLogWeights = builder.Node("Gather", "features_head_log_weights", [logWeights, head], OnnxGraphBuilder.Integer("axis", 1));
            string value = builder.Node("Gather", "features_head_value", ["head_scores", builder.Int64s("features_head_column", [0], 1)], OnnxGraphBuilder.Integer("axis", 1));
            builder.Node("Concat", name, [headLogWeights, value], OnnxGraphBuilder.Integer("axis", 1));
        }

        builder.Output(name, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, transformer.OutputSize);
        OnnxPipeline.ReplaceOutputs(graph, builder, "features_");
    }
}
