using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Text.Json;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// The machine's roofline for LSE scoring, measured in the same run as the benchmarks: the fastest float32 matrix
/// product it has (every loadable BLAS provider with its own threads, and HjMl's packed logit kernel on all cores) and
/// the fastest vectorised float32 exponential (TensorPrimitives.Exp and HjMl's, one chunk per core). Scoring B rows
/// with K heads of N pieces in d dimensions takes at least max(2 B K N d / sgemm rate, B K N / exp rate).
/// </summary>
public static class Roofline
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>One measured rate.</summary>
    public sealed record Rate(string Name, string Shape, double PerSecond);

    /// <summary>
    /// One round of the target case measured between the two rates it is held to: the peak sgemm rate (flop/s), the
    /// exponential rate (exp/s), HjMl's float32 ScoreBatch time (s), and the fraction of the roofline it reached.
    /// </summary>
    public sealed record Round(double MatrixProductRate, double ExponentialRate, double Seconds, double Fraction);

    /// <summary>Everything measured: sgemm rates in flop/s, exponential rates in exp/s, and the interleaved target rounds.</summary>
    public sealed record Result(IReadOnlyList<Rate> MatrixProducts, IReadOnlyList<Rate> Exponentials, int Threads, IReadOnlyList<Round> TargetRounds)
    {
        /// <summary>The target case of the rounds: d, N per head, batch.</summary>
        public const int TargetDimension = 64, TargetPieces = 128, TargetBatch = 100_000;

        /// <summary>The median fraction of the roofline over the interleaved rounds.</summary>
        public double TargetFraction => TargetRounds.Select(round => round.Fraction).Order().ElementAt(TargetRounds.Count / 2);

        /// <summary>The fastest matrix product measured, flop/s.</summary>
        public double MatrixProductRate => MatrixProducts.Max(rate => rate.PerSecond);

        /// <summary>The fastest exponential measured, exp/s.</summary>
        public double ExponentialRate => Exponentials.Max(rate => rate.PerSecond);

        /// <summary>The least time scoring can take: max(2 B K N d / sgemm rate, B K N / exp rate).</summary>
        public double Seconds(long rows, int dimension, int pieces, int heads) =>
            Math.Max(2.0 * rows * heads * pieces * dimension / MatrixProductRate, (double)rows * heads * pieces / ExponentialRate);
    }

    /// <summary>Measures the roofline and writes it to <paramref name="path"/> as JSON.</summary>
    public static Result Measure(string path)
    {
        var products = new List<Rate>();
        (int m, int n, int k)[] shapes = [(8192, 2048, 784), (100_000, 256, 64)];
        foreach ((int m, int n, int k) in shapes)
        {
            string shape = $"{m} x {n} x {k}";
            var left = Filled(m * k, 1);
            var right = Filled(n * k, 2);
            var product = new float[(long)m * n];
            foreach (IMatrixProduct provider in MatrixProducts.Loadable())
            {
                double seconds = Median(() => provider.Multiply(Transpose.No, Transpose.Yes, m, n, k, 1f, left, k, right, k, 0f, product, n));
                products.Add(new Rate(provider.Name, shape, 2.0 * m * n * k / seconds));
                Console.WriteLine($"sgemm {provider.Name,-13} {shape,-18} {2.0 * m * n * k / seconds / 1e9,8:F1} GFLOP/s");
            }

            var kernel = new LseKernel<float>(right, new float[n], k, 1, LseKernel<float>.PreferredWidth);
            double packed = Median(() => kernel.LogitsOnly(left));
            products.Add(new Rate("hjml-packed", shape, 2.0 * m * n * k / packed));
            Console.WriteLine($"sgemm {"hjml-packed",-13} {shape,-18} {2.0 * m * n * k / packed / 1e9,8:F1} GFLOP/s");
        }

        var exponentials = new List<Rate>
        {
            ExponentialRate("TensorPrimitives.Exp", (source, destination) => TensorPrimitives.Exp(source, destination)),
            ExponentialRate("hjml-vector-exp", HjMlExponential),
        };
        var result = new Result(products, exponentials, Environment.ProcessorCount, TargetRounds(7));
        File.WriteAllText(path, JsonSerializer.Serialize(result, IndentedJson));
        return result;
    }

    // The target case (d = 64, N = 128, batch 100000, float32) timed in rounds, each between fresh measurements of the
    // peak sgemm (HjMl's packed kernel on the large shape, which measures fastest) and the exponential rate, so that the
    // fraction compares numbers taken seconds apart under the same load, not minutes apart as the grid's are.
    private static List<Round> TargetRounds(int count)
    {
        const int m = 8192, n = 2048, k = 784;
        const int D = Result.TargetDimension, N = Result.TargetPieces, Rows = Result.TargetBatch;
        var kernel = new LseKernel<float>(Filled(n * k, 2), new float[n], k, 1, LseKernel<float>.PreferredWidth);
        float[] left = Filled(m * k, 1);
        HopfColeModel model = BenchmarkGrid.Model(D, N);
        float[] rows = BenchmarkGrid.SingleFeatures(D).AsSpan(0, Rows * D).ToArray();
        var scores = new float[Rows];
        var rounds = new List<Round>();
        for (int round = 0; round < count; round++)
        {
            double product = 2.0 * m * n * k / Median(() => kernel.LogitsOnly(left), warmUpSeconds: 0.2, minimumSeconds: 0.3);
            double exponential = ExponentialRate("hjml-vector-exp", HjMlExponential, quiet: true).PerSecond;
            double seconds = Median(() => model.ScoreBatch(rows, scores), warmUpSeconds: 0.2, minimumSeconds: 0.3);
            double bound = Math.Max(2.0 * Rows * BenchmarkGrid.Heads * N * D / product, (double)Rows * BenchmarkGrid.Heads * N / exponential);
            rounds.Add(new Round(product, exponential, seconds, bound / seconds));
            Console.WriteLine($"target round {round + 1}: sgemm {product / 1e9:F1} GFLOP/s, exp {exponential / 1e9:F2} Gexp/s, HjMl {seconds * 1e3:F2} ms: {100 * bound / seconds:F0}% of the roofline");
        }

        return rounds;
    }

    /// <summary>HjMl's float32 vector exponential on <paramref name="threads"/> threads, exp/s (scripts/peers/paper's floor).</summary>
    public static double FloatExponentialRate(int threads) => ExponentialRate("hjml-vector-exp", HjMlExponential, quiet: false, threads).PerSecond;

    /// <summary>Reads what <see cref="Measure"/> wrote.</summary>
    public static Result Read(string path) => JsonSerializer.Deserialize<Result>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} holds no roofline.");

    // Each core exponentiates its own 16 Ki floats (64 KiB, in L2) over and over: the exponential alone, not memory.
    private static Rate ExponentialRate(string name, Action<float[], float[]> exponential, bool quiet = false, int threads = 0)
    {
        const int Length = 16384, Repeats = 64;
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        float[][] sources = Enumerable.Range(0, threads).Select(thread => Enumerable.Range(0, Length).Select(i => -20f * i / Length).ToArray()).ToArray();
        float[][] destinations = Enumerable.Range(0, threads).Select(_ => new float[Length]).ToArray();
        double seconds = Median(
            () => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
            {
                for (int repeat = 0; repeat < Repeats; repeat++)
                {
                    exponential(sources[thread], destinations[thread]);
                }
            }),
            warmUpSeconds: quiet ? 0.2 : 1,
            minimumSeconds: quiet ? 0.3 : 1);
        double rate = (double)threads * Length * Repeats / seconds;
        if (!quiet)
        {
            Console.WriteLine($"exp   {name,-22} {rate / 1e9,8:F2} Gexp/s on {threads} threads");
        }

        return new Rate(name, $"{threads} x {Length}", rate);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HjMlExponential(float[] source, float[] destination)
    {
        fixed (float* x = source)
        fixed (float* y = destination)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                for (int i = 0; i < source.Length; i += 16)
                {
                    VectorExponential.Exp<float, Vector512<float>, Simd512<float>>(Vector512.Load(x + i)).Store(y + i);
                }
            }
            else
            {
                for (int i = 0; i < source.Length; i += 8)
                {
                    VectorExponential.Exp<float, Vector256<float>, Simd256<float>>(Vector256.Load(x + i)).Store(y + i);
                }
            }
        }
    }

    private static float[] Filled(long length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (long i = 0; i < length; i++)
        {
            values[i] = (float)((2 * random.NextDouble()) - 1);
        }

        return values;
    }

    // Warm-up for at least 3 calls and warmUpSeconds (1 s lets tiered compilation finish with the code measured), then
    // at least 5 timed calls and minimumSeconds; the median.
    private static double Median(Action action, double warmUpSeconds = 1, double minimumSeconds = 1)
    {
        var warmUp = Stopwatch.StartNew();
        for (int call = 0; call < 3 || (warmUp.Elapsed.TotalSeconds < warmUpSeconds && call < 10_000); call++)
        {
            action();
        }

        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.Elapsed.TotalSeconds < minimumSeconds && times.Count < 200))
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }
}
