namespace HjMl.PaperChecks;

/// <summary>
/// A power law error ~ C N^(-alpha) fitted to (width, error) pairs by least squares on log error = log C - alpha log N,
/// with a 95% confidence interval for alpha (Student t on n - 2 degrees of freedom), and the implied intrinsic dimension
/// d = 1 / alpha. Convention (paper a, THEORY.md section 7): the approximation error of a Lipschitz target with
/// eps = N^(-1/d) falls like N^(-1/d), so a fitted exponent alpha reads as d = 1/alpha.
/// </summary>
/// <param name="Exponent">alpha.</param>
/// <param name="ExponentLower">Lower end of the 95% interval for alpha (equal to alpha with two points).</param>
/// <param name="ExponentUpper">Upper end of the 95% interval for alpha.</param>
/// <param name="Constant">C.</param>
/// <param name="RSquared">R^2 of the log-log fit.</param>
/// <param name="Points">Number of pairs fitted.</param>
public sealed record ScalingFit(double Exponent, double ExponentLower, double ExponentUpper, double Constant, double RSquared, int Points)
{
    /// <summary>d = 1 / alpha (infinite when alpha &lt;= 0: no decay, no finite dimension).</summary>
    public double IntrinsicDimension => Exponent > 0 ? 1 / Exponent : double.PositiveInfinity;

    /// <summary>The interval for d that the interval for alpha implies (ends swap: d = 1/alpha is decreasing).</summary>
    public (double Lower, double Upper) IntrinsicDimensionInterval =>
        (ExponentUpper > 0 ? 1 / ExponentUpper : double.PositiveInfinity, ExponentLower > 0 ? 1 / ExponentLower : double.PositiveInfinity);

    /// <summary>The dimension a published exponent implies: d = 1/alpha (e.g. 0.35 gives 2.9).</summary>
    public static double DimensionOf(double exponent)
    {
        if (!(exponent > 0) || !double.IsFinite(exponent))
        {
            throw new ArgumentException($"exponent is {exponent}; d = 1/alpha needs a finite alpha > 0.", nameof(exponent));
        }

        return 1 / exponent;
    }

    /// <summary>Fits the power law to <paramref name="widths"/> and <paramref name="errors"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than two pairs, lengths differ, a width or error is not positive, or all widths are equal.</exception>
    public static ScalingFit Fit(IReadOnlyList<double> widths, IReadOnlyList<double> errors)
    {
        ArgumentNullException.ThrowIfNull(widths);
        ArgumentNullException.ThrowIfNull(errors);
        if (widths.Count != errors.Count)
        {
            throw new ArgumentException($"widths has {widths.Count} entries and errors {errors.Count}; they must pair up.", nameof(errors));
        }

        if (widths.Count < 2)
        {
            throw new ArgumentException($"{widths.Count} (width, error) pair given; a power law needs at least two.", nameof(widths));
        }

        int n = widths.Count;
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (!(widths[i] > 0) || !(errors[i] > 0) || !double.IsFinite(widths[i]) || !double.IsFinite(errors[i]))
            {
                throw new ArgumentException($"Pair {i + 1} is (width {widths[i]}, error {errors[i]}); both must be finite and > 0 for a log-log fit.", nameof(widths));
            }

            x[i] = Math.Log(widths[i]);
            y[i] = Math.Log(errors[i]);
        }

        double meanX = x.Average(), meanY = y.Average();
        double sxx = 0, sxy = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            sxx += (x[i] - meanX) * (x[i] - meanX);
            sxy += (x[i] - meanX) * (y[i] - meanY);
            syy += (y[i] - meanY) * (y[i] - meanY);
        }

        if (sxx == 0)
        {
            throw new ArgumentException("Every width is the same; the exponent needs at least two different widths.", nameof(widths));
        }

        double slope = sxy / sxx;
        double intercept = meanY - (slope * meanX);
        double residual = Math.Max(0, syy - (slope * sxy));
        double halfWidth = 0;
        if (n > 2)
        {
            double standardError = Math.Sqrt(residual / (n - 2) / sxx);
            halfWidth = StudentQuantile975(n - 2) * standardError;
        }

        double rSquared = syy > 0 ? 1 - (residual / syy) : 1;
        return new ScalingFit(-slope, -slope - halfWidth, -slope + halfWidth, Math.Exp(intercept), rSquared, n);
    }

    // The 97.5% quantile of Student's t with v degrees of freedom (table to 30, then the normal 1.96 plus the 1/v term).
    private static double StudentQuantile975(int v)
    {
        double[] table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];
        return v <= table.Length ? table[v - 1] : 1.960 + (2.4 / v);
    }
}
