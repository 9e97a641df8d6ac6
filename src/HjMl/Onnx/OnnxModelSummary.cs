using Google.Protobuf;
using HjMl.Onnx.Protocol;

namespace HjMl.Onnx;

/// <summary>
/// What an ONNX model file declares: IR version, operator sets, producer, graph inputs and outputs (names, element types,
/// shapes), metadata_props and how many nodes of each operator the graph holds. Reads any ONNX model, not only HjMl's.
/// </summary>
/// <param name="IrVersion">The ONNX IR version.</param>
/// <param name="ProducerName">producer_name.</param>
/// <param name="ProducerVersion">producer_version.</param>
/// <param name="OperatorSets">The imported operator sets: domain ("" is the default ai.onnx domain) and version.</param>
/// <param name="Inputs">Graph inputs that are not initializers.</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="Metadata">metadata_props, in file order.</param>
/// <param name="OperatorCounts">Nodes per operator type, in order of first appearance.</param>
/// <param name="InitializerCount">The number of constant tensors.</param>
public sealed record OnnxModelSummary(
    long IrVersion,
    string ProducerName,
    string ProducerVersion,
    IReadOnlyList<KeyValuePair<string, long>> OperatorSets,
    IReadOnlyList<OnnxTensorDescription> Inputs,
    IReadOnlyList<OnnxTensorDescription> Outputs,
    IReadOnlyList<KeyValuePair<string, string>> Metadata,
    IReadOnlyList<KeyValuePair<string, int>> OperatorCounts,
    int InitializerCount)
{
    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ONNX model.</exception>
    public static OnnxModelSummary Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The ONNX file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path);
    }

    /// <summary>Reads an ONNX model from <paramref name="stream"/>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a readable ONNX model.</exception>
    public static OnnxModelSummary Read(Stream stream, string source = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException invalid)
        {
            throw new InvalidDataException($"{source}: not a readable ONNX model: {invalid.Message}", invalid);
        }

        if (model.Graph is null || !model.HasIrVersion)
        {
            throw new InvalidDataException($"{source}: not an ONNX model: it has no {(model.Graph is null ? "graph" : "IR version")}.");
        }

        var initializers = new HashSet<string>(model.Graph.Initializer.Select(tensor => tensor.Name), StringComparer.Ordinal);
        // A dictionary from operator to its place in the list keeps counting linear in the nodes, however many distinct
        // operator types a (hostile) graph declares.
        var operators = new List<KeyValuePair<string, int>>();
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (NodeProto node in model.Graph.Node)
        {
            string name = node.Domain.Length == 0 ? node.OpType : $"{node.Domain}.{node.OpType}";
            if (positions.TryGetValue(name, out int index))
            {
                operators[index] = new(name, operators[index].Value + 1);
            }
            else
            {
                positions.Add(name, operators.Count);
                operators.Add(new(name, 1));
            }
        }

        return new OnnxModelSummary(
            model.IrVersion,
            model.ProducerName,
            model.ProducerVersion,
            model.OpsetImport.Select(set => new KeyValuePair<string, long>(set.Domain, set.Version)).ToArray(),
            model.Graph.Input.Where(input => !initializers.Contains(input.Name)).Select(Describe).ToArray(),
            model.Graph.Output.Select(Describe).ToArray(),
            model.MetadataProps.Select(entry => new KeyValuePair<string, string>(entry.Key, entry.Value)).ToArray(),
            operators,
            model.Graph.Initializer.Count);
    }

    private static OnnxTensorDescription Describe(ValueInfoProto value)
    {
        if (value.Type?.TensorType is not { } tensor)
        {
            return new OnnxTensorDescription(value.Name, "non-tensor", [], value.DocString);
        }

        string[] shape = tensor.Shape is null
            ? []
            : tensor.Shape.Dim.Select(dim => dim.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => dim.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => dim.DimParam,
                _ => "?",
            }).ToArray();
        return new OnnxTensorDescription(value.Name, ElementTypeName(tensor.ElemType), shape, value.DocString);
    }

    private static string ElementTypeName(int elementType) => elementType switch
    {
        (int)TensorProto.Types.DataType.Float => "float32",
        (int)TensorProto.Types.DataType.Double => "float64",
        (int)TensorProto.Types.DataType.Int32 => "int32",
        (int)TensorProto.Types.DataType.Int64 => "int64",
        (int)TensorProto.Types.DataType.Bool => "bool",
        (int)TensorProto.Types.DataType.String => "string",
        _ => $"element type {elementType}",
    };
}

/// <summary>A graph input or output: its name, element type (float32, int64, bool, ...), shape (a symbol is a dynamic dimension) and documentation.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="ElementType">float32, float64, int32, int64, bool, string, or "element type N" for others.</param>
/// <param name="Shape">One entry per dimension: a size, a symbol such as "N", or "?" when unspecified.</param>
/// <param name="Description">The doc_string.</param>
public sealed record OnnxTensorDescription(string Name, string ElementType, IReadOnlyList<string> Shape, string Description)
{
    /// <summary>"Name: type [d1, d2]".</summary>
    public override string ToString() => $"{Name}: {ElementType} [{string.Join(", ", Shape)}]";
}
