using HjMl.MLNet.Persistence;
using HjMl.Onnx;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Relaxation;

/// <summary>
/// What <see cref="AdrFeaturizerTransformer"/> saves in its place: one OnnxTransformer stage whose graph (HjMl's
/// relaxation export, one row at a time) writes the output column itself; a copy and a drop follow only when the
/// output column is the input column.
/// </summary>
internal static class AdrFeaturizerSaveChain
{
    public static TransformerChain<ITransformer> For(AdrFeaturizerTransformer transformer)
    {
        RelaxationNetwork network = transformer.Network;
        int n = network.InputDimension;
        string input = transformer.InputColumnName;
        string output = transformer.OutputColumnName == input ? OnnxPipeline.Prefix + "adr_features" : transformer.OutputColumnName;
        if (output.StartsWith(OnnxPipeline.Prefix, StringComparison.Ordinal) && output != OnnxPipeline.Prefix + "adr_features")
        {
            throw new NotSupportedException($"The ADR featuriser's output column is named '{output}'; names starting with '{OnnxPipeline.Prefix}' are reserved for HjMl's saved graph.");
        }

        // OnnxTransformer gives a [1, n] output as a vector of n only when the graph declares it [n].
        var graph = new OnnxGraphBuilder("hjml_saved_adr_featurizer", "A HjMl ADR featuriser as ML.NET's OnnxTransformer runs it, one row at a time.");
        graph.Input(input, DataType.Float, $"Features in grid order, float32 [1, {n}].", 1, n);
        string terminal = RelaxationOnnxExport.Steps(graph, network, input, OnnxPipeline.Prefix + "relaxation.");
        graph.Node("Reshape", output, [terminal, graph.Int64s(OnnxPipeline.Prefix + "flat", [n], 1)]);
        graph.Output(output, DataType.Float, "The terminal state z_L.", n);
        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(input, n));
        chain.Add(OnnxPipeline.ApplyGraph(chain.Context, ScoringGraph.Model(graph.Graph), [output], [input], chain.Current));
        if (output != transformer.OutputColumnName)
        {
            chain.Fit(chain.Context.Transforms.CopyColumns(transformer.OutputColumnName, output));
            chain.Fit(chain.Context.Transforms.DropColumns(output));
        }

        return chain.ToChain();
    }
}
