using Google.Protobuf;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// What HjMl's transformers save in their place: ML.NET's own OnnxTransformer running HjMl's ONNX export, adapted to
/// OnnxTransformer's conventions, so that the saved zip loads with plain ML.NET and Microsoft.ML.OnnxTransformer.
/// </summary>
/// <remarks>
/// OnnxTransformer reads an ONNX output with a declared shape as a vector (a dynamic batch dimension counts as 1) and
/// one without a shape as a scalar holding the tensor's first element. HjMl's graph declares [N] and [N, K] outputs, so
/// the saved graph drops the declared shape of [N] outputs (ONNX allows an output of unknown shape; ONNX Runtime runs it
/// unchanged) and gives OnnxTransformer [K] for [N, K] outputs through its shape dictionary, which it saves with the model.
/// The graph's input is renamed to the feature column, because OnnxTransformer binds inputs to columns by name.
/// </remarks>
internal static class OnnxPipeline
{
    /// <summary>The saveable chain standing for <paramref name="transformer"/>.</summary>
    public static TransformerChain<ITransformer> ForPrediction(HopfColePredictionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        string[] outputs = model.Kind switch
        {
            ModelKind.Regression => [DefaultColumnNames.Score],
            ModelKind.BinaryClassification => [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel],
            _ => [DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel],
        };
        if (model.Kind == ModelKind.MulticlassClassification && model.NumberOfClasses != transformer.LabelKeys!.Count)
        {
            throw new NotSupportedException($"The label's key type has {transformer.LabelKeys.Count} values but only {model.NumberOfClasses} occurred in the training data; a saved model's Score would have {model.NumberOfClasses} slots instead of {transformer.LabelKeys.Count}. Train on data with every class, or map the label to keys on the training data only.");
        }

        var context = new MLContext();
        IDataView empty = FeaturesOnly(transformer.FeatureColumnName, model.InputDimension);
        ITransformer onnx = Apply(context, model, null, transformer.FeatureColumnName, outputs, empty);
        if (model.Kind != ModelKind.MulticlassClassification)
        {
            return new TransformerChain<ITransformer>(onnx);
        }

        // The graph's PredictedLabel is the class index as float; map it back to the label's key type and key values.
        LabelKeys keys = transformer.LabelKeys!;
        IEstimator<ITransformer> toKeys = keys.ValueType is null
            ? KeyMapping<uint>(context, Enumerable.Range(1, keys.Count).Select(key => (uint)key).ToArray())
            : (IEstimator<ITransformer>)typeof(OnnxPipeline).GetMethod(nameof(KeyMappingFromValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(keys.ValueType.RawType).Invoke(null, [context, keys])!;
        return new TransformerChain<ITransformer>(onnx, toKeys.Fit(onnx.Transform(empty)));
    }

    /// <summary>
    /// Fits OnnxTransformer on HjMl's graph for <paramref name="model"/> (explanation outputs when
    /// <paramref name="exportOptions"/> asks), reading <paramref name="featureColumn"/> and producing <paramref name="outputs"/>.
    /// </summary>
    public static ITransformer Apply(MLContext context, HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, string[] outputs, IDataView schemaSource)
    {
        byte[] graph = GraphFor(model, exportOptions, featureColumn, out Dictionary<string, int[]> shapes);
        using var stream = new MemoryStream(graph);
        return context.Transforms.ApplyOnnxModel(outputs, [featureColumn], stream, shapes, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100).Fit(schemaSource);
    }

    /// <summary>HjMl's ONNX graph with OnnxTransformer's conventions (see the remarks); <paramref name="shapes"/> gets the vector outputs' sizes.</summary>
    internal static byte[] GraphFor(HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, out Dictionary<string, int[]> shapes)
    {
        ModelProto proto = OnnxExport.Build(model, exportOptions);
        GraphProto graph = proto.Graph;
        if (featureColumn != OnnxExport.FeaturesName)
        {
            if (graph.Node.Any(node => node.Output.Contains(featureColumn)) || graph.Output.Any(output => output.Name == featureColumn))
            {
                throw new NotSupportedException($"The feature column is named '{featureColumn}', which is also a value of HjMl's ONNX graph; rename the feature column.");
            }

            graph.Input[0].Name = featureColumn;
            foreach (NodeProto node in graph.Node)
            {
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i] == OnnxExport.FeaturesName)
                    {
                        node.Input[i] = featureColumn;
                    }
                }
            }
        }

        shapes = [];
        foreach (ValueInfoProto output in graph.Output)
        {
            TypeProto.Types.Tensor tensor = output.Type.TensorType;
            if (tensor.Shape.Dim.Count == 1)
            {
                tensor.Shape = null;
            }
            else
            {
                shapes[output.Name] = tensor.Shape.Dim.Skip(1).Select(dimension => checked((int)dimension.DimValue)).ToArray();
            }
        }

        return proto.ToByteArray();
    }

    /// <summary>An empty view with one column: <paramref name="name"/>, a vector of <paramref name="size"/> floats.</summary>
    public static IDataView FeaturesOnly(string name, int size)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single, size));
        return new EmptyDataView(builder.ToSchema());
    }

    private static IEstimator<ITransformer> KeyMappingFromValues<TValue>(MLContext context, LabelKeys keys)
        => KeyMapping(context, keys.Values<TValue>());

    // Class index k (float, 0-based, the key value minus one) -> the k-th key value, as a key type in key order.
    private static IEstimator<ITransformer> KeyMapping<TValue>(MLContext context, TValue[] values)
        => context.Transforms.Conversion.MapValue(
            DefaultColumnNames.PredictedLabel,
            values.Select((value, index) => new KeyValuePair<float, TValue>(index, value)),
            DefaultColumnNames.PredictedLabel,
            treatValuesAsKeyType: true);
}
