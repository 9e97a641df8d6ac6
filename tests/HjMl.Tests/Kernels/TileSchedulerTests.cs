using HjMl.Kernels;
using HjMl.Tests.Support;

namespace HjMl.Tests.Kernels;

/// <summary>Measures allocations across every thread, so it runs alone (no other test allocates meanwhile).</summary>
[CollectionDefinition(nameof(TileSchedulerTests), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(TileSchedulerTests))]
public class TileSchedulerTests
{
    [Fact]
    public void MultiTileBatchesAllocateNothingOnAnyThread()
    {
        var random = new Random(31);
        const int d = 16, heads = 2, pieces = 40;
        var kernel = new LseKernel<float>(Array.ConvertAll(LayerCase.Draw(random, heads * pieces * d, 1), v => (float)v), new float[heads * pieces], d, heads, LseKernel<float>.PreferredWidth);
        int rows = 9 * kernel.TileRows;
        float[] inputs = Array.ConvertAll(LayerCase.Draw(random, rows * d, 2), v => (float)v);
        var scores = new float[rows];
        for (int call = 0; call < 50; call++)
        {
            kernel.EvaluateBatch(inputs, scores, 0.5, Readout.MarginOf(0, 1));
        }

        // The fewest bytes of up to three windows (process-wide, since tiles run on pool threads): under load the pool
        // now and then starts a thread, which allocates once; work that allocates per batch does so in every window.
        long allocated = long.MaxValue;
        for (int window = 0; window < 3 && allocated >= 1024; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int call = 0; call < 200; call++)
            {
                kernel.EvaluateBatch(inputs, scores, 0.5, Readout.MarginOf(0, 1));
            }

            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        Assert.True(allocated < 1024, $"{allocated} bytes over 200 batches of {rows} rows");
    }

    [Fact]
    public void ConcurrentBatchesFromManyThreadsScoreAsAlone()
    {
        var random = new Random(32);
        const int d = 5, heads = 3, pieces = 21;
        var kernel = new LseKernel<double>(LayerCase.Draw(random, heads * pieces * d, 1), LayerCase.Draw(random, heads * pieces, 1), d, heads, LseKernel<double>.PreferredWidth);
        int rows = (7 * kernel.TileRows) + 3;
        double[][] batches = Enumerable.Range(0, 6).Select(_ => LayerCase.Draw(random, rows * d, 2)).ToArray();
        double[][] expected = batches.Select(batch =>
        {
            var scores = new double[rows * heads];
            for (int row = 0; row < rows; row++)
            {
                kernel.EvaluateRow(batch.AsSpan(row * d, d), scores.AsSpan(row * heads, heads), 0.7);
            }

            return scores;
        }).ToArray();

        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 6 }, call =>
        {
            var scores = new double[rows * heads];
            for (int repeat = 0; repeat < 20; repeat++)
            {
                Assert.Equal(-1, kernel.EvaluateBatch<double>(batches[call % 6], scores, 0.7, Readout.Heads));
                Assert.Equal(expected[call % 6], scores);
            }
        });
    }
}
