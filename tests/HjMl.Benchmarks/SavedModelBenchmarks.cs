using BenchmarkDotNet.Attributes;
using HjMl.MLNet;
using HjMl.MLNet.Trainers;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Benchmarks;

/// <summary>
/// The model stage of an ML.NET pipeline on adult (32,000 rows, 105 one-hot and standardised features, binary), scored
/// as a batch (a cursor over the transformed view) and one row at a time (a PredictionEngine), per row:
/// HopfCole in memory, the same model saved and loaded with plain <c>Model.Load</c> (its ONNX stand-in) and with
/// <c>LoadWithHopfCole</c>, LightGbm's model saved and loaded, and OnnxTransformer running a one-node graph, the least a
/// row costs through OnnxTransformer. Issue 16's bar: plain <c>Model.Load</c> at least LightGbm's loaded model;
/// <c>LoadWithHopfCole</c> at least 0.9 times in memory.
/// </summary>
/// <remarks>
/// dotnet run -c Release --project tests/HjMl.Benchmarks -- --filter '*SavedModelBenchmarks*'. adult.csv is read from
/// HJML_ADULT_CSV, or ../shared/data/adult.csv beside the repository.
/// </remarks>
[ShortRunJob]
public class SavedModelBenchmarks
{
    /// <summary>Rows scored per invocation; the reported times are per row.</summary>
    public const int Rows = 32_000;

    private float[][] rows = null!;
    private IDataView data = null!;
    private ITransformer model = null!;
    private Func<float[], float> predict = null!;
    private string column = "Probability";

    /// <summary>Which model scores.</summary>
    [Params("HopfCole in memory", "HopfCole LoadWithHopfCole", "HopfCole Model.Load", "LightGbm Model.Load", "OnnxTransformer 1 node")]
    public string Model { get; set; } = "HopfCole in memory";

