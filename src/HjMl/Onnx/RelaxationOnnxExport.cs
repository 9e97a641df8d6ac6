using System.Globalization;
using Google.Protobuf;
using HjMl.Onnx.Protocol;
using HjMl.Persistence;
using HjMl.Relaxation;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Onnx;

/// <summary>
/// Exports a <see cref="RelaxationNetwork"/> as an ONNX model (IR version 8, opset 17) computing in float32 what the
/// network computes in double (THEORY.md section 10).
/// </summary>
/// <remarks>
/// <para><b>Input.</b> <c>Features</c>: float32 [N, n], N a symbolic batch dimension.</para>
/// <para><b>Outputs.</b> <c>State</c>: float32 [N, n], the terminal state z_L; with a linear or softmax read-out also
/// <c>Score</c>: float32 [N, K], the outputs or class probabilities.</para>
/// <para><b>Graph.</b> Per step: a dense step is MatMul and Sub; an ADR step is the stencil as Pad + Slice + Mul + Add on
/// the flat row: per axis of stride s (1 along a row, the width across rows), the row is padded with s zeros at each
/// end and sliced at offsets 0 and 2s to give z_{q - e} and z_{q + e}; each is multiplied by its per-site coefficient
/// ((M2 - M1) / 2 and (M2 + M1) / 2, set to 0 where the neighbour lies beyond the grid, which also stops a row's end
/// from reading the next row) and added to (M0 - sum M2) z. Softplus is built max-shifted as Relu(a) + eps
/// log(1 + exp(-|a| / eps)); then z = (1 - omega) z + omega sigma(a).</para>
/// </remarks>
public static class RelaxationOnnxExport
{
    /// <summary>The input: float32 [N, n].</summary>
    public const string FeaturesName = "Features";

    /// <summary>The terminal state output: float32 [N, n].</summary>
    public const string StateName = "State";

    /// <summary>The read-out's output: float32 [N, K].</summary>
    public const string ScoreName = "Score";

    /// <summary>The serialised ONNX model for <paramref name="network"/>.</summary>
    /// <exception cref="NotSupportedException">A parameter does not fit float32 (the message names it).</exception>
    public static byte[] ToBytes(RelaxationNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return Build(network).ToByteArray();
    }

