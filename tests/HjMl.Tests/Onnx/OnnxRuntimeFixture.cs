using System.Globalization;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace HjMl.Tests.Onnx;

/// <summary>
/// A real ONNX runtime for the tests: Microsoft.ML.OnnxRuntime in process (the NuGet package carries the native
/// library), one session per run on the CPU provider with its default (all) graph optimisations.
/// </summary>
public sealed class OnnxRuntimeFixture
{
    public OnnxRuntimeFixture()
    {
        string threads = Environment.GetEnvironmentVariable("HJML_ORT_THREADS") ?? "1";
        IntraOpThreads = int.TryParse(threads, NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) ? count : 1;
    }

    /// <summary>The Microsoft.ML.OnnxRuntime version Directory.Packages.props pins (written into this assembly at build time).</summary>
    public static string PinnedVersion { get; } = typeof(OnnxRuntimeFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "OnnxRuntimeVersion").Value!;

    /// <summary>ONNX Runtime's intra-op threads (HJML_ORT_THREADS, default 1: the test machines have 2 cores and run builds alongside).</summary>
    public int IntraOpThreads { get; }

    /// <summary>Runs <paramref name="onnx"/> on float32 <paramref name="features"/> (rows x columns) and returns every output.</summary>
    public RuntimeResult Run(byte[] onnx, float[] features, int rows, int columns, int? intraOpThreads = null)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads ?? IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        using var session = new InferenceSession(onnx, options);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(features, [rows, columns]);
        using var runOptions = new RunOptions();
        IReadOnlyList<string> outputNames = session.OutputNames;
        using IDisposableReadOnlyCollection<OrtValue> values = session.Run(runOptions, ["Features"], [input], outputNames);
        var outputs = new Dictionary<string, RuntimeTensor>(StringComparer.Ordinal);
        int index = 0;
        foreach (OrtValue value in values)
        {
            outputs[outputNames[index++]] = RuntimeTensor.Of(value);
        }

        return new RuntimeResult(OrtEnv.Instance().GetVersionString(), [.. session.InputNames], outputs);
    }
}

/// <summary>What a run gives back: the runtime version, the graph's input names and every output tensor in graph order.</summary>
public sealed record RuntimeResult(string RuntimeVersion, IReadOnlyList<string> InputNames, IReadOnlyDictionary<string, RuntimeTensor> Outputs);

/// <summary>One output tensor: its type name (float32, float64, int64, bool), shape and values (bool as 0/1).</summary>
public sealed record RuntimeTensor(string Type, long[] Dims, double[] Values)
{
    /// <summary>Copies an ONNX Runtime tensor out, every element widened to double (exactly, for these types).</summary>
    public static RuntimeTensor Of(OrtValue value)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        long[] dims = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => new RuntimeTensor("float32", dims, Widen(value.GetTensorDataAsSpan<float>(), element => element)),
            TensorElementType.Double => new RuntimeTensor("float64", dims, value.GetTensorDataAsSpan<double>().ToArray()),
            TensorElementType.Int64 => new RuntimeTensor("int64", dims, Widen(value.GetTensorDataAsSpan<long>(), element => element)),
            TensorElementType.Bool => new RuntimeTensor("bool", dims, Widen(value.GetTensorDataAsSpan<bool>(), element => element ? 1.0 : 0.0)),
            TensorElementType other => throw new NotSupportedException($"Output of element type {other} is not one HjMl's graphs produce."),
        };
    }

    private static double[] Widen<T>(ReadOnlySpan<T> elements, Func<T, double> widen)
    {
        var values = new double[elements.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = widen(elements[i]);
        }

        return values;
    }
}
