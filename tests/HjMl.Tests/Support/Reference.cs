namespace HjMl.Tests.Support;

/// <summary>Slow, obviously correct references the tests compare the kernels against.</summary>
public static class Reference
{
    /// <summary>eps log sum exp(z/eps), max-shifted, summed in ascending order of magnitude; eps = 0 is the max.</summary>
    public static double LogSumExp(ReadOnlySpan<double> z, double eps)
    {
        double max = double.NegativeInfinity;
        foreach (double value in z)
        {
            max = Math.Max(max, value);
        }

        if (eps == 0)
        {
            return max;
        }

        var terms = new double[z.Length];
        for (int j = 0; j < z.Length; j++)
        {
            terms[j] = Math.Exp((z[j] - max) / eps);
        }

        Array.Sort(terms);
        double sum = 0;
        foreach (double term in terms)
        {
            sum += term;
        }

        return max + (eps * Math.Log(sum));
    }

    /// <summary>Naive row-major product C = op(A) op(B).</summary>
    public static double[] Product(double[] a, bool transposeA, double[] b, bool transposeB, int m, int n, int k)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    double left = transposeA ? a[(p * m) + i] : a[(i * k) + p];
                    double right = transposeB ? b[(j * k) + p] : b[(p * n) + j];
                    sum += left * right;
                }

                c[(i * n) + j] = sum;
            }
        }

        return c;
    }

    /// <summary>z_j = b_j + w_j . x for the pieces of one head of a head-major layer, summed in order.</summary>
    public static double[] Logits(double[] weights, double[] biases, ReadOnlySpan<double> x, int head, int pieces)
    {
        int d = x.Length;
        var logits = new double[pieces];
        for (int j = 0; j < pieces; j++)
        {
            int piece = (head * pieces) + j;
            double sum = biases[piece];
            for (int k = 0; k < d; k++)
            {
                sum += weights[(piece * d) + k] * x[k];
            }

            logits[j] = sum;
        }

        return logits;
    }
}
