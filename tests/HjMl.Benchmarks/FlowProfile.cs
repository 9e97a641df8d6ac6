using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using HjMl.Flows;
using HjMl.LinearAlgebra;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// Where the time of issue 15's two flow cases goes: the training epoch on one thread, whole with the gradients in
/// float32 (what the trainer runs under Adam) and in float64 (the path before), and split into its parts (float64: the
/// calls FlowObjective and Adam make, in one chunk per mini-batch; float32: the gather, FlowObjective.Evaluate and
/// Adam's update), and batch scoring through the flow split into
/// standardisation, transport and read-out; beside each, the matrix products of the part timed alone with the same
/// shapes on the same provider, in double and in float32. Each figure is the median of five rounds, in CPU time of
/// the calling thread (CLOCK_THREAD_CPUTIME_ID on Linux, else wall time): scripts/flow-benchmarks runs this with
/// MKL_NUM_THREADS=1 and DOTNET_PROCESSOR_COUNT=1, so all the work is on that thread, and the split does not
/// depend on what else the shared machine runs.
/// </summary>
internal static class FlowProfile
{
    private const int Rounds = 5;
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>One part of a split: its name and median milliseconds (per epoch, or per 10000-row batch).</summary>
    public sealed record Part(string Name, double Milliseconds);

    /// <summary>What <see cref="Measure"/> writes.</summary>
    /// <param name="Provider">The matrix-product provider.</param>
    /// <param name="CpuClock">Whether the parts are CPU time of the thread (else wall time).</param>
    /// <param name="EpochOneThreadMilliseconds">A whole epoch on one thread, gradients in float32, on the parts' clock.</param>
    /// <param name="EpochOneThreadWallMilliseconds">The same epochs' wall time.</param>
    /// <param name="EpochOneThreadDoubleMilliseconds">A whole epoch on one thread, gradients in float64, on the parts' clock.</param>
    /// <param name="EpochOneThreadDoubleWallMilliseconds">The same epochs' wall time.</param>
    /// <param name="Training">The epoch's parts and products.</param>
    /// <param name="Scoring">Scoring's parts and products.</param>
    public sealed record Result(string Provider, bool CpuClock, double EpochOneThreadMilliseconds, double EpochOneThreadWallMilliseconds, double EpochOneThreadDoubleMilliseconds, double EpochOneThreadDoubleWallMilliseconds, List<Part> Training, List<Part> Scoring);

    /// <summary>Measures both splits and writes them to <paramref name="path"/> as JSON.</summary>
    public static void Measure(string path)
    {
        (Epoch single, Epoch reference, List<Part> training) = Training();
        var result = new Result(MatrixProducts.Current.ToString() ?? "?", CpuClock, single.Cpu, single.Wall, reference.Cpu, reference.Wall, training, Scoring());
        File.WriteAllText(path, JsonSerializer.Serialize(result, IndentedJson));
        Console.WriteLine($"epoch on one thread, float32: {single.Cpu:F1} ms CPU, {single.Wall:F1} ms wall; float64: {reference.Cpu:F1} ms CPU, {reference.Wall:F1} ms wall");
        foreach (Part part in result.Training.Concat(result.Scoring))
        {
            Console.WriteLine($"{part.Name,-60} {part.Milliseconds,10:F2} ms");
        }
    }

    /// <summary>Reads what <see cref="Measure"/> wrote.</summary>
    public static Result Read(string path) => JsonSerializer.Deserialize<Result>(File.ReadAllText(path))!;

    private sealed record Epoch(double Cpu, double Wall);

