using System.Numerics.Tensors;
using HjMl.Kernels;

namespace HjMl.Flows;

// Batch scoring through the float32 flow: standardise, transport and read out tile by tile, tiles in parallel.
internal sealed partial class SinglePrecisionFlow
{
    [ThreadStatic]
    private static float[]? standardisedScratch;

    /// <summary>
    /// Scores raw float32 rows (d each, back to back) into <paramref name="outputs"/>: each row standardised as
    /// (x - mean) * (1 / scale) with <paramref name="means"/> and <paramref name="inverseScales"/>, transported, then read
    /// out by <paramref name="readout"/> at <paramref name="viscosity"/> as <paramref name="reading"/> says. Tiles of
    /// <see cref="TileRows"/> rows run in parallel on the scoring workers; one tile runs on the calling thread. Returns -1,
    /// or the first row holding a NaN or infinite feature (outputs are then unspecified). A tile whose terminal states
    /// are not finite gets NaN outputs, so that the caller's check of the outputs finds it.
    /// </summary>
    public unsafe int ScoreBatch(ReadOnlySpan<float> features, ReadOnlySpan<float> means, ReadOnlySpan<float> inverseScales, LseKernel<float> readout, double viscosity, Readout reading, Span<float> outputs)
    {
        int rows = features.Length / InputDimension;
        if (rows == 0)
        {
            return -1;
        }

        int tileRows = TileRows(readout.TileRows);
        int tiles = (rows + tileRows - 1) / tileRows;
        fixed (float* input = features)
        fixed (float* mean = means)
        fixed (float* scale = inverseScales)
        fixed (float* output = outputs)
        {
            return BatchJob.Run(new BatchSettings(this, readout, viscosity, reading, input, mean, scale, output, rows, tileRows), tiles);
        }
    }

    // One tile: returns -1, or the first row (of the whole batch) with a NaN or infinite feature.
    private unsafe int ScoreTile(in BatchSettings batch, int tile)
    {
        int d = InputDimension;
        int first = tile * batch.TileRows;
        int count = Math.Min(batch.TileRows, batch.Rows - first);
        var raw = new ReadOnlySpan<float>(batch.Features + ((long)first * d), count * d);
        var means = new ReadOnlySpan<float>(batch.Means, d);
        var scales = new ReadOnlySpan<float>(batch.InverseScales, d);
        Span<float> standardised = AlignedBuffer<float>.Rent(ref standardisedScratch, count * d);
        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<float> values = raw.Slice(row * d, d);
            if (!float.IsFinite(TensorPrimitives.Sum(values) * 0) && !AllFinite(values))
            {
                return first + row;
            }

            // The operations Score's float32 row path applies, so the same bits.
            Span<float> z = standardised.Slice(row * d, d);
            TensorPrimitives.Subtract(values, means, z);
            TensorPrimitives.Multiply(z, scales, z);
        }

        ReadOnlySpan<float> terminal = Transport(standardised, count);
        int outputsPerRow = batch.Reading.OutputsPerRow(batch.Readout.Heads);
        var written = new Span<float>(batch.Outputs + ((long)first * outputsPerRow), count * outputsPerRow);
        if (batch.Readout.EvaluateBatch(terminal, written, batch.Viscosity, batch.Reading) >= 0)
        {
            written.Fill(float.NaN);
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
    private readonly unsafe struct BatchSettings(SinglePrecisionFlow flow, LseKernel<float> readout, double viscosity, Readout reading, float* features, float* means, float* inverseScales, float* outputs, int rows, int tileRows)
    {
        public SinglePrecisionFlow Flow => flow;

        public LseKernel<float> Readout => readout;

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
