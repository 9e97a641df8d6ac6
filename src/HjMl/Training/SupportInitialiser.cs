using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>Places support points: chooses the training rows they start on (k-means++ seeding or uniform sampling), seeded.</summary>
internal static class SupportInitialiser
{
    /// <summary>
    /// Writes the starting weights and biases into <paramref name="parameters"/> (W then b, head-major) and returns, per
    /// piece, the caller's row its support point started on (-1 for random initialisation). The Hopf–Cole construction
    /// read backwards (THEORY.md section 1): w_j = y_j / (2t), b_j = -g_j - |y_j|^2 / (4t).
    /// </summary>
    public static int[] Place(HopfColeTrainerOptions options, TrainingBlock train, int heads, int pieces, double[] parameters, Random random)
    {
        int d = train.Dimension;
        int all = heads * pieces;
        var supportRows = new int[all];
        Array.Fill(supportRows, -1);
        if (options.Initialisation == SupportInitialisation.Random)
        {
            double scale = 1 / Math.Sqrt(d);
            for (int i = 0; i < all * d; i++)
            {
                parameters[i] = scale * Gaussian(random);
            }

            return supportRows;
        }

        bool kMeans = options.Initialisation == SupportInitialisation.KMeansPlusPlus;
        int threads = options.MaximumDegreeOfParallelism == 0 ? Environment.ProcessorCount : options.MaximumDegreeOfParallelism;
        double time = HopfColeTrainer.TimeFor(options, d);
        for (int head = 0; head < heads; head++)
        {
            int[] chosen;
            if (options.Kind == ModelKind.Regression)
            {
                // Both heads share support points; their initial data g = -y/2 and +y/2 make f_0 - f_1 = u_1 - u_0 ~ y near each point.
                chosen = head == 0 ? Choose(train.Inputs, d, d + 1, Enumerable.Range(0, train.Rows).ToArray(), pieces, kMeans, random, threads) : supportRows[..pieces].Select(train.LocalIndexOf).ToArray();
            }
            else
            {
                // Binary: head 0 holds the positive class (target 1), head 1 the negative; multiclass: head c holds class c.
                double target = options.Kind == ModelKind.BinaryClassification ? 1 - head : head;
                int[] candidates = Enumerable.Range(0, train.Rows).Where(i => train.Targets[i] == target).ToArray();
                chosen = Choose(train.Inputs, d, d + 1, candidates, pieces, kMeans, random, threads);
            }

            for (int j = 0; j < pieces; j++)
            {
                int row = chosen[j];
                int piece = (head * pieces) + j;
                ReadOnlySpan<double> y = train.Inputs.AsSpan(row * (d + 1), d);
                double initialData = options.Kind == ModelKind.Regression ? (head == 0 ? -0.5 : 0.5) * train.Targets[row] : 0;
                TensorPrimitives.Divide(y, 2 * time, parameters.AsSpan(piece * d, d));
                parameters[(all * d) + piece] = -initialData - (TensorPrimitives.Dot(y, y) / (4 * time));
                supportRows[piece] = train.SourceRows[row];
            }
        }

        return supportRows;
    }

