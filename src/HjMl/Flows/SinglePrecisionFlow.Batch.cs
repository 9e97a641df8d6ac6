using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Kernels;

namespace HjMl.Flows;

// Batch scoring through the float32 flow: standardise, combined logits, steps and read-out tile by tile, tiles in parallel.
internal sealed partial class SinglePrecisionFlow
{
    // A tile's rows and logits fit half a 1 MiB L2, leaving the rest to the combined weights.
    private const int TileBytes = 512 * 1024;

    // The calling thread's tile buffers: standardised rows, their combined logits, their head scores.
    [ThreadStatic]
    private static float[]? standardisedScratch;

    [ThreadStatic]
    private static float[]? tileLogitScratch;

    [ThreadStatic]
    private static double[]? headScratch;

    /// <summary>
    /// Scores raw float32 rows (d each, back to back) into <paramref name="outputs"/>: each row standardised as
    /// (x - mean) * (1 / scale) with <paramref name="means"/> and <paramref name="inverseScales"/>, then scored as
    /// <see cref="ScoreRow"/> does at <paramref name="viscosity"/> and read out as <paramref name="reading"/> says. Tiles of
    /// <see cref="TileRows"/> rows run in parallel on the scoring workers; one tile runs on the calling thread. Returns -1,
    /// or the first row holding a NaN or infinite feature (outputs are then unspecified). A row whose float32 arithmetic
    /// overflows gets NaN or infinite outputs, which the caller's check of the outputs finds.
    /// </summary>
    public unsafe int ScoreBatch(ReadOnlySpan<float> features, ReadOnlySpan<float> means, ReadOnlySpan<float> inverseScales, double viscosity, Readout reading, Span<float> outputs)
    {
        int rows = features.Length / InputDimension;
        if (rows == 0)
        {
            return -1;
        }

        int tileRows = TileRows;
        int tiles = (rows + tileRows - 1) / tileRows;
        fixed (float* input = features)
        fixed (float* mean = means)
        fixed (float* scale = inverseScales)
        fixed (float* output = outputs)
        {
            return BatchJob.Run(new BatchSettings(this, viscosity, reading, input, mean, scale, output, rows, tileRows), tiles);
        }
    }

    /// <summary>
    /// Only the combined product of standardised rows (d each), tile by tile on the calling thread, into a per-thread
    /// buffer that is then dropped: the scoring path's matrix-product half alone, for the benchmarks' split.
    /// </summary>
    internal void LogitsOnly(ReadOnlySpan<float> standardised)
    {
        int rows = standardised.Length / InputDimension;
        for (int first = 0; first < rows; first += TileRows)
        {
            int count = Math.Min(TileRows, rows - first);
            Span<float> logits = AlignedBuffer<float>.Rent(ref tileLogitScratch, linear.BatchLogitsLength(count));
            Logits(standardised.Slice(first * InputDimension, count * InputDimension), count, logits);
        }
    }

    /// <summary>Rows per tile: the tile's standardised rows and logits fit half of a 1 MiB L2 beside the weights.</summary>
    public int TileRows => Math.Clamp(TileBytes / (sizeof(float) * (InputDimension + linear.Columns)) / 8 * 8, 8, 256);

    // One tile: returns -1, or the first row (of the whole batch) with a NaN or infinite feature. Compiled optimised on
    // first call, as the kernels are, so that a first batch does not run its tiles through unoptimised code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int ScoreTile(in BatchSettings batch, int tile)
    {
        int d = InputDimension;
        int first = tile * batch.TileRows;
        int count = Math.Min(batch.TileRows, batch.Rows - first);
        var raw = new ReadOnlySpan<float>(batch.Features + ((long)first * d), count * d);
        var means = new ReadOnlySpan<float>(batch.Means, d);
        var scales = new ReadOnlySpan<float>(batch.InverseScales, d);
        Span<float> standardised = AlignedBuffer<float>.Rent(ref standardisedScratch, count * d);
        Span<float> logits = AlignedBuffer<float>.Rent(ref tileLogitScratch, linear.BatchLogitsLength(count));
        if (flow.Shape.Embedding is null)
        {
            // Standardised inside the product. A NaN or infinite feature makes every logit of its row NaN or infinite
            // (0 times infinity is NaN), so one check of the tile's logits finds a tile to search.
            linear.BatchLogits(raw, means, scales, count, standardised, logits);
            if (!linear.AllFinite(logits, count) && FirstNonFinite(raw, count) is int row and >= 0)
            {
                return first + row;
            }
        }
        else
        {
            int row = FirstNonFinite(raw, count);
            if (row >= 0)
            {
                return first + row;
            }

            // The operations Score's float32 row path applies, so the same bits.
            for (int r = 0; r < count; r++)
            {
                Span<float> z = standardised.Slice(r * d, d);
                TensorPrimitives.Subtract(raw.Slice(r * d, d), means, z);
                TensorPrimitives.Multiply(z, scales, z);
            }

            Logits(standardised, count, logits);
        }

        Span<double> headScores = AlignedBuffer<double>.Rent(ref headScratch, count * heads);
        Finish(logits, count, batch.Viscosity, headScores);

        int outputsPerRow = batch.Reading.OutputsPerRow(heads);
        batch.Reading.Write(headScores, heads, new Span<float>(batch.Outputs + ((long)first * outputsPerRow), count * outputsPerRow));
        return -1;
    }

    // The first of rows (d each) holding a NaN or infinite value, or -1.
    private int FirstNonFinite(ReadOnlySpan<float> rows, int count)
    {
        int d = InputDimension;
        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<float> values = rows.Slice(row * d, d);
            if (!float.IsFinite(TensorPrimitives.Sum(values) * 0) && !AllFinite(values))
            {
                return row;
            }
        }

        return -1;
    }

    // Whether every value is finite (a sum of finite values can overflow, so the vectorised check can only be wrong by failing).
    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    // What every tile of a batch reads.
    private readonly unsafe struct BatchSettings(SinglePrecisionFlow flow, double viscosity, Readout reading, float* features, float* means, float* inverseScales, float* outputs, int rows, int tileRows)
    {
        public SinglePrecisionFlow Flow => flow;

        public double Viscosity => viscosity;

        public Readout Reading => reading;

        public float* Features => features;

        public float* Means => means;

        public float* InverseScales => inverseScales;

        public float* Outputs => outputs;

        public int Rows => rows;

        public int TileRows => tileRows;
    }

    // A batch's tiles on the scoring workers. One per calling thread, reused, so that scoring allocates nothing once warm.
    private sealed class BatchJob : TileJob
    {
        [ThreadStatic]
        private static BatchJob? reusable;

        private BatchSettings settings;
        private int firstInvalid;

        public static int Run(in BatchSettings settings, int tiles)
        {
            if (tiles == 1)
            {
                return settings.Flow.ScoreTile(settings, 0);
            }

            BatchJob job = reusable ??= new BatchJob();
            job.settings = settings;
            job.firstInvalid = int.MaxValue;
            try
            {
                job.Run(tiles);
            }
            finally
            {
                job.settings = default;
            }

            return job.firstInvalid == int.MaxValue ? -1 : job.firstInvalid;
        }

        // Workers keep per-thread buffers (AlignedBuffer.Rent), grown on their first tile of a size.
        public override void PrepareWorkers(int workers)
        {
        }

        public override void RunTile(int tile, int worker)
        {
            int invalid = settings.Flow.ScoreTile(settings, tile);
            if (invalid < 0)
            {
                return;
            }

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
