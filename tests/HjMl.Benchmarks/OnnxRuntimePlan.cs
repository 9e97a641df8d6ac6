using System.Text.Json;
using HjMl.Onnx;

namespace HjMl.Benchmarks;

/// <summary>
/// Writes what tests/onnx-runtime/bench.js times: every grid model exported to ONNX, every dimension's rows as raw
/// float32 (the same rows the float32 benchmarks score), and the plan that lists them.
/// </summary>
public static class OnnxRuntimePlan
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>Rows whose ONNX Runtime scores are kept to compare with HjMl's.</summary>
    public const int ScoreRows = 1000;

    /// <summary>ONNX Runtime's intra-op thread counts.</summary>
    public static readonly int[] Threads = [1, 2];

    /// <summary>Writes models, rows and plan.json into <paramref name="folder"/>; returns the plan's path.</summary>
    public static string Prepare(string folder)
    {
        Directory.CreateDirectory(folder);
        var cases = new List<object>();
        foreach (int dimension in BenchmarkGrid.Dimensions)
        {
            string rows = Path.Combine(folder, $"rows-d{dimension}.f32");
            using (FileStream stream = File.Create(rows))
            {
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(BenchmarkGrid.SingleFeatures(dimension).AsSpan()));
            }

            foreach (int pieces in BenchmarkGrid.Pieces)
            {
                string name = BenchmarkGrid.Name(dimension, pieces);
                string model = Path.Combine(folder, name + ".onnx");
                OnnxExport.Save(BenchmarkGrid.Model(dimension, pieces), model);
                cases.Add(new { name, model, inputs = rows, dimension, pieces, batches = BenchmarkGrid.Batches, scoreRows = ScoreRows });
            }
        }

        string plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, JsonSerializer.Serialize(new { threads = Threads, cases }, IndentedJson));
        return plan;
    }
}