    [GlobalSetup]
    public void Setup()
    {
        var context = new MLContext(seed: 1);
        (rows, bool[] labels) = Adult(context);
        int d = rows[0].Length;
        SchemaDefinition definition = Definition(d);
        IDataView training = context.Data.LoadFromEnumerable(rows.Select((row, i) => new AdultRow { Features = row, Label = labels[i] }), definition);
        data = context.Data.Cache(training);
        string path = Path.Combine(Path.GetTempPath(), $"hjml-saved-model-benchmark-{Guid.NewGuid():N}.zip");
        try
        {
            model = Model switch
            {
                "HopfCole in memory" => HopfCole(context),
                "HopfCole LoadWithHopfCole" => Reload(context, HopfCole(context), path, context.Model.LoadWithHopfCole),
                "HopfCole Model.Load" => Reload(context, HopfCole(context), path, context.Model.Load),
                "LightGbm Model.Load" => Reload(context, context.BinaryClassification.Trainers.LightGbm().Fit(data), path, context.Model.Load),
                _ => OneNode(context, d),
            };
        }
        finally
        {
            File.Delete(path);
        }

        if (Model == "OnnxTransformer 1 node")
        {
            column = "Sum";
            var engine = context.Model.CreatePredictionEngine<AdultRow, SumPrediction>(model, inputSchemaDefinition: definition);
            var input = new AdultRow();
            predict = features => { input.Features = features; return engine.Predict(input).Sum[0]; };
        }
        else
        {
            var engine = context.Model.CreatePredictionEngine<AdultRow, BinaryPrediction>(model, inputSchemaDefinition: definition);
            var input = new AdultRow();
            predict = features => { input.Features = features; return engine.Predict(input).Probability; };
        }

        ITransformer HopfCole(MLContext context) => context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { MaximumEpochs = 10, Seed = 1 }).Fit(data);
    }

    /// <summary>Transform over the cached view, read by one cursor.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public double Batch()
    {
        IDataView scored = model.Transform(data);
        DataViewSchema.Column output = scored.Schema[column];
        double sum = 0;
        using DataViewRowCursor cursor = scored.GetRowCursor([output]);
        if (output.Type is VectorDataViewType)
        {
            ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(output);
            VBuffer<float> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                sum += value.GetItemOrDefault(0);
            }
        }
        else
        {
            ValueGetter<float> getter = cursor.GetGetter<float>(output);
            float value = 0;
            while (cursor.MoveNext())
            {
                getter(ref value);
                sum += value;
            }
        }

        return sum;
    }

    /// <summary>A PredictionEngine, one row at a time.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public double PredictionEngine()
    {
        double sum = 0;
        foreach (float[] row in rows)
        {
            sum += predict(row);
        }

        return sum;
    }

    private ITransformer Reload(MLContext context, ITransformer trained, string path, LoadModel load)
    {
        context.Model.Save(trained, data.Schema, path);
        return load(path, out _);
    }

    // OnnxTransformer over a graph of one ReduceSum: what any model costs a row through OnnxTransformer at the least.
    private static ITransformer OneNode(MLContext context, int d)
    {
        var graph = new OnnxGraphBuilder("one_node", "One ReduceSum.");
        graph.Input("Features", DataType.Float, string.Empty, 1, d);
        graph.Node("ReduceSum", "Sum", ["Features", graph.Int64s("axes", [1], 1)], OnnxGraphBuilder.Integer("keepdims", 0));
        graph.Output("Sum", DataType.Float, string.Empty, 1);
        var proto = new ModelProto { IrVersion = OnnxExport.IrVersion, Graph = graph.Graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxExport.Opset });
        using var stream = new MemoryStream(Google.Protobuf.MessageExtensions.ToByteArray(proto));
        return context.Transforms.ApplyOnnxModel(["Sum"], ["Features"], stream).Fit(context.Data.LoadFromEnumerable(Array.Empty<AdultRow>(), Definition(d)));
    }

    private static SchemaDefinition Definition(int d)
    {
        var definition = SchemaDefinition.Create(typeof(AdultRow));
        definition[nameof(AdultRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        return definition;
    }

    // adult.csv's first Rows rows: the 8 text columns one-hot encoded, concatenated with the 6 numbers, standardised.
    private static (float[][] Rows, bool[] Labels) Adult(MLContext context)
    {
        string path = Environment.GetEnvironmentVariable("HJML_ADULT_CSV") is { Length: > 0 } given
            ? given
            : Path.Combine(RepositoryData.Folder, "..", "..", "shared", "data", "adult.csv");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"adult.csv is not at '{path}'; set HJML_ADULT_CSV to its path.", path);
        }

        string[] header = File.ReadLines(path).First().Split(',');
        int[] text = [1, 3, 5, 6, 7, 8, 9, 13];
        var columns = Enumerable.Range(0, 14).Select(i => new TextLoader.Column(header[i], text.Contains(i) ? DataKind.String : DataKind.Single, i)).Append(new TextLoader.Column("Label", DataKind.Boolean, 14)).ToArray();
        IDataView raw = context.Data.TakeRows(context.Data.LoadFromTextFile(path, columns, separatorChar: ',', hasHeader: true), Rows);
        IDataView featurized = context.Transforms.Categorical.OneHotEncoding(text.Select(i => new InputOutputColumnPair(header[i])).ToArray())
            .Append(context.Transforms.Concatenate("Features", header[..14]))
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .Fit(raw)
            .Transform(raw);
        return (featurized.GetColumn<float[]>("Features").ToArray(), featurized.GetColumn<bool>("Label").ToArray());
    }

    private delegate ITransformer LoadModel(string path, out DataViewSchema schema);

    /// <summary>An adult row: its features and label.</summary>
    public sealed class AdultRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    /// <summary>What a binary model predicts.</summary>
    public sealed class BinaryPrediction
    {
        public float Probability { get; set; }
    }

    /// <summary>What the one-node graph writes.</summary>
    public sealed class SumPrediction
    {
        [VectorType(1)]
        public float[] Sum { get; set; } = [];
    }
}
