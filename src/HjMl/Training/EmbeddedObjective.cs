using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HjMl.Embeddings;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Training;

/// <summary>
/// The training loss of a periodic embedding alone before the LSE read-out (a flow of depth 0: z = [x_P, v(x)], the
/// passed-through features, then the embedded vectors) and its exact gradient, fused per tile of rows, in double or
/// float32 (<see cref="ReadoutLoss.SinglePrecision"/>): the same function and gradient as <see cref="Objective"/> on the
/// states <see cref="Flows.FlowPass"/> writes followed by the embedding's adjoint, computed in fewer operations.
/// The passed-through features are binary on the training rows (the embedding takes every feature with more than two
/// values), so each is written x_i = base_i + delta_i, base_i the evaluation's value of least magnitude (a standardised
/// binary feature's more frequent value), and delta_i is zero on most rows: with the read-out's W = [W_P W_V],
/// the logits are Z' = (V W_V^T + sum over nonzero delta_i of delta_i w_i + W_P base + b) / eps, one matrix product over
/// the embedded vectors only, and dL/dW_P = sum over rows of delta G + base (1^T G). Per row and head, as Objective: the
/// max shift, exp, sum, the loss, then G = delta pi (THEORY.md section 3); then dW_V = G^T V, the embedded vectors'
/// co-states P_V = G W_V / (total weight), and <see cref="PeriodicEmbedding.BackwardBlock"/>. The passed-through
/// features' co-states are never formed. Rows are split into fixed chunks, as FlowObjective splits them, each summed in
/// double and reduced in chunk order: deterministic for a data set, parameters and thread count.
/// </summary>
/// <typeparam name="T">double, or float32 for Adam.</typeparam>
internal sealed class EmbeddedObjective<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int MinimumChunkRows = 64;

    // Rows per tile: Adam's batches of 128 rows split into two chunks of one tile each; longer evaluations (validation,
    // full batches) keep a tile's periodic features, logits and co-states in the cache.
    private const int TileRows = 128;

    // Rows whose passed-through values choose the bases.
    private const int BaseRows = 32;

    private readonly ReadoutLoss loss;
    private readonly EmbeddingShape shape;
    private readonly int threads;
    private readonly int passed;
    private readonly int embeddedWidth;
    private readonly int width;
    private readonly int all;
    private readonly int[] passedFeatures;

    // Prepared per evaluation from the parameters and shared by the chunks: the embedding's parameters (packed),
    // [W_V, W_P base + b] / eps (K N x (n e + 1): the constant multiplies the embedded vectors' trailing 1), W_P^T / eps
    // (|P| x K N), and the bases.
    private readonly T[] embeddingParameters;
    private readonly T[] embeddedWeights;
    private readonly T[] passedWeights;
    private readonly double[] bases;
    private Workspace[] workspaces = [];
    private readonly ChunkJob job;

    public EmbeddedObjective(ReadoutLoss loss, EmbeddingShape shape, int threads)
    {
        this.loss = loss;
        this.shape = shape;
        this.threads = Math.Max(1, threads);
        passed = shape.PassedThrough.Count;
        embeddedWidth = shape.Features.Count * shape.Width;
        width = shape.OutputWidth;
        all = loss.Heads * loss.Pieces;
        passedFeatures = [.. shape.PassedThrough];
        embeddingParameters = new T[shape.ParameterCount];
        embeddedWeights = new T[all * (embeddedWidth + 1)];
        passedWeights = new T[passed * all];
        bases = new double[passed];
        job = new ChunkJob(this);
    }

    /// <summary>The read-out's parameters: W (K N x m) and b (K N).</summary>
    public int ReadoutLength => all * (width + 1);

    // Per chunk: its gradient in double, [dW_V db] (K N x (n e + 1)), dW_P^T (|P| x K N), the embedding's (packed), then the loss.
    private int GradientLength => (all * (embeddedWidth + 1)) + (passed * all) + shape.ParameterCount;

    /// <summary>
    /// The weighted mean loss plus lambda/2 |W|^2 over <paramref name="rows"/> rows (the read-out's penalty; the caller adds
    /// the embedding's), and, when <paramref name="readoutGradient"/> is not empty, its gradient: the read-out's W then b
    /// into <paramref name="readoutGradient"/>, the embedding's (without penalty) into <paramref name="embeddingGradient"/>.
    /// </summary>
    /// <param name="readout">W (K N x m) then b (K N).</param>
    /// <param name="embedding">The embedding's parameters (<see cref="EmbeddingShape"/> layout).</param>
    /// <param name="viscosity">The read-out's eps.</param>
    /// <param name="inputs">Rows of d standardised features and a 1.</param>
    /// <param name="targets">Per row: standardised label, 0/1, or class index.</param>
    /// <param name="weights">Per-row example weights, or null for 1.</param>
    /// <param name="rows">The rows to use, from the first.</param>
    /// <param name="readoutGradient">Receives dL/dW then dL/db, or empty for the loss alone.</param>
    /// <param name="embeddingGradient">Receives the embedding's gradient when <paramref name="readoutGradient"/> is not empty.</param>
    /// <param name="rowScores">
    /// Null, or room for every row's scores from the same pass: f_0 - f_1 per row (regression, binary), or the K head
    /// scores (multiclass), as <see cref="TrainingObjective.Score"/> gives them.
    /// </param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Evaluate(ReadOnlySpan<double> readout, ReadOnlySpan<double> embedding, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> readoutGradient, Span<double> embeddingGradient, double[]? rowScores = null)
    {
        int stride = shape.InputDimension + 1;
        bool wantGradient = !readoutGradient.IsEmpty;
        int chunks = Math.Max(1, Math.Min(threads, rows / MinimumChunkRows));
        int chunkRows = (rows + chunks - 1) / chunks;
        Prepare(readout, embedding, viscosity, inputs, stride, rows);
        if (workspaces.Length < chunks)
        {
            Array.Resize(ref workspaces, chunks);
        }

        for (int chunk = 0; chunk < chunks; chunk++)
        {
            workspaces[chunk] ??= new Workspace(this);
        }

        double weightSum = weights is null ? rows : TensorPrimitives.Sum<double>(weights.AsSpan(0, rows));
        job.Set(inputs, targets, weights, rows, chunkRows, viscosity, viscosity / weightSum, wantGradient, rowScores);
        if (chunks == 1)
        {
            job.RunTile(0, -1);
        }
        else if (threads >= Environment.ProcessorCount)
        {
            // Every core: the kernels' long-lived workers rather than thread-pool threads, as the plain layer's training.
            job.Run(chunks);
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.RunChunk);
        }

        // Reduce in chunk order: deterministic for a given thread count.
        int length = wantGradient ? GradientLength + 1 : 1;
        Span<double> total = workspaces[0].Accumulator.AsSpan(0, length);
        for (int chunk = 1; chunk < chunks; chunk++)
        {
            TensorPrimitives.Add(total, workspaces[chunk].Accumulator.AsSpan(0, length), total);
        }

        ReadOnlySpan<double> w = readout[..(all * width)];
        double value = (total[^1] / weightSum) + (loss.Regularisation == 0 ? 0 : 0.5 * loss.Regularisation * TensorPrimitives.Dot(w, w));
        if (wantGradient)
        {
            Unpack(total, weightSum, w, readoutGradient, embeddingGradient);
        }

        return value;
    }

    // The shared, scaled copies of the parameters, and the bases of the passed-through features on these rows.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Prepare(ReadOnlySpan<double> readout, ReadOnlySpan<double> embedding, double viscosity, double[] inputs, int stride, int rows)
    {
        // The bases from the first rows only: any base gives the same sums, and a feature's more frequent value is among
        // the first BaseRows rows unless it is rare there, which costs only speed.
        for (int i = 0; i < passed; i++)
        {
            bases[i] = inputs[passedFeatures[i]];
        }

        for (int row = 1; row < Math.Min(rows, BaseRows); row++)
        {
            ReadOnlySpan<double> x = inputs.AsSpan(row * stride, stride);
            for (int i = 0; i < passed; i++)
            {
                double value = x[passedFeatures[i]];
                bases[i] = Math.Abs(value) < Math.Abs(bases[i]) ? value : bases[i];
            }
        }

        double inverse = 1 / viscosity;
        ReadOnlySpan<double> bias = readout.Slice(all * width, all);
        for (int j = 0; j < all; j++)
        {
            ReadOnlySpan<double> piece = readout.Slice(j * width, width);
            for (int i = 0; i < passed; i++)
            {
                passedWeights[(i * all) + j] = T.CreateTruncating(piece[i] * inverse);
            }

            Span<T> embedded = embeddedWeights.AsSpan(j * (embeddedWidth + 1), embeddedWidth + 1);
            PeriodicEmbedding.ScaleConvert(piece.Slice(passed, embeddedWidth), inverse, embedded[..embeddedWidth]);

            embedded[embeddedWidth] = T.CreateTruncating((bias[j] + TensorPrimitives.Dot(piece[..passed], bases)) * inverse);
        }

        PeriodicEmbedding.Pack<T>(shape, embedding, embeddingParameters);
    }

    // One chunk of rows, tile by tile: its loss and (when wanted) its gradient summed in double into its accumulator.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Chunk(Workspace workspace, double[] inputs, int stride, double[] targets, double[]? weights, int first, int count, double viscosity, double costateScale, bool wantGradient, double[]? rowScores)
    {
        int heads = loss.Heads;
        int pieces = loss.Pieces;
        int gradientLength = GradientLength;
        IMatrixProduct product = MatrixProducts.Current;
        Span<double> accumulator = workspace.Accumulator;
        bool summed = false;
        Span<double> scores = stackalloc double[heads];
        Span<double> sums = stackalloc double[heads];
        Span<double> deltas = stackalloc double[heads];
        double lossSum = 0;
        for (int start = 0; start < count; start += TileRows)
        {
            int tile = Math.Min(TileRows, count - start);
            int firstRow = first + start;
            ReadOnlySpan<double> rows = inputs.AsSpan(firstRow * stride);
            Span<T> embedded = workspace.Embedded.AsSpan(0, tile * (embeddedWidth + 1));
            Span<T> logits = workspace.Logits.AsSpan(0, tile * all);
            PeriodicEmbedding.ForwardBlock<T>(shape, embeddingParameters, rows, stride, tile, workspace.Periodic, embedded, embeddedWidth + 1);
            product.Multiply(Transpose.No, Transpose.Yes, tile, all, embeddedWidth + 1, T.One, embedded, embeddedWidth + 1, embeddedWeights, embeddedWidth + 1, T.Zero, logits, all);
            for (int row = 0; row < tile; row++)
            {
                Span<T> z = logits.Slice(row * all, all);
                ReadOnlySpan<double> x = rows.Slice(row * stride, shape.InputDimension);
                int active = 0;
                for (int i = 0; i < passed; i++)
                {
                    double value = x[passedFeatures[i]];
                    if (value != bases[i])
                    {
                        T delta = T.CreateTruncating(value - bases[i]);
                        AddScaled(passedWeights.AsSpan(i * all, all), delta, z);
                        workspace.ActiveFeatures[(row * passed) + active] = i;
                        workspace.ActiveDeltas[(row * passed) + active] = delta;
                        active++;
                    }
                }

                workspace.ActiveCounts[row] = active;
                for (int head = 0; head < heads; head++)
                {
                    // In place: the head's scaled logits become exp(z' - m'); f = eps (m' + log S).
                    Span<T> exponentials = z.Slice(head * pieces, pieces);
                    scores[head] = viscosity * double.CreateTruncating(LogSumExp.Evaluate<T>(exponentials, T.One, exponentials, out T sum));
                    sums[head] = double.CreateTruncating(sum);
                }

                if (rowScores is not null)
                {
                    WriteScores(scores, rowScores, firstRow + row);
                }

                double weight = weights is null ? 1.0 : weights[firstRow + row];
                lossSum += weight * loss.Evaluate(scores, targets[firstRow + row], deltas);
                for (int head = 0; head < heads; head++)
                {
                    // G = delta pi = exp(z' - m') (delta / S).
                    LogSumExp.MultiplyWithoutSubnormals(z.Slice(head * pieces, pieces), T.CreateTruncating(weight * deltas[head] / sums[head]));
                }
            }

            if (wantGradient)
            {
                Backward(workspace, product, rows, stride, tile, costateScale);
                // The first tile's sums are written, not added to cleared room (the same numbers: 0 + x).
                if (summed)
                {
                    AddWidened(workspace.TileGradient, accumulator[..gradientLength]);
                }
                else
                {
                    Widen(workspace.TileGradient, accumulator[..gradientLength]);
                    summed = true;
                }
            }
        }

        if (wantGradient && !summed)
        {
            accumulator[..gradientLength].Clear();
        }

        accumulator[wantGradient ? gradientLength : 0] = lossSum;
    }

    // A row's scores in TrainingObjective.Score's convention: f_0 - f_1, or the K head scores.
    private void WriteScores(ReadOnlySpan<double> scores, double[] rowScores, int row)
    {
        if (loss.Kind == Models.ModelKind.MulticlassClassification)
        {
            scores.CopyTo(rowScores.AsSpan(row * scores.Length, scores.Length));
        }
        else
        {
            rowScores[row] = scores[0] - scores[1];
        }
    }

    // A tile's gradient from G (in the logits' place) into the tile's own sums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Backward(Workspace workspace, IMatrixProduct product, ReadOnlySpan<double> rows, int stride, int tile, double costateScale)
    {
        Span<T> logits = workspace.Logits.AsSpan(0, tile * all);
        Span<T> embedded = workspace.Embedded.AsSpan(0, tile * (embeddedWidth + 1));
        Span<T> costate = workspace.Costate.AsSpan(0, tile * embeddedWidth);
        Span<T> gradient = workspace.TileGradient;
        Span<T> embeddedGradient = gradient[..(all * (embeddedWidth + 1))];
        Span<T> passedGradient = gradient.Slice(all * (embeddedWidth + 1), passed * all);
        Span<T> embeddingGradient = gradient[((all * (embeddedWidth + 1)) + (passed * all))..];
        gradient[(all * (embeddedWidth + 1))..].Clear();

        // [dW_V db] = G^T [V 1]; dW_P^T = sum over rows of delta G (then base db, added once at the end).
        product.Multiply(Transpose.Yes, Transpose.No, all, embeddedWidth + 1, tile, T.One, logits, all, embedded, embeddedWidth + 1, T.Zero, embeddedGradient, embeddedWidth + 1);
        for (int row = 0; row < tile; row++)
        {
            ReadOnlySpan<T> g = logits.Slice(row * all, all);
            for (int a = 0; a < workspace.ActiveCounts[row]; a++)
            {
                Span<T> target = passedGradient.Slice(workspace.ActiveFeatures[(row * passed) + a] * all, all);
                AddScaled(g, workspace.ActiveDeltas[(row * passed) + a], target);
            }
        }

        // P_V = G W_V / (total weight), W_V = eps times the scaled copy; then back through the embedding.
        product.Multiply(Transpose.No, Transpose.No, tile, embeddedWidth, all, T.CreateTruncating(costateScale), logits, all, embeddedWeights, embeddedWidth + 1, T.Zero, costate, embeddedWidth);
        PeriodicEmbedding.BackwardBlock<T>(shape, embeddingParameters, rows, stride, tile, workspace.Periodic, embedded, embeddedWidth + 1, costate, embeddedWidth, workspace.Scratch, embeddingGradient, default, 0);
    }

    // The summed gradient in the parameters' layout: dL/dW = (sums) / total weight + lambda W, dL/db, the embedding's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Unpack(ReadOnlySpan<double> total, double weightSum, ReadOnlySpan<double> w, Span<double> readoutGradient, Span<double> embeddingGradient)
    {
        ReadOnlySpan<double> passedGradient = total.Slice(all * (embeddedWidth + 1), passed * all);
        Span<double> biasGradient = readoutGradient.Slice(all * width, all);
        for (int j = 0; j < all; j++)
        {
            ReadOnlySpan<double> embeddedGradient = total.Slice(j * (embeddedWidth + 1), embeddedWidth + 1);
            double bias = embeddedGradient[embeddedWidth];
            Span<double> piece = readoutGradient.Slice(j * width, width);
            for (int i = 0; i < passed; i++)
            {
                piece[i] = (passedGradient[(i * all) + j] + (bases[i] * bias)) / weightSum;
            }

            TensorPrimitives.Divide(embeddedGradient[..embeddedWidth], weightSum, piece[passed..]);
            biasGradient[j] = bias / weightSum;
        }

        Span<double> weightGradient = readoutGradient[..(all * width)];
        if (loss.Regularisation != 0)
        {
            TensorPrimitives.MultiplyAdd(w, loss.Regularisation, weightGradient, weightGradient);
        }

        embeddingGradient.Clear();
        PeriodicEmbedding.AddUnpacked<double>(shape, total.Slice((all * (embeddedWidth + 1)) + (passed * all), shape.ParameterCount), embeddingGradient);
    }

    // A chunk's buffers, kept between evaluations (one optimiser run evaluates from one thread at a time).
    private sealed class Workspace(EmbeddedObjective<T> objective)
    {
        public T[] Periodic { get; } = new T[PeriodicEmbedding.PeriodicLength(objective.shape, TileRows)];

        // [V 1]: the trailing 1 of every row is written once, and the embedding writes only V.
        public T[] Embedded { get; } = Ones(TileRows, objective.embeddedWidth);

        public T[] Logits { get; } = new T[TileRows * objective.all];

        public T[] Costate { get; } = new T[TileRows * objective.embeddedWidth];

        public T[] Scratch { get; } = new T[PeriodicEmbedding.ScratchLength(objective.shape, TileRows)];

        public int[] ActiveFeatures { get; } = new int[TileRows * objective.passed];

        public T[] ActiveDeltas { get; } = new T[TileRows * objective.passed];

        public int[] ActiveCounts { get; } = new int[TileRows];

        public T[] TileGradient { get; } = new T[objective.GradientLength];

        public double[] Accumulator { get; } = new double[objective.GradientLength + 1];
    }

    /// <summary>
    /// destination = (x * scale) + destination, element by element with the product rounded before the sum, as
    /// TensorPrimitives.MultiplyAdd gives it: inline for the few short rows a passed-through feature adds per row, where a
    /// library call's overhead would outweigh the work (and run unoptimised early in a process).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddScaled(ReadOnlySpan<T> x, T scale, Span<T> destination)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var factor = new Vector<T>(scale);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                ((new Vector<T>(x[i..]) * factor) + new Vector<T>(destination[i..])).CopyTo(destination[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            destination[i] = (x[i] * scale) + destination[i];
        }
    }

    // destination = 0 + source, widened to double: what AddWidened leaves in cleared room, bit for bit (adding +0 turns
    // a -0 into +0 as it does there).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<T> source, Span<double> destination)
    {
        int i = 0;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated)
        {
            ReadOnlySpan<float> single = MemoryMarshal.Cast<T, float>(source);
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(single[i..]), out Vector<double> low, out Vector<double> high);
                (Vector<double>.Zero + low).CopyTo(destination[i..]);
                (Vector<double>.Zero + high).CopyTo(destination[(i + Vector<double>.Count)..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = 0.0 + double.CreateTruncating(source[i]);
        }
    }

    // destination += source, widened to double.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddWidened(ReadOnlySpan<T> source, Span<double> destination)
    {
        int i = 0;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated)
        {
            ReadOnlySpan<float> single = MemoryMarshal.Cast<T, float>(source);
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(single[i..]), out Vector<double> low, out Vector<double> high);
                (new Vector<double>(destination[i..]) + low).CopyTo(destination[i..]);
                (new Vector<double>(destination[(i + Vector<double>.Count)..]) + high).CopyTo(destination[(i + Vector<double>.Count)..]);
            }
        }
        else if (typeof(T) == typeof(double))
        {
            TensorPrimitives.Add(destination, MemoryMarshal.Cast<T, double>(source), destination);
            return;
        }

        for (; i < source.Length; i++)
        {
            destination[i] += double.CreateTruncating(source[i]);
        }
    }

    private static T[] Ones(int rows, int width)
    {
        var buffer = new T[rows * (width + 1)];
        for (int row = 0; row < rows; row++)
        {
            buffer[(row * (width + 1)) + width] = T.One;
        }

        return buffer;
    }

    // The chunks of an evaluation as a TileJob, kept between evaluations (each chunk has its own workspace, so workers
    // need no sizing): what the chunks read is set before each run.
    private sealed class ChunkJob(EmbeddedObjective<T> objective) : TileJob
    {
        private double[] inputs = [];
        private double[] targets = [];
        private double[]? weights;
        private int rows;
        private int chunkRows;
        private double viscosity;
        private double costateScale;
        private bool wantGradient;
        private double[]? rowScores;

        public Action<int> RunChunk => field ??= chunk => RunTile(chunk, -1);

        public void Set(double[] inputs, double[] targets, double[]? weights, int rows, int chunkRows, double viscosity, double costateScale, bool wantGradient, double[]? rowScores)
        {
            this.inputs = inputs;
            this.targets = targets;
            this.weights = weights;
            this.rows = rows;
            this.chunkRows = chunkRows;
            this.viscosity = viscosity;
            this.costateScale = costateScale;
            this.wantGradient = wantGradient;
            this.rowScores = rowScores;
        }

        public override void RunTile(int tile, int worker)
        {
            int first = tile * chunkRows;
            objective.Chunk(objective.workspaces[tile], inputs, objective.shape.InputDimension + 1, targets, weights, first, Math.Max(0, Math.Min(chunkRows, rows - first)), viscosity, costateScale, wantGradient, rowScores);
        }

        public override void PrepareWorkers(int workers)
        {
        }
    }
}