    /// <summary>Writes the ONNX model for <paramref name="network"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="NotSupportedException">A parameter does not fit float32 (the message names it).</exception>
    public static void Save(RelaxationNetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(network);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The model with input <paramref name="input"/> and the state as <paramref name="state"/>, batch dimension <paramref name="batch"/> (a symbol or a size).</summary>
    internal static ModelProto Build(RelaxationNetwork network, string input = FeaturesName, string state = StateName, object? batch = null, bool readout = true)
    {
        batch ??= OnnxExport.BatchDimension;
        RelaxationShape shape = network.Shape;
        int n = shape.InputDimension;
        var graph = new OnnxGraphBuilder("hjml_relaxation", $"HjMl relaxation network: {shape.Description}, {network.Activation}, omega = {Text(network.RelaxationFactor)}.");
        graph.Input(input, DataType.Float, $"Features, float32 [N, {n}], in grid order ({shape.Grid}).", batch, n);
        string terminal = Steps(graph, network, input, "relaxation.");
        graph.Node("Identity", state, [terminal]);
        graph.Output(state, DataType.Float, "The terminal state z_L.", batch, n);
        if (readout && shape.Readout != RelaxationReadout.State)
        {
            int k = shape.Outputs;
            ReadOnlySpan<double> parameters = network.Parameters;
            int offset = parameters.Length - shape.ReadoutLength;
            var transposed = new float[n * k];
            for (int output = 0; output < k; output++)
            {
                for (int site = 0; site < n; site++)
                {
                    transposed[(site * k) + output] = Single(parameters[offset + (output * n) + site], "read-out weight");
                }
            }

            string v = graph.Floats("readout.weights", transposed, n, k);
            string c = graph.Floats("readout.offsets", Singles(parameters.Slice(offset + (k * n), k), "read-out offset"), k);
            string linear = graph.Node("Add", shape.Readout == RelaxationReadout.Softmax ? "readout.logits" : ScoreName, [graph.Node("MatMul", "readout.product", [terminal, v]), c]);
            if (shape.Readout == RelaxationReadout.Softmax)
            {
                graph.Node("Softmax", ScoreName, [linear], Integer("axis", -1));
            }

            graph.Output(ScoreName, DataType.Float, shape.Readout == RelaxationReadout.Softmax ? "Class probabilities." : "Linear outputs.", batch, k);
        }

        var proto = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion,
            ProducerName = "HjMl",
            ProducerVersion = ModelFile.LibraryVersion,
            Domain = "org.hjml",
            ModelVersion = 1,
            DocString = "Relaxation (ADR) network exported by HjMl.",
            Graph = graph.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxExport.Opset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "hjml.relaxation_factor", Value = Text(network.RelaxationFactor) });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "hjml.relaxation_shape", Value = shape.Description });
        return proto;
    }

    /// <summary>Adds the L relaxation steps reading <paramref name="input"/> ([B, n]); returns the terminal state's name.</summary>
    internal static string Steps(OnnxGraphBuilder graph, RelaxationNetwork network, string input, string prefix)
    {
        RelaxationShape shape = network.Shape;
        int n = shape.InputDimension;
        double omega = network.RelaxationFactor;
        string keep = graph.Floats(prefix + "keep", [Single(1 - omega, "1 - omega")]);
        string step = graph.Floats(prefix + "omega", [Single(omega, "omega")]);
        string z = input;
        for (int layer = 0; layer < shape.Depth; layer++)
        {
            string name = prefix + "step" + layer.ToString(CultureInfo.InvariantCulture) + ".";
            ReadOnlySpan<double> weights = network.Parameters.Slice(layer * shape.LayerLength, shape.LayerLength);
            string argument = shape.Mixing == RelaxationMixing.Dense ? Dense(graph, weights, n, z, name) : Stencil(graph, network, layer, z, name);
            string relaxed = Activation(graph, network, argument, name);
            z = graph.Node("Add", name + "state", [graph.Node("Mul", name + "kept", [z, keep]), graph.Node("Mul", name + "moved", [relaxed, step])]);
        }

        return shape.Depth == 0 ? graph.Node("Identity", prefix + "state", [input]) : z;
    }

    private static string Dense(OnnxGraphBuilder graph, ReadOnlySpan<double> weights, int n, string z, string name)
    {
        var transposed = new float[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                transposed[(j * n) + i] = Single(weights[(i * n) + j], "dense weight");
            }
        }

        string w = graph.Floats(name + "weights", transposed, n, n);
        string b = graph.Floats(name + "bias", Singles(weights.Slice(n * n, n), "dense bias"), n);
        return graph.Node("Sub", name + "argument", [graph.Node("MatMul", name + "product", [z, w]), b]);
    }

    // (W z)(q) = c_q z_q + sum over axes of l_q z_{q - s} + r_q z_{q + s}, by Pad + Slice on the flat row.
    private static string Stencil(OnnxGraphBuilder graph, RelaxationNetwork network, int layer, string z, string name)
    {
        RelaxationShape shape = network.Shape;
        GridShape grid = shape.Grid;
        int n = shape.InputDimension;
        int d = grid.Dimensions;
        var centre = new float[n];
        var left = new float[d][];
        var right = new float[d][];
        for (int a = 0; a < d; a++)
        {
            left[a] = new float[n];
            right[a] = new float[n];
        }

        for (int q = 0; q < n; q++)
        {
            double c = 0;
            for (int a = 0; a < d; a++)
            {
                (double reaction, double advection, double diffusion) = RawMoments(network, layer, q, a);
                c = reaction;
                (bool hasLeft, bool hasRight) = d == 1 ? (q > 0, q < n - 1) : a == 0 ? (q % grid.Width > 0, q % grid.Width < grid.Width - 1) : (q >= grid.Width, q < n - grid.Width);
                left[a][q] = hasLeft ? Single(0.5 * (diffusion - advection), "stencil weight") : 0f;
                right[a][q] = hasRight ? Single(0.5 * (diffusion + advection), "stencil weight") : 0f;
            }

            for (int a = 0; a < d; a++)
            {
                c -= RawMoments(network, layer, q, a).Diffusion;
            }

            centre[q] = Single(c, "stencil weight");
        }

        string sum = graph.Node("Mul", name + "centre", [z, graph.Floats(name + "centre_weights", centre, n)]);
        for (int a = 0; a < d; a++)
        {
            long stride = d == 1 || a == 0 ? 1 : grid.Width;
            string axis = name + "axis" + a.ToString(CultureInfo.InvariantCulture) + ".";
            string padded = graph.Node("Pad", axis + "padded", [z, graph.Int64s(axis + "pads", [0, stride, 0, stride], 4)]);
            string axes = graph.Int64s(axis + "axes", [1], 1);
            string before = graph.Node("Slice", axis + "before", [padded, graph.Int64s(axis + "before_start", [0], 1), graph.Int64s(axis + "before_end", [n], 1), axes]);
            string after = graph.Node("Slice", axis + "after", [padded, graph.Int64s(axis + "after_start", [2 * stride], 1), graph.Int64s(axis + "after_end", [(2 * stride) + n], 1), axes]);
            sum = graph.Node("Add", axis + "with_before", [sum, graph.Node("Mul", axis + "weighted_before", [before, graph.Floats(axis + "before_weights", left[a], n)])]);
            sum = graph.Node("Add", axis + "with_after", [sum, graph.Node("Mul", axis + "weighted_after", [after, graph.Floats(axis + "after_weights", right[a], n)])]);
        }

        return sum;
    }

    // The layer's own moments (not the whole step's) at a site and axis.
    private static (double Reaction, double Advection, double Diffusion) RawMoments(RelaxationNetwork network, int layer, int site, int axis)
    {
        ReadOnlySpan<double> moments = network.Moments(layer);
        int d = network.Shape.Grid.Dimensions;
        int per = 1 + (2 * d);
        int g = network.Shape.Stencil!.GroupOf(site) * per;
        return (moments[g], moments[g + 1 + axis], moments[g + 1 + d + axis]);
    }

    private static string Activation(OnnxGraphBuilder graph, RelaxationNetwork network, string argument, string name)
    {
        switch (network.Activation)
        {
            case RelaxationActivation.Identity:
                return argument;
            case RelaxationActivation.Relu:
                return graph.Node("Relu", name + "relu", [argument]);
            case RelaxationActivation.Tanh:
                return graph.Node("Tanh", name + "tanh", [argument]);
            case RelaxationActivation.Logistic:
                return graph.Node("Sigmoid", name + "logistic", [argument]);
            default:
                // eps log(1 + e^(a/eps)) = max(a, 0) + eps log(1 + e^(-|a|/eps)): no exponential of a positive number.
                string eps = graph.Floats(name + "viscosity", [Single(network.Viscosity, "softplus viscosity")]);
                string one = graph.Floats(name + "one", [1f]);
                string scaled = graph.Node("Div", name + "scaled", [graph.Node("Neg", name + "negative_magnitude", [graph.Node("Abs", name + "magnitude", [argument])]), eps]);
                string log = graph.Node("Log", name + "log", [graph.Node("Add", name + "one_plus", [graph.Node("Exp", name + "exponential", [scaled]), one])]);
                return graph.Node("Add", name + "softplus", [graph.Node("Relu", name + "positive_part", [argument]), graph.Node("Mul", name + "smoothing", [log, eps])]);
        }
    }

    private static float[] Singles(ReadOnlySpan<double> values, string what)
    {
        var singles = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            singles[i] = Single(values[i], what);
        }

        return singles;
    }

    private static float Single(double value, string what)
    {
        float single = (float)value;
        return float.IsFinite(single) ? single : throw new NotSupportedException($"The relaxation network's {what} {Text(value)} is beyond float32's range; the ONNX graph cannot hold it.");
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
