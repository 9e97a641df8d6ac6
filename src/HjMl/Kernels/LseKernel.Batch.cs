using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// Batch scoring: tiles of rows, in parallel on the tile scheduler's workers.
internal sealed unsafe partial class LseKernel<T>
{
    /// <summary>
    /// Scores the rows of <paramref name="inputs"/> (d values each) into <paramref name="outputs"/> as
    /// <paramref name="readout"/> says, standardising each row first when <paramref name="means"/> is not empty: as
    /// (x - mean) / scale in double, and as (x - mean) * scale in float, where <paramref name="scales"/> then holds the
    /// reciprocals of the scales. Tiles run in parallel. Returns -1, or the first row that holds a NaN or
    /// infinite value; outputs are then unspecified.
    /// </summary>
    public int EvaluateBatch<TOut>(ReadOnlySpan<T> inputs, Span<TOut> outputs, double viscosity, Readout readout, ReadOnlySpan<T> means = default, ReadOnlySpan<T> scales = default)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        int rows = inputs.Length / Dimension;
        if (rows == 0)
        {
            return -1;
        }

        int tiles = (rows + TileRows - 1) / TileRows;
        fixed (T* input = inputs)
        fixed (TOut* output = outputs)
        fixed (T* mean = means)
        fixed (T* scale = scales)
        {
            if (tiles > 1)
            {
                return BatchJob<TOut>.Run(this, input, rows, tiles, output, viscosity, readout, mean, scale);
            }

            // One tile runs on the caller's thread, in its per-thread buffers.
            Span<T> logits = AlignedBuffer<T>.Rent(ref tileLogits, LogitBufferLength(rows));
            Span<double> headScores = AlignedBuffer<double>.Rent(ref tileScores, 2 * rows * Heads);
            Span<T> standardised = means.IsEmpty ? default : AlignedBuffer<T>.Rent(ref tileInputs, rows * Dimension);
            return ScoreTile(input, 0, rows, output, viscosity, readout, mean, scale, logits, headScores, standardised);
        }
    }

    /// <summary>
    /// Only the logits z = W x + b of every row, tile by tile in parallel like <see cref="EvaluateBatch"/>, into per-thread
    /// buffers that are then dropped: the kernel's matrix-product half alone, which the benchmarks' roofline measures
    /// as one of the machine's sgemm implementations.
    /// </summary>
    internal void LogitsOnly(ReadOnlySpan<T> inputs)
    {
        int rows = inputs.Length / Dimension;
        int tiles = (rows + TileRows - 1) / TileRows;
        fixed (T* input = inputs)
        {
            nint address = (nint)input;
            Parallel.For(0, tiles, Parallelism, tile =>
            {
                int first = tile * TileRows;
                int count = Math.Min(TileRows, rows - first);
                Span<T> logits = AlignedBuffer<T>.Rent(ref tileLogits, (count * Columns) + Lanes);
                fixed (T* z = logits)
                {
                    T* x = (T*)address + ((long)first * Dimension);
                    switch (VectorWidth)
                    {
                        case VectorWidth.Bits512:
                            Logits<Vector512<T>, Simd512<T>>(x, count, z);
                            break;
                        case VectorWidth.Bits256:
                            Logits<Vector256<T>, Simd256<T>>(x, count, z);
                            break;
                        default:
                            Logits<Vector128<T>, Simd128<T>>(x, count, z);
                            break;
                    }
                }
            });
        }
    }

    // The logits of a chunk of rows, and one vector of slack for the tail loads of the last row.
    private int LogitBufferLength(int rows) => (Math.Min(rows, ChunkRows) * Columns) + Lanes;

    // One tile: standardise, score, check and read out rows [first, first + count) with the buffers given (at least
    // LogitBufferLength(count) logits, 2 count K head scores, count d standardised inputs when there are means).
    // Returns -1 or the first invalid row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ScoreTile<TOut>(T* inputs, int first, int count, TOut* outputs, double viscosity, Readout readout, T* means, T* scales, Span<T> logits, Span<double> headScores, Span<T> standardised)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        int d = Dimension;
        T* rows = inputs + ((long)first * d);
        fixed (T* z = logits)
        fixed (double* scores = headScores)
        fixed (T* transformed = standardised)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    ScoreTile<Vector512<T>, Simd512<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
                case VectorWidth.Bits256:
                    ScoreTile<Vector256<T>, Simd256<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
                default:
                    ScoreTile<Vector128<T>, Simd128<T>>(rows, count, means, scales, transformed, z, scores, scores + (count * Heads), viscosity);
                    break;
            }

            // A NaN or infinite input makes every logit of its row NaN or infinite (NaN * w and inf * 0 are NaN), so
            // each head's maximum is non-finite whichever lane the processor's max keeps, and so is its score: the
            // tile's scores reveal a bad input without a pass over the inputs; only then are the rows looked at. A score
            // can also overflow from huge finite inputs, which is the score's true float value and is left as it is.
            var tileScores = new ReadOnlySpan<double>(scores, count * Heads);
            if (!double.IsFinite(TensorPrimitives.Sum(tileScores) * 0))
            {
                int invalid = FirstInvalidRow(rows, tileScores, count);
                if (invalid >= 0)
                {
                    return first + invalid;
                }
            }

            int outputsPerRow = readout.OutputsPerRow(Heads);
            readout.Write(tileScores, Heads, new Span<TOut>(outputs + ((long)first * outputsPerRow), count * outputsPerRow));
        }

        return -1;
    }

    private int FirstInvalidRow(T* rows, ReadOnlySpan<double> headScores, int count)
    {
        for (int row = 0; row < count; row++)
        {
            if (double.IsFinite(TensorPrimitives.Sum(headScores.Slice(row * Heads, Heads)) * 0))
            {
                continue;
            }

            var values = new ReadOnlySpan<T>(rows + ((long)row * Dimension), Dimension);
            foreach (T value in values)
            {
                if (!T.IsFinite(value))
                {
                    return row;
                }
            }
        }

        return -1;
    }

    // With means, the rows are standardised into the tile buffer as the first column block reaches them, so that reading
    // the raw rows from memory overlaps with the products instead of being a pass of its own.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreTile<TVector, TSimd>(T* rows, int count, T* means, T* scales, T* standardised, T* logits, double* headScores, double* sums, double viscosity)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        Standardisation standardisation = means == null ? default : new Standardisation(rows, means, scales, Dimension);
        ScoreRows<TVector, TSimd>(means == null ? rows : standardised, count, logits, headScores, sums, viscosity, standardisation);
    }

    // One multi-tile batch: the pointers and settings every tile needs. One per calling thread, reused, so that scoring
    // allocates nothing; the calling thread scores into its per-thread buffers, workers into the ones the caller sized.
    private sealed class BatchJob<TOut> : TileJob
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        [ThreadStatic]
        private static BatchJob<TOut>? reusable;

        private LseKernel<T>? kernel;
        private T* input;
        private TOut* output;
        private T* means;
        private T* scales;
        private int rows;
        private double viscosity;
        private Readout readout;
        private int firstInvalid;

        public static int Run(LseKernel<T> kernel, T* input, int rows, int tiles, TOut* output, double viscosity, Readout readout, T* means, T* scales)
        {
            BatchJob<TOut> job = reusable ??= new BatchJob<TOut>();
            job.kernel = kernel;
            job.input = input;
            job.output = output;
            job.means = means;
            job.scales = scales;
            job.rows = rows;
            job.viscosity = viscosity;
            job.readout = readout;
            job.firstInvalid = int.MaxValue;
            try
            {
                job.Run(tiles);
            }
            finally
            {
                job.kernel = null;
            }

            return job.firstInvalid == int.MaxValue ? -1 : job.firstInvalid;
        }

        public override void PrepareWorkers(int workers)
        {
            LseKernel<T> owner = kernel!;
            WorkerBuffers.Reserve(workers, means == null ? 0 : owner.TileRows * owner.Dimension, owner.LogitBufferLength(owner.TileRows), 2 * owner.TileRows * owner.Heads);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void RunTile(int tile, int worker)
        {
            LseKernel<T> owner = kernel!;
            int first = tile * owner.TileRows;
            int count = Math.Min(owner.TileRows, rows - first);
            int logitLength = owner.LogitBufferLength(count);
            int inputLength = means == null ? 0 : count * owner.Dimension;
            Span<T> logits = worker < 0 ? AlignedBuffer<T>.Rent(ref tileLogits, logitLength) : WorkerBuffers.TileLogits(worker, logitLength);
            Span<double> headScores = worker < 0 ? AlignedBuffer<double>.Rent(ref tileScores, 2 * count * owner.Heads) : WorkerBuffers.TileScores(worker, 2 * count * owner.Heads);
            Span<T> standardised = inputLength == 0 ? default : worker < 0 ? AlignedBuffer<T>.Rent(ref tileInputs, inputLength) : WorkerBuffers.TileInputs(worker, inputLength);
            int invalid = owner.ScoreTile(input, first, count, output, viscosity, readout, means, scales, logits, headScores, standardised);
            if (invalid >= 0)
            {
                // The lowest invalid row wins, whichever tile finds it first, so the message does not depend on timing.
                int seen = Volatile.Read(ref firstInvalid);
                while (invalid < seen)
                {
                    int previous = Interlocked.CompareExchange(ref firstInvalid, invalid, seen);
                    if (previous == seen)
                    {
                        break;
                    }

                    seen = previous;
                }
            }
        }
    }

    // Batch scoring's tile buffers for the scheduler's worker threads, one set per worker index. The calling thread sizes
    // them, under the scheduler's lock, before a batch starts (Reserve), so a worker never allocates and no allocation
    // depends on which threads happen to take part in a batch.
    private static class WorkerBuffers
    {
        private static T[]?[] inputs = [];
        private static T[]?[] logits = [];
        private static double[]?[] scores = [];

        // Makes the buffers of workers 0..workers - 1 at least these long (only under the scheduler's lock).
        public static void Reserve(int workers, int inputLength, int logitLength, int scoreLength)
        {
            if (inputs.Length < workers)
            {
                Array.Resize(ref inputs, workers);
                Array.Resize(ref logits, workers);
                Array.Resize(ref scores, workers);
            }

            for (int worker = 0; worker < workers; worker++)
            {
                Grow(ref inputs[worker], inputLength);
                Grow(ref logits[worker], logitLength);
                Grow(ref scores[worker], scoreLength);
            }
        }

        public static Span<T> TileInputs(int worker, int length) => inputs[worker].AsSpan(0, length);

        public static Span<T> TileLogits(int worker, int length) => logits[worker].AsSpan(0, length);

        public static Span<double> TileScores(int worker, int length) => scores[worker].AsSpan(0, length);

        private static void Grow<TElement>(ref TElement[]? buffer, int length)
        {
            if (length > 0 && (buffer is null || buffer.Length < length))
            {
                buffer = new TElement[length];
            }
        }
    }
}
