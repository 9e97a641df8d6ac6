using System.Numerics.Tensors;
using HjMl.HopfCole;
using HjMl.Layers;

namespace HjMl.PaperChecks;

/// <summary>One row of <see cref="IdentityVerification"/>: the worst case of each identity over random layers and points at one (d, eps).</summary>
/// <param name="Dimension">d.</param>
/// <param name="Viscosity">eps.</param>
/// <param name="IdentityError">max |f_LSE - (|x|^2/(4t) - u_HC)| / max(1, |f|, |x|^2/(4t)) (THEORY.md section 1).</param>
/// <param name="TropicalGap">max over points of f_eps - max_j z_j, which must lie in [0, eps log N] (section 2).</param>
/// <param name="TropicalBound">eps log N.</param>
/// <param name="SoftplusError">max |eps log(1 + e^(z/eps)) - max(z, 0)|, bounded by eps log 2 (section 2).</param>
/// <param name="SoftplusBound">eps log 2.</param>
/// <param name="NormalisedResidual">max |u_t + |grad u|^2 - eps Lap u| of the normalised form, analytic (should be 0).</param>
/// <param name="UnnormalisedResidualError">max |residual - (-eps d / (2t))| of the unnormalised form, analytic.</param>
/// <param name="FiniteDifferenceResidual">max |residual| of the normalised form by central differences, relative to the size of its terms.</param>
/// <param name="TwoLayerGap">max |h_eps(x) - h_0(x)| of a two-layer composition h = f2(f1(x)).</param>
/// <param name="TwoLayerBound">L2 eps log N1 + eps log N2, with L2 = max_j ||w2_j||_1 (section 2 applied twice).</param>
/// <param name="Passed">Whether every identity met its tolerance.</param>
public sealed record IdentityCheckRow(
    int Dimension,
    double Viscosity,
    double IdentityError,
    double TropicalGap,
    double TropicalBound,
    double SoftplusError,
    double SoftplusBound,
    double NormalisedResidual,
    double UnnormalisedResidualError,
    double FiniteDifferenceResidual,
    double TwoLayerGap,
    double TwoLayerBound,
    bool Passed);

/// <summary>
/// Reproduces the paper's numerical checks (paper a, section 4; THEORY.md sections 1–2) over an eps sweep on random
/// layers: the LSE = Hopf–Cole identity, the tropical limit and its bound, softplus to ReLU, the PDE residual in both
/// forms, and a two-layer composition. Deterministic for a seed.
/// </summary>
public static class IdentityVerification
{
    /// <summary>Relative tolerance of the LSE = Hopf–Cole identity in double.</summary>
    public const double IdentityTolerance = 1e-12;

    /// <summary>Absolute tolerance of the analytic residuals, relative to the size of their terms.</summary>
    public const double ResidualTolerance = 1e-10;

    /// <summary>Tolerance of the finite-difference residual, relative to the size of its terms.</summary>
    public const double FiniteDifferenceTolerance = 1e-4;

    /// <summary>The default sweep.</summary>
    public static IReadOnlyList<double> DefaultViscosities { get; } = [1e-3, 1e-2, 1e-1, 1, 10];

    /// <summary>The default dimensions.</summary>
    public static IReadOnlyList<int> DefaultDimensions { get; } = [1, 2, 8];

    /// <summary>Runs every check for each (d, eps) pair.</summary>
    /// <param name="dimensions">Input dimensions d.</param>
    /// <param name="viscosities">Viscosities eps &gt; 0.</param>
    /// <param name="pieces">N, pieces per layer.</param>
    /// <param name="points">Random points per (d, eps).</param>
    /// <param name="seed">Seed of the random layers and points.</param>
    public static IReadOnlyList<IdentityCheckRow> Run(IEnumerable<int> dimensions, IEnumerable<double> viscosities, int pieces = 16, int points = 200, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        ArgumentNullException.ThrowIfNull(viscosities);
        var rows = new List<IdentityCheckRow>();
        foreach (int d in dimensions)
        {
            foreach (double eps in viscosities)
            {
                if (!(eps > 0) || !double.IsFinite(eps))
                {
                    throw new ArgumentException($"viscosities contains {eps}; the sweep needs finite eps > 0.", nameof(viscosities));
                }

                rows.Add(Check(d, eps, pieces, points, new Random(RowSeed(seed, d, eps))));
            }
        }

        return rows;
    }

    // HashCode.Combine is randomised per process; the rows of a seed must be the same in every run.
    private static int RowSeed(int seed, int d, double eps)
    {
        long bits = BitConverter.DoubleToInt64Bits(eps);
        return unchecked((((seed * 31) + d) * 31) + (int)(bits ^ (bits >>> 32)));
    }

