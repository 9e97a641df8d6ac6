namespace HjMl.PaperChecks;

/// <summary>The random draws the checks share.</summary>
internal static class RandomValues
{
    /// <summary><paramref name="count"/> values uniform in [-scale, scale].</summary>
    public static double[] Uniform(Random random, int count, double scale)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = scale * ((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}
