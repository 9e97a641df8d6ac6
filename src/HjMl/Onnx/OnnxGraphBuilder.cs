using System.Buffers.Binary;
using Google.Protobuf;
using HjMl.Onnx.Protocol;

namespace HjMl.Onnx;

/// <summary>
/// Assembles an ONNX graph node by node: constant tensors become initializers, every node gets a unique name, and
/// graph inputs and outputs carry their element type, shape (a string is a symbolic dimension) and a description.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto graph = new();
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private int nodeCount;

    public OnnxGraphBuilder(string name, string description)
    {
        graph.Name = name;
        graph.DocString = description;
    }

    public GraphProto Graph => graph;

    public void Input(string name, TensorProto.Types.DataType type, string description, params object[] shape)
        => graph.Input.Add(ValueInfo(Claim(name), type, description, shape));

    /// <summary>Declares <paramref name="name"/>, already produced by a node, as a graph output.</summary>
    public void Output(string name, TensorProto.Types.DataType type, string description, params object[] shape)
    {
        if (!names.Contains(name))
        {
            throw new InvalidOperationException($"No node produces '{name}'.");
        }

        graph.Output.Add(ValueInfo(name, type, description, shape));
    }

    public string Floats(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return Initializer(name, TensorProto.Types.DataType.Float, bytes, dims);
    }

    public string Doubles(string name, ReadOnlySpan<double> values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(double)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), values[i]);
        }

        return Initializer(name, TensorProto.Types.DataType.Double, bytes, dims);
    }

    public string Int64s(string name, ReadOnlySpan<long> values, params long[] dims)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        }

        return Initializer(name, TensorProto.Types.DataType.Int64, bytes, dims);
    }

    /// <summary>Adds a node with one output named <paramref name="output"/>; returns that name.</summary>
    public string Node(string opType, string output, string[] inputs, params AttributeProto[] attributes)
    {
        Node(opType, [output], inputs, attributes);
        return output;
    }

    public void Node(string opType, string[] outputs, string[] inputs, params AttributeProto[] attributes)
    {
        foreach (string input in inputs)
        {
            if (input.Length != 0 && !names.Contains(input))
            {
                throw new InvalidOperationException($"Node {opType} reads '{input}', which nothing defines yet.");
            }
        }

        var node = new NodeProto { OpType = opType, Name = $"{opType}_{nodeCount++}" };
        node.Input.Add(inputs);
        foreach (string output in outputs)
        {
            node.Output.Add(Claim(output));
        }

        node.Attribute.Add(attributes);
        graph.Node.Add(node);
    }

    public static AttributeProto Integer(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Integers(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    private string Initializer(string name, TensorProto.Types.DataType type, byte[] rawData, long[] dims)
    {
        var tensor = new TensorProto { Name = Claim(name), DataType = (int)type, RawData = ByteString.CopyFrom(rawData) };
        tensor.Dims.Add(dims);
        graph.Initializer.Add(tensor);
        return name;
    }

    private string Claim(string name)
    {
        if (!names.Add(name))
        {
            throw new InvalidOperationException($"The graph already has a value named '{name}'.");
        }

        return name;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, string description, object[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (object dimension in shape)
        {
            tensorShape.Dim.Add(dimension switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"A dimension is a symbol (string) or a size, not {dimension}.", nameof(shape)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            DocString = description,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }
}