    private static IdentityCheckRow Check(int d, double eps, int pieces, int points, Random random)
    {
        const double time = 1.0;
        LseLayer<double> layer = RandomLayer(random, d, pieces, 1, eps);
        LseLayer<double> tropical = layer.WithViscosity(0);
        HopfColeSolution<double> solution = HopfColeSolution<double>.FromLayer(layer, time);

        // Two layers: f1 maps R^d to R^3 (three heads), f2 maps R^3 to R.
        LseLayer<double> first = RandomLayer(random, d, pieces, 3, eps);
        LseLayer<double> second = RandomLayer(random, 3, pieces, 1, eps);
        double lipschitz = 0;
        for (int j = 0; j < pieces; j++)
        {
            lipschitz = Math.Max(lipschitz, TensorPrimitives.SumOfMagnitudes(second.Weights.Slice(j * 3, 3)));
        }

        double twoLayerBound = (lipschitz * eps * Math.Log(pieces)) + (eps * Math.Log(pieces));
        double tropicalBound = eps * Math.Log(pieces);
        double identity = 0, gapLow = double.PositiveInfinity, gapHigh = 0, normalised = 0, unnormalised = 0, finiteDifference = 0, twoLayer = 0;
        var x = new double[d];
        var hidden = new double[3];
        var hiddenTropical = new double[3];
        for (int point = 0; point < points; point++)
        {
            for (int k = 0; k < d; k++)
            {
                x[k] = (4 * random.NextDouble()) - 2;
            }

            double f = layer.Evaluate(x);
            double quadratic = TensorPrimitives.Dot<double>(x, x) / (4 * time);
            double u = solution.Evaluate(x, HeatKernelNormalisation.Unnormalised);
            identity = Math.Max(identity, Math.Abs(f - (quadratic - u)) / Math.Max(1, Math.Max(Math.Abs(f), quadratic)));

            double gap = f - tropical.Evaluate(x);
            gapLow = Math.Min(gapLow, gap);
            gapHigh = Math.Max(gapHigh, gap);

            PdeResidual<double> exact = solution.Residual(x, HeatKernelNormalisation.Normalised);
            normalised = Math.Max(normalised, Math.Abs(exact.Value) / Scale(exact, eps));
            PdeResidual<double> plain = solution.Residual(x, HeatKernelNormalisation.Unnormalised);
            unnormalised = Math.Max(unnormalised, Math.Abs(plain.Value - solution.ExpectedResidual(HeatKernelNormalisation.Unnormalised)) / Scale(plain, eps));
            finiteDifference = Math.Max(finiteDifference, FiniteDifferenceResidual(solution, x, eps));

            first.Evaluate(x, hidden);
            first.WithViscosity(0).Evaluate(x, hiddenTropical);
            twoLayer = Math.Max(twoLayer, Math.Abs(second.Evaluate(hidden) - second.WithViscosity(0).Evaluate(hiddenTropical)));
        }

        double softplus = 0;
        var softplusLayer = new LseLayer<double>([1.0, 0.0], [0.0, 0.0], 1, eps);
        for (int i = 0; i <= 400; i++)
        {
            double z = -5 + (i * 0.025);
            softplus = Math.Max(softplus, Math.Abs(softplusLayer.Evaluate([z]) - Math.Max(z, 0)));
        }

        double softplusBound = eps * Math.Log(2);
        bool passed = identity <= IdentityTolerance
            && gapLow >= -1e-12 * Math.Max(1, tropicalBound) && gapHigh <= tropicalBound * (1 + 1e-12)
            && softplus <= softplusBound * (1 + 1e-12)
            && normalised <= ResidualTolerance && unnormalised <= ResidualTolerance
            && finiteDifference <= FiniteDifferenceTolerance
            && twoLayer <= twoLayerBound * (1 + 1e-12);
        return new IdentityCheckRow(d, eps, identity, gapHigh, tropicalBound, softplus, softplusBound, normalised, unnormalised, finiteDifference, twoLayer, twoLayerBound, passed);
    }

    private static double Scale(PdeResidual<double> residual, double eps)
        => Math.Max(1, Math.Abs(residual.TimeDerivative) + residual.GradientNormSquared + (eps * Math.Abs(residual.Laplacian)));

    // u_t + |grad u|^2 - eps Lap u of the normalised solution by central differences in t and x, relative to its terms.
    // The step follows the solution's length scale sqrt(eps t), so that truncation and rounding errors stay balanced.
    private static double FiniteDifferenceResidual(HopfColeSolution<double> solution, double[] x, double eps)
    {
        const HeatKernelNormalisation form = HeatKernelNormalisation.Normalised;
        double time = solution.Time;
        double step = 1e-3 * Math.Min(1, Math.Sqrt(eps * time));
        int d = solution.Dimension;
        double u = solution.Evaluate(x, form);
        double timeStep = step * Math.Min(1, step * 10);
        var later = new HopfColeSolution<double>(solution.SupportPoints, solution.InitialData, d, time + timeStep, eps);
        var earlier = new HopfColeSolution<double>(solution.SupportPoints, solution.InitialData, d, time - timeStep, eps);
        double timeDerivative = (later.Evaluate(x, form) - earlier.Evaluate(x, form)) / (2 * timeStep);
        double gradientNormSquared = 0, laplacian = 0;
        var shifted = (double[])x.Clone();
        for (int k = 0; k < d; k++)
        {
            shifted[k] = x[k] + step;
            double plus = solution.Evaluate(shifted, form);
            shifted[k] = x[k] - step;
            double minus = solution.Evaluate(shifted, form);
            shifted[k] = x[k];
            double derivative = (plus - minus) / (2 * step);
            gradientNormSquared += derivative * derivative;
            laplacian += (plus - (2 * u) + minus) / (step * step);
        }

        double residual = timeDerivative + gradientNormSquared - (eps * laplacian);
        return Math.Abs(residual) / Math.Max(1, Math.Abs(timeDerivative) + gradientNormSquared + (eps * Math.Abs(laplacian)));
    }

    private static LseLayer<double> RandomLayer(Random random, int d, int pieces, int heads, double eps)
    {
        var weights = new double[heads * pieces * d];
        var biases = new double[heads * pieces];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (2 * random.NextDouble()) - 1;
        }

        for (int i = 0; i < biases.Length; i++)
        {
            biases[i] = (2 * random.NextDouble()) - 1;
        }

        return new LseLayer<double>(weights, biases, d, eps, heads);
    }
}