    // Three warm-up epochs of each precision (so that every method runs its optimised code), then rounds that time a
    // whole epoch (CPU and wall) of each and their split epochs back to back, so that all see the same conditions.
    private static (Epoch Single, Epoch Double, List<Part> Parts) Training()
    {
        HopfColeTrainerOptions options = FlowCase.Options(1) with { MaximumDegreeOfParallelism = 1 };
        FlowEpoch single = FlowEpoch.Create(FlowCase.Train, options, singlePrecision: true);
        FlowEpoch reference = FlowEpoch.Create(FlowCase.Train, options, singlePrecision: false);
        for (int warmUp = 0; warmUp < 3; warmUp++)
        {
            single.Run();
            reference.Run();
        }

        var times = new Dictionary<string, List<double>>();
        void Add(string name, double milliseconds) => (times.TryGetValue(name, out List<double>? list) ? list : times[name] = []).Add(milliseconds);
        for (int round = 0; round < Rounds; round++)
        {
            foreach ((string name, FlowEpoch epoch) in new[] { ("float32", single), ("float64", reference) })
            {
                long started = Stopwatch.GetTimestamp();
                double start = ThreadMilliseconds();
                epoch.Run();
                Add($"{name} cpu", ThreadMilliseconds() - start);
                Add($"{name} wall", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            foreach ((string name, double milliseconds) in SplitEpoch(reference).Concat(SplitSingleEpoch(single)))
            {
                Add(name, milliseconds);
            }
        }

        List<Part> split = times.Where(entry => entry.Key.StartsWith("training", StringComparison.Ordinal)).Select(entry => new Part(entry.Key, MedianOf(entry.Value))).ToList();
        split.AddRange(TrainingProducts(reference));
        return (new Epoch(MedianOf(times["float32 cpu"]), MedianOf(times["float32 wall"])), new Epoch(MedianOf(times["float64 cpu"]), MedianOf(times["float64 wall"])), split);
    }

    // One epoch on one thread with the gradients in float32: the gather, FlowObjective.Evaluate (z_0, the flow forward,
    // the read-out's loss, G and p_L, the co-states back, the gradient products; SinglePrecisionFlowPass) and Adam's update.
    private static Dictionary<string, double> SplitSingleEpoch(FlowEpoch epoch)
    {
        TrainingBlock train = epoch.Train;
        HopfColeTrainerOptions options = epoch.Options;
        int batch = options.BatchSize;
        int n = epoch.ParameterCount;
        double[] parameters = (double[])epoch.Initial.Clone();
        var gradient = new double[n];
        var first = new double[n];
        var second = new double[n];
        var scratchMoments = new double[n];
        var block = TrainingBlock.Buffer(batch, train.Dimension, weighted: false);
        int[] rows = Enumerable.Range(0, train.Rows).ToArray();
        new Random(options.Seed).Shuffle(rows);
        const string Gather = "training (float32): gather the mini-batch";
        const string Evaluate = "training (float32): flow forward, read-out, adjoint and gradient products (FlowObjective.Evaluate)";
        const string Update = "training (float32): Adam update";
        var times = new Dictionary<string, double> { [Gather] = 0, [Evaluate] = 0, [Update] = 0 };
        long step = 0;
        for (int start = 0; start < train.Rows; start += batch)
        {
            int count = Math.Min(batch, train.Rows - start);
            Time(times, Gather, () => block.Gather(train, rows.AsSpan(start, count)));
            Time(times, Evaluate, () => epoch.Flow.Evaluate(parameters, options.Viscosity, block.Inputs, block.Targets, null, count, gradient, out _));
            step++;
            Time(times, Update, () => AdamStep(parameters, gradient, first, second, scratchMoments, options.LearningRate, step));
        }

        return times;
    }

    // One epoch on one thread, the calls of FlowObjective.Evaluate (one chunk) and Adam.Minimize timed part by part.
    private static Dictionary<string, double> SplitEpoch(FlowEpoch epoch)
    {
        FlowShape shape = epoch.Flow.Shape;
        TrainingBlock train = epoch.Train;
        HopfColeTrainerOptions options = epoch.Options;
        int m = shape.Width;
        int batch = options.BatchSize;
        int readoutLength = epoch.Flow.ReadoutLength;
        int flowLength = shape.ParameterCount;
        int n = epoch.ParameterCount;
        double[] parameters = (double[])epoch.Initial.Clone();
        var gradient = new double[n];
        var first = new double[n];
        var second = new double[n];
        var scratchMoments = new double[n];
        var block = TrainingBlock.Buffer(batch, train.Dimension, weighted: false);
        var states = new double[batch * (shape.Steps + 1) * m];
        var gibbs = new double[batch * shape.Steps * shape.Pieces];
        var terminal = new double[batch * (m + 1)];
        var costate = new double[batch * m];
        var scratch = new double[batch * shape.Pieces];
        int[] rows = Enumerable.Range(0, train.Rows).ToArray();
        new Random(options.Seed).Shuffle(rows);
        var times = new Dictionary<string, double>
        {
            ["training (float64): gather the mini-batch"] = 0,
            ["training (float64): flow forward (FlowPass.Forward)"] = 0,
            ["training (float64): terminal rows [z_L 1]"] = 0,
            ["training (float64): read-out loss, gradient and p_L (Objective.Evaluate)"] = 0,
            ["training (float64): flow adjoint (FlowPass.Backward) and penalty"] = 0,
            ["training (float64): Adam update"] = 0,
        };
        long step = 0;
        for (int start = 0; start < train.Rows; start += batch)
        {
            int count = Math.Min(batch, train.Rows - start);
            Time(times, "training (float64): gather the mini-batch", () => block.Gather(train, rows.AsSpan(start, count)));
            Time(times, "training (float64): flow forward (FlowPass.Forward)", () => FlowPass.Forward(shape, parameters.AsSpan(readoutLength, flowLength), epoch.Flow.StepSize, epoch.Flow.FlowViscosity, block.Inputs, block.Stride, count, states, gibbs));
            Time(times, "training (float64): terminal rows [z_L 1]", () =>
            {
                for (int row = 0; row < count; row++)
                {
                    states.AsSpan((shape.Steps * count * m) + (row * m), m).CopyTo(terminal.AsSpan(row * (m + 1), m));
                    terminal[(row * (m + 1)) + m] = 1.0;
                }
            });
            Time(times, "training (float64): read-out loss, gradient and p_L (Objective.Evaluate)", () => epoch.Readout.Evaluate(parameters.AsSpan(0, readoutLength), options.Viscosity, terminal, block.Targets, null, count, gradient.AsSpan(0, readoutLength), out _, costate));
            Time(times, "training (float64): flow adjoint (FlowPass.Backward) and penalty", () =>
            {
                Span<double> flowGradient = gradient.AsSpan(readoutLength, flowLength);
                flowGradient.Clear();
                FlowPass.Backward(shape, parameters.AsSpan(readoutLength, flowLength), epoch.Flow.StepSize, epoch.Flow.FlowViscosity, block.Inputs, block.Stride, count, states, gibbs, costate, scratch, flowGradient);
                TensorPrimitives.MultiplyAdd(parameters.AsSpan(readoutLength, flowLength), options.L2Regularisation, flowGradient, flowGradient);
            });
            step++;
            Time(times, "training (float64): Adam update", () => AdamStep(parameters, gradient, first, second, scratchMoments, options.LearningRate, step));
        }

        return times;
    }

    // The matrix products of one epoch's mini-batches alone, with FlowPass's and Objective's shapes (m = 784, J = 32,
    // K N = 80, 128-row batches and a last one of 64), in double (what training uses) and in float32.
    private static IEnumerable<Part> TrainingProducts(FlowEpoch epoch)
    {
        FlowShape shape = epoch.Flow.Shape;
        int m = shape.Width, pieces = shape.Pieces, steps = shape.Steps, all = epoch.Readout.AllPieces;
        int batch = epoch.Options.BatchSize;
        int[] batches = Enumerable.Range(0, (epoch.Train.Rows + batch - 1) / batch).Select(b => Math.Min(batch, epoch.Train.Rows - (b * batch))).ToArray();
        yield return new Part("training (float64): flow forward's products alone, double", Median(() => ForwardProducts<double>(batches, m, pieces, steps)));
        yield return new Part("training (float64): flow adjoint's products alone, double", Median(() => BackwardProducts<double>(batches, m, pieces, steps)));
        yield return new Part("training (float64): read-out's products alone, double", Median(() => ReadoutProducts<double>(batches, m, all)));
        yield return new Part("training (float32): the float64 split's products alone, in float32", Median(() =>
        {
            ForwardProducts<float>(batches, m, pieces, steps);
            BackwardProducts<float>(batches, m, pieces, steps);
            ReadoutProducts<float>(batches, m, all);
        }));
    }

    private static List<Part> Scoring()
    {
        HopfColeModel model = FlowCase.ScoringModel;
        GibbsFlow flow = model.Flow!;
        int d = model.InputDimension, m = flow.Width, rows = FlowCase.ScoringRows;
        double[] features = Array.ConvertAll(FlowCase.SingleFeatures, value => (double)value);
        var standardised = new double[rows * d];
        var terminal = new double[rows * m];
        var scores = new double[rows * model.OutputLength];
        var parts = new List<Part>
        {
            new("scoring 10000 rows: ScoreBatch (double), whole", Median(() => model.ScoreBatch(features, scores))),
            new("scoring 10000 rows: standardise", Median(() =>
            {
                for (int row = 0; row < rows; row++)
                {
                    model.Scaling.Apply(features.AsSpan(row * d, d), standardised.AsSpan(row * d, d));
                }
            })),
            new("scoring 10000 rows: flow transport (GibbsFlow.TransportBatch)", Median(() => flow.TransportBatch(standardised, terminal))),
            new("scoring 10000 rows: read-out on z_L (LseLayer.EvaluateBatch)", Median(() => model.Layer.EvaluateBatch(terminal, scores))),
        };

        // The float32 path (SinglePrecisionFlow): whole, its standardisation, and its combined product alone.
        float[] single = FlowCase.SingleFeatures;
        var singleScores = new float[rows * model.OutputLength];
        var singleStandardised = new float[rows * d];
        float[] means = Array.ConvertAll(model.Scaling.Means.ToArray(), value => (float)value);
        float[] inverseScales = Array.ConvertAll(model.Scaling.Scales.ToArray(), value => (float)(1 / value));
        var scorer = new SinglePrecisionFlow(flow, model.Layer.Weights, model.Layer.Biases, model.Layer.NumberOfHeads);
        parts.Add(new Part("scoring 10000 rows: ScoreBatch (float32), whole", Median(() => model.ScoreBatch(single, singleScores))));
        parts.Add(new Part("scoring 10000 rows: float32 standardise", Median(() =>
        {
            for (int row = 0; row < rows; row++)
            {
                Span<float> z = singleStandardised.AsSpan(row * d, d);
                TensorPrimitives.Subtract(single.AsSpan(row * d, d), means, z);
                TensorPrimitives.Multiply(z, inverseScales, z);
            }
        })));
        parts.Add(new Part("scoring 10000 rows: float32 combined product alone", Median(() => scorer.LogitsOnly(singleStandardised))));

        // TransportRows' tiles of 256 rows, two products per step.
        int[] tiles = Enumerable.Range(0, (rows + 255) / 256).Select(tile => Math.Min(256, rows - (tile * 256))).ToArray();
        parts.Add(new Part("scoring 10000 rows: transport's products alone, double", Median(() => ForwardProducts<double>(tiles, m, flow.Shape.Pieces, flow.Shape.Steps))));
        parts.Add(new Part("scoring 10000 rows: transport's products alone, float32", Median(() => ForwardProducts<float>(tiles, m, flow.Shape.Pieces, flow.Shape.Steps))));
        return parts;
    }

    private static void ForwardProducts<T>(int[] batches, int m, int pieces, int steps)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        IMatrixProduct product = MatrixProducts.Current;
        int most = batches.Max();
        T[] state = Buffer<T>(most * m), keys = Buffer<T>(pieces * m), weights = Buffer<T>(most * pieces), next = Buffer<T>(most * m);
        foreach (int rows in batches)
        {
            for (int step = 0; step < steps; step++)
            {
                product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, T.One, state, m, keys, m, T.Zero, weights, pieces);
                product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, T.One, weights, pieces, keys, m, T.One, next, m);
            }
        }
    }

    private static void BackwardProducts<T>(int[] batches, int m, int pieces, int steps)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        IMatrixProduct product = MatrixProducts.Current;
        int most = batches.Max();
        T[] costate = Buffer<T>(most * m), values = Buffer<T>(pieces * m), logit = Buffer<T>(most * pieces), gradient = Buffer<T>(pieces * m), weights = Buffer<T>(most * pieces);
        foreach (int rows in batches)
        {
            for (int step = 0; step < steps; step++)
            {
                product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, T.One, costate, m, values, m, T.Zero, logit, pieces);
                product.Multiply(Transpose.Yes, Transpose.No, pieces, m, rows, T.One, weights, pieces, costate, m, T.One, gradient, m);
                product.Multiply(Transpose.Yes, Transpose.No, pieces, m, rows, T.One, logit, pieces, costate, m, T.One, gradient, m);
                product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, T.One, logit, pieces, values, m, T.One, costate, m);
            }
        }
    }

    private static void ReadoutProducts<T>(int[] batches, int m, int all)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        IMatrixProduct product = MatrixProducts.Current;
        int most = batches.Max();
        int stride = m + 1;
        T[] inputs = Buffer<T>(most * stride), weights = Buffer<T>(stride * all), logits = Buffer<T>(most * all), gradient = Buffer<T>(stride * all), inputGradient = Buffer<T>(most * m);
        foreach (int rows in batches)
        {
            product.Multiply(Transpose.No, Transpose.No, rows, all, stride, T.One, inputs, stride, weights, all, T.Zero, logits, all);
            product.Multiply(Transpose.Yes, Transpose.No, stride, all, rows, T.One, inputs, stride, logits, all, T.One, gradient, all);
            product.Multiply(Transpose.No, Transpose.Yes, rows, m, all, T.One, logits, all, weights, all, T.Zero, inputGradient, m);
        }
    }

    // Small, finite, non-denormal operands: a product's speed does not depend on them.
    private static T[] Buffer<T>(int length)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var buffer = new T[length];
        for (int i = 0; i < length; i++)
        {
            buffer[i] = T.CreateTruncating(0.001 * ((i % 17) - 8));
        }

        return buffer;
    }

    // Adam's update as Adam.Step computes it (beta 0.9 and 0.999, epsilon 1e-8): one vectorised pass over the
    // parameters, the gradient and both moments.
    private static void AdamStep(double[] parameters, double[] gradient, double[] first, double[] second, double[] scratch, double rate, long step)
    {
        _ = scratch;
        double scale = -rate / (1 - Math.Pow(0.9, step));
        var correction = new System.Numerics.Vector<double>(1 - Math.Pow(0.999, step));
        var factor = new System.Numerics.Vector<double>(scale);
        int i = 0;
        for (; i <= parameters.Length - System.Numerics.Vector<double>.Count; i += System.Numerics.Vector<double>.Count)
        {
            var g = new System.Numerics.Vector<double>(gradient, i);
            System.Numerics.Vector<double> m = (g * 0.1) + (new System.Numerics.Vector<double>(first, i) * 0.9);
            System.Numerics.Vector<double> v = (g * g * 0.001) + (new System.Numerics.Vector<double>(second, i) * 0.999);
            m.CopyTo(first, i);
            v.CopyTo(second, i);
            ((m / (System.Numerics.Vector.SquareRoot(v / correction) + new System.Numerics.Vector<double>(1e-8)) * factor) + new System.Numerics.Vector<double>(parameters, i)).CopyTo(parameters, i);
        }

        for (; i < parameters.Length; i++)
        {
            double m = (gradient[i] * 0.1) + (first[i] * 0.9);
            double v = (gradient[i] * gradient[i] * 0.001) + (second[i] * 0.999);
            first[i] = m;
            second[i] = v;
            parameters[i] += m / (Math.Sqrt(v / (1 - Math.Pow(0.999, step))) + 1e-8) * scale;
        }
    }

    private static void Time(Dictionary<string, double> times, string name, Action action)
    {
        double start = ThreadMilliseconds();
        action();
        times[name] += ThreadMilliseconds() - start;
    }

    /// <summary>Whether the clock is the thread's CPU time (Linux) rather than wall time.</summary>
    public static bool CpuClock => OperatingSystem.IsLinux();

    private static readonly Stopwatch Wall = Stopwatch.StartNew();

    private static double ThreadMilliseconds()
    {
        if (!CpuClock)
        {
            return Wall.Elapsed.TotalMilliseconds;
        }

        _ = ClockGetTime(ThreadCpuClock, out TimeSpec time);
        return (time.Seconds * 1e3) + (time.Nanoseconds * 1e-6);
    }

    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    // One warm-up call, then the median of Rounds timed calls, in milliseconds of the thread's CPU time.
    private static double Median(Action action)
    {
        action();
        var times = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            double start = ThreadMilliseconds();
            action();
            times.Add(ThreadMilliseconds() - start);
        }

        return MedianOf(times);
    }

    private static double MedianOf(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