    /// <summary>
    /// Picks <paramref name="count"/> rows (rows <paramref name="stride"/> apart, the first <paramref name="d"/> values compared) from <paramref name="candidates"/>: k-means++ seeding (the first uniformly,
    /// each next with probability proportional to its squared distance to the nearest chosen row; Arthur and
    /// Vassilvitskii 2007), or uniform sampling. When there are fewer candidates than <paramref name="count"/>, rows repeat.
    /// The distances are split over at most <paramref name="threads"/> cores; the choice does not depend on how many.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] Choose(double[] inputs, int d, int stride, int[] candidates, int count, bool kMeansPlusPlus, Random random, int threads)
    {
        var chosen = new int[count];
        if (candidates.Length == 0)
        {
            throw new InvalidOperationException("No candidate rows to place support points on.");
        }

        if (!kMeansPlusPlus || candidates.Length <= count)
        {
            int[] order = [.. candidates];
            random.Shuffle(order);
            for (int j = 0; j < count; j++)
            {
                chosen[j] = order[j % order.Length];
            }

            return chosen;
        }

        var distances = new double[candidates.Length];
        Array.Fill(distances, double.PositiveInfinity);
        int current = candidates[random.Next(candidates.Length)];
        for (int j = 0; j < count; j++)
        {
            chosen[j] = current;
            Nearer(inputs, d, stride, candidates, current, distances, threads);
            double total = 0;
            for (int i = 0; i < candidates.Length; i++)
            {
                total += distances[i];
            }

            if (total <= 0)
            {
                current = candidates[random.Next(candidates.Length)];
                continue;
            }

            double target = random.NextDouble() * total;
            int pick = candidates.Length - 1;
            for (int i = 0; i < candidates.Length; i++)
            {
                target -= distances[i];
                if (target <= 0)
                {
                    pick = i;
                    break;
                }
            }

            current = candidates[pick];
        }

        return chosen;
    }

    // Lowers each candidate's squared distance to the nearest chosen row by the new centre. Every distance is computed
    // alone, so splitting the candidates over the cores gives the same values (and the caller sums them in order).
    private static void Nearer(double[] inputs, int d, int stride, int[] candidates, int centreRow, double[] distances, int threads)
    {
        const int ChunkRows = 2048;
        int chunks = (candidates.Length + ChunkRows - 1) / ChunkRows;
        if (chunks == 1 || threads == 1 || (long)candidates.Length * d < 1 << 18)
        {
            Lower(inputs, d, stride, candidates, centreRow, distances, 0, candidates.Length);
            return;
        }

        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
        {
            int first = chunk * ChunkRows;
            Lower(inputs, d, stride, candidates, centreRow, distances, first, Math.Min(candidates.Length, first + ChunkRows));
        });
    }

    // Compiled optimised at once, with its own distance kernel: placement runs once a fit, early in a process, when
    // library methods it would call are often still at their unoptimised first tier.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lower(ReadOnlySpan<double> inputs, int d, int stride, int[] candidates, int centreRow, double[] distances, int first, int end)
    {
        ReadOnlySpan<double> centre = inputs.Slice(centreRow * stride, d);
        for (int i = first; i < end; i++)
        {
            distances[i] = Math.Min(distances[i], SquaredDistance(inputs.Slice(candidates[i] * stride, d), centre));
        }
    }

    /// <summary>|x - y|^2, summed in vector lanes then across them, then the remainder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double SquaredDistance(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        ref double left = ref MemoryMarshal.GetReference(x);
        ref double right = ref MemoryMarshal.GetReference(y);
        int length = x.Length;
        int i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && length >= Vector512<double>.Count)
        {
            Vector512<double> lanes = Vector512<double>.Zero;
            for (; i <= length - Vector512<double>.Count; i += Vector512<double>.Count)
            {
                Vector512<double> difference = Vector512.LoadUnsafe(ref left, (nuint)i) - Vector512.LoadUnsafe(ref right, (nuint)i);
                lanes += difference * difference;
            }

            sum = Vector512.Sum(lanes);
        }
        else if (Vector256.IsHardwareAccelerated && length >= Vector256<double>.Count)
        {
            Vector256<double> lanes = Vector256<double>.Zero;
            for (; i <= length - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                Vector256<double> difference = Vector256.LoadUnsafe(ref left, (nuint)i) - Vector256.LoadUnsafe(ref right, (nuint)i);
                lanes += difference * difference;
            }

            sum = Vector256.Sum(lanes);
        }

        for (; i < length; i++)
        {
            double difference = Unsafe.Add(ref left, i) - Unsafe.Add(ref right, i);
            sum += difference * difference;
        }

        return sum;
    }

    // Box–Muller: one standard normal draw from two uniforms.
    private static double Gaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
