using System.Numerics.Tensors;

namespace HjMl.Training;

/// <summary>Chooses the training rows support points start on (k-means++ seeding or uniform sampling), seeded.</summary>
internal static class SupportInitialiser
{
    /// <summary>
    /// Picks <paramref name="count"/> rows (rows <paramref name="stride"/> apart, the first <paramref name="d"/> values compared) from <paramref name="candidates"/>: k-means++ seeding (the first uniformly,
    /// each next with probability proportional to its squared distance to the nearest chosen row; Arthur and
    /// Vassilvitskii 2007), or uniform sampling. When there are fewer candidates than <paramref name="count"/>, rows repeat.
    /// </summary>
    public static int[] Choose(ReadOnlySpan<double> inputs, int d, int stride, IReadOnlyList<int> candidates, int count, bool kMeansPlusPlus, Random random)
    {
        var chosen = new int[count];
        if (candidates.Count == 0)
        {
            throw new InvalidOperationException("No candidate rows to place support points on.");
        }

        if (!kMeansPlusPlus || candidates.Count <= count)
        {
            int[] order = [.. candidates];
            random.Shuffle(order);
            for (int j = 0; j < count; j++)
            {
                chosen[j] = order[j % order.Length];
            }

            return chosen;
        }

        var distances = new double[candidates.Count];
        Array.Fill(distances, double.PositiveInfinity);
        var difference = new double[d];
        int current = candidates[random.Next(candidates.Count)];
        for (int j = 0; j < count; j++)
        {
            chosen[j] = current;
            ReadOnlySpan<double> centre = inputs.Slice(current * stride, d);
            double total = 0;
            for (int i = 0; i < candidates.Count; i++)
            {
                TensorPrimitives.Subtract(inputs.Slice(candidates[i] * stride, d), centre, difference);
                distances[i] = Math.Min(distances[i], TensorPrimitives.Dot<double>(difference, difference));
                total += distances[i];
            }

            if (total <= 0)
            {
                current = candidates[random.Next(candidates.Count)];
                continue;
            }

            double target = random.NextDouble() * total;
            int pick = candidates.Count - 1;
            for (int i = 0; i < candidates.Count; i++)
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
}
