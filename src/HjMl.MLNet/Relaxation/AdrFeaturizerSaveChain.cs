using System.Globalization;
using System.Runtime.InteropServices;
using HjMl.MLNet.Persistence;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.MLNet.Relaxation;

/// <summary>
/// What <see cref="AdrFeaturizerTransformer"/> saves in its place: one OnnxTransformer stage whose graph (HjMl's
/// relaxation export, one row at a time) writes the output column itself; a copy and a drop follow only when the
/// output column is the input column. The graph's metadata records the network itself (<see cref="SavedStage"/>), its
/// parameters as the doubles' bytes, so LoadWithHopfCole gives back the in-memory transformer bit for bit.
/// </summary>
internal static class AdrFeaturizerSaveChain
{
    /// <summary>The <see cref="SavedStage"/> kind of an ADR featuriser stage.</summary>
    public const string Kind = "adr_featurizer";

    private const string InputSetting = "input_column", OutputSetting = "output_column", DepthSetting = "depth", MixingSetting = "mixing",
        GridHeightSetting = "grid_height", GridWidthSetting = "grid_width", MomentTileSetting = "moment_tile", ReadoutSetting = "readout",
        OutputsSetting = "outputs", ActivationSetting = "activation", ViscositySetting = "viscosity", RelaxationFactorSetting = "relaxation_factor",
        ParametersSetting = "parameters";

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
        ModelProto proto = ScoringGraph.Model(graph.Graph);
        Record(proto, transformer);
        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(input, n));
        chain.Add(OnnxPipeline.ApplyGraph(chain.Context, proto, [output], [input], chain.Current));
        if (output != transformer.OutputColumnName)
        {
            chain.Fit(chain.Context.Transforms.CopyColumns(transformer.OutputColumnName, output));
            chain.Fit(chain.Context.Transforms.DropColumns(output));
        }

        return chain.ToChain();
    }

    /// <summary>The transformer a saved stage of kind <see cref="Kind"/> records.</summary>
    /// <exception cref="InvalidDataException">A setting is missing or out of range, or the parameters are damaged.</exception>
    public static AdrFeaturizerTransformer Restore(SavedStage stage)
    {
        try
        {
            byte[] bytes = Convert.FromBase64String(stage.Text(ParametersSetting));
            if (bytes.Length % sizeof(double) != 0)
            {
                throw new InvalidDataException($"The saved {Kind} stage's parameters have {bytes.Length} bytes, not a whole number of doubles.");
            }

            // The bytes are little-endian doubles (Record); MemoryMarshal reads them as such on every platform .NET runs HjMl on.
            double[] parameters = MemoryMarshal.Cast<byte, double>(bytes).ToArray();
            var grid = new GridShape(stage.Integer(GridHeightSetting), stage.Integer(GridWidthSetting));
            var shape = new RelaxationShape(
                grid.Length,
                stage.Integer(DepthSetting),
                Enum.Parse<RelaxationMixing>(stage.Text(MixingSetting)),
                grid,
                stage.Integer(MomentTileSetting),
                Enum.Parse<RelaxationReadout>(stage.Text(ReadoutSetting)),
                stage.Integer(OutputsSetting));
            var network = new RelaxationNetwork(shape, Enum.Parse<RelaxationActivation>(stage.Text(ActivationSetting)), stage.Number(ViscositySetting), stage.Number(RelaxationFactorSetting), parameters);
            return new AdrFeaturizerTransformer(network, stage.Text(InputSetting), stage.Text(OutputSetting));
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"The saved {Kind} stage does not describe a valid network: {exception.Message}", exception);
        }
    }

    private static void Record(ModelProto proto, AdrFeaturizerTransformer transformer)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Saving an ADR featuriser writes its parameters as little-endian doubles; this platform is big-endian.");
        }

        RelaxationNetwork network = transformer.Network;
        RelaxationShape shape = network.Shape;
        SavedStage.Write(
            proto,
            Kind,
            null,
            (InputSetting, transformer.InputColumnName),
            (OutputSetting, transformer.OutputColumnName),
            (DepthSetting, Integer(shape.Depth)),
            (MixingSetting, shape.Mixing.ToString()),
            (GridHeightSetting, Integer(shape.Grid.Height)),
            (GridWidthSetting, Integer(shape.Grid.Width)),
            (MomentTileSetting, Integer(shape.MomentTile)),
            (ReadoutSetting, shape.Readout.ToString()),
            (OutputsSetting, Integer(shape.Outputs)),
            (ActivationSetting, network.Activation.ToString()),
            (ViscositySetting, SavedStage.Format(network.Viscosity)),
            (RelaxationFactorSetting, SavedStage.Format(network.RelaxationFactor)),
            (ParametersSetting, Convert.ToBase64String(MemoryMarshal.AsBytes(network.Parameters))));
    }

    private static string Integer(int value) => value.ToString(CultureInfo.InvariantCulture);
}
