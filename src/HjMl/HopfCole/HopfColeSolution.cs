using System.Numerics;
using System.Numerics.Tensors;
using HjMl.Kernels;
using HjMl.Layers;
using HjMl.Numerics;

namespace HjMl.HopfCole;

/// <summary>Which form of the Hopf–Cole solution to evaluate (THEORY.md section 1).</summary>
public enum HeatKernelNormalisation
{
    /// <summary>
    /// Without the heat kernel's constant (the authors' code): u satisfies u_t + |grad u|^2 = eps Lap u - eps d / (2t),
    /// and f_eps(x) = |x|^2 / (4t) - u(x, t) exactly.
    /// </summary>
    Unnormalised,

    /// <summary>With the constant (eps d / 2) log(4 pi eps t) of the heat kernel (4 pi eps t)^(-d/2): the PDE residual is zero.</summary>
    Normalised,
}

/// <summary>
/// The viscous Hamilton–Jacobi solution u(x, t) = -eps log sum_j m_j exp(-(g_j + |x - y_j|^2 / (4t)) / eps)
/// [+ (eps d / 2) log(4 pi eps t)] of u_t + |grad u|^2 = eps Lap u with initial data g on the discrete measure
/// sum_j m_j delta(y_j) (paper a, Theorem 4.1; THEORY.md section 1). Immutable.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class HopfColeSolution<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] supportPoints;
    private readonly T[] initialData;
    private readonly T[] measureWeights;

    // The calling thread's buffers (see AlignedBuffer.Rent), so that evaluation allocates nothing once warm: one value
    // per support point, and a row of up to 2d values.
    [ThreadStatic]
    private static T[]? exponentScratch;

    [ThreadStatic]
    private static T[]? vectorScratch;

    /// <summary>Creates a solution from support points y_j (N rows of d), initial data g_j, optional measure weights m_j &gt; 0, time t &gt; 0 and eps &gt;= 0.</summary>
    /// <exception cref="ArgumentException">A length disagrees, a value is not finite, a measure weight is not positive, t &lt;= 0, eps &lt; 0 or N = 0.</exception>
    public HopfColeSolution(ReadOnlySpan<T> supportPoints, ReadOnlySpan<T> initialData, int dimension, T time, T viscosity, ReadOnlySpan<T> measureWeights = default)
    {
        if (dimension <= 0)
        {
            throw new ArgumentException($"dimension is {dimension}; a support point needs at least one coordinate.", nameof(dimension));
        }

        if (initialData.IsEmpty)
        {
            throw new ArgumentException("initialData is empty; a solution needs N >= 1 support points.", nameof(initialData));
        }

        Guard.Length(supportPoints, initialData.Length * dimension, nameof(supportPoints), $"{initialData.Length} support points of dimension {dimension}");
        Guard.Finite(supportPoints, nameof(supportPoints));
        Guard.Finite(initialData, nameof(initialData));
        Guard.Positive(time, nameof(time), "the time t");
        Guard.Viscosity(viscosity, nameof(viscosity));
        if (!measureWeights.IsEmpty)
        {
            Guard.Length(measureWeights, initialData.Length, nameof(measureWeights), "one weight per support point");
            for (int j = 0; j < measureWeights.Length; j++)
            {
                Guard.Positive(measureWeights[j], $"{nameof(measureWeights)}[{j}]", "a measure weight");
            }
        }

        this.supportPoints = supportPoints.ToArray();
        this.initialData = initialData.ToArray();
        this.measureWeights = measureWeights.IsEmpty ? Enumerable.Repeat(T.One, initialData.Length).ToArray() : measureWeights.ToArray();
        Dimension = dimension;
        Time = time;
        Viscosity = viscosity;
    }

    /// <summary>d.</summary>
    public int Dimension { get; }

    /// <summary>N, the number of support points.</summary>
    public int NumberOfSupportPoints => initialData.Length;

    /// <summary>The time t &gt; 0.</summary>
    public T Time { get; }

    /// <summary>The viscosity eps.</summary>
    public T Viscosity { get; }

    /// <summary>Support points y_j, row-major N x d.</summary>
    public ReadOnlySpan<T> SupportPoints => supportPoints;

    /// <summary>Initial data g_j = g(y_j).</summary>
    public ReadOnlySpan<T> InitialData => initialData;

    /// <summary>Measure weights m_j (all 1 unless given).</summary>
    public ReadOnlySpan<T> MeasureWeights => measureWeights;

    /// <summary>
    /// The Hopf–Cole form of head <paramref name="head"/> of <paramref name="layer"/> at time <paramref name="time"/>:
    /// y_j = 2t w_j, g_j = -b_j - t |w_j|^2 + eps log m_j (THEORY.md section 1). Lossless up to rounding: <see cref="ToLayer"/> returns it.
    /// </summary>
    public static HopfColeSolution<T> FromLayer(LseLayer<T> layer, T time, int head = 0, ReadOnlySpan<T> measureWeights = default)
    {
        ArgumentNullException.ThrowIfNull(layer);
        Guard.Positive(time, nameof(time), "the time t");
        ReadOnlySpan<T> w = layer.HeadWeights(head);
        ReadOnlySpan<T> b = layer.HeadBiases(head);
        int d = layer.InputDimension;
        int n = layer.NumberOfPieces;
        var y = new T[n * d];
        var g = new T[n];
        TensorPrimitives.Multiply(w, T.CreateChecked(2) * time, y);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> wj = w.Slice(j * d, d);
            T logMeasure = measureWeights.IsEmpty ? T.Zero : layer.Viscosity * T.Log(measureWeights[j]);
            g[j] = -b[j] - (time * TensorPrimitives.Dot(wj, wj)) + logMeasure;
        }

        return new HopfColeSolution<T>(y, g, d, time, layer.Viscosity, measureWeights);
    }

    /// <summary>The equivalent single-head LSE layer: w_j = y_j / (2t), b_j = -g_j - |y_j|^2 / (4t) + eps log m_j (THEORY.md section 1).</summary>
    public LseLayer<T> ToLayer()
    {
        int n = NumberOfSupportPoints;
        int d = Dimension;
        var w = new T[n * d];
        var b = new T[n];
        TensorPrimitives.Divide(supportPoints, T.CreateChecked(2) * Time, w);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> yj = supportPoints.AsSpan(j * d, d);
            b[j] = -initialData[j] - (TensorPrimitives.Dot(yj, yj) / (T.CreateChecked(4) * Time)) + (Viscosity * T.Log(measureWeights[j]));
        }

        return new LseLayer<T>(w, b, d, Viscosity);
    }

    /// <summary>
    /// u(x, t) in the chosen form (THEORY.md section 1), max-shifted; at eps = 0 the Hopf–Lax value (the normalisation
    /// constant vanishes with eps).
    /// </summary>
    public T Evaluate(ReadOnlySpan<T> point, HeatKernelNormalisation normalisation = HeatKernelNormalisation.Unnormalised)
    {
        ValidatePoint(point);
        Span<T> exponents = AlignedBuffer<T>.Rent(ref exponentScratch, NumberOfSupportPoints);
        Exponents(point, exponents);
        T value = -LogSumExp.Evaluate<T>(exponents, Viscosity, exponents);
        return value + NormalisationConstant(normalisation);
    }

    /// <summary>The Hopf–Lax solution u_0(x, t) = min_j { g_j + |x - y_j|^2 / (4t) } of the inviscid equation (THEORY.md section 2).</summary>
    public T HopfLax(ReadOnlySpan<T> point)
    {
        ValidatePoint(point);
        Span<T> exponents = AlignedBuffer<T>.Rent(ref exponentScratch, NumberOfSupportPoints);
        Exponents(point, exponents);
        return -TensorPrimitives.Max<T>(exponents);
    }

    /// <summary>
    /// The analytic terms of the PDE u_t + |grad u|^2 - eps Lap u at (x, t), from the Gibbs weights p_j of the heat
    /// kernel mixture and v_j = (x - y_j) / (2t) [derived]: grad u = E_p[v], u_t = -E_p|v|^2 (+ eps d / (2t) normalised),
    /// Lap u = d / (2t) - tr Cov_p(v) / eps. The residual is 0 for the normalised form and -eps d / (2t) for the unnormalised.
    /// Requires eps &gt; 0.
    /// </summary>
    public PdeResidual<T> Residual(ReadOnlySpan<T> point, HeatKernelNormalisation normalisation = HeatKernelNormalisation.Normalised)
    {
        ValidatePoint(point);
        if (Viscosity == T.Zero)
        {
            throw new InvalidOperationException("The viscous PDE residual needs eps > 0; at eps = 0 the solution is the Hopf–Lax one, which is not smooth.");
        }

        int n = NumberOfSupportPoints;
        int d = Dimension;
        Span<T> p = AlignedBuffer<T>.Rent(ref exponentScratch, n);
        Span<T> velocity = AlignedBuffer<T>.Rent(ref vectorScratch, 2 * d);
        Span<T> mean = velocity[..d];
        Span<T> difference = velocity.Slice(d, d);
        Exponents(point, p);
        LogSumExp.GibbsWeights<T>(p, Viscosity, p);

        T twoTime = T.CreateChecked(2) * Time;
        mean.Clear();
        T meanSquaredNorm = T.Zero;
        for (int j = 0; j < n; j++)
        {
            TensorPrimitives.Subtract(point, supportPoints.AsSpan(j * d, d), difference);
            TensorPrimitives.Divide(difference, twoTime, difference);
            TensorPrimitives.MultiplyAdd(difference, p[j], mean, mean);
            meanSquaredNorm += p[j] * TensorPrimitives.Dot<T>(difference, difference);
        }

        T gradientNormSquared = TensorPrimitives.Dot<T>(mean, mean);
        // tr Cov_p(v) = E|v|^2 - |E v|^2, clamped at 0 against rounding.
        T trace = T.Max(meanSquaredNorm - gradientNormSquared, T.Zero);
        T dimensionTerm = T.CreateChecked(d) / twoTime;
        T timeDerivative = -meanSquaredNorm + (normalisation == HeatKernelNormalisation.Normalised ? Viscosity * dimensionTerm : T.Zero);
        T laplacian = dimensionTerm - (trace / Viscosity);
        return new PdeResidual<T>(timeDerivative, gradientNormSquared, laplacian, timeDerivative + gradientNormSquared - (Viscosity * laplacian));
    }

    /// <summary>The value the residual takes for this form: 0 normalised, -eps d / (2t) unnormalised (THEORY.md section 1).</summary>
    public T ExpectedResidual(HeatKernelNormalisation normalisation)
        => normalisation == HeatKernelNormalisation.Normalised ? T.Zero : -Viscosity * T.CreateChecked(Dimension) / (T.CreateChecked(2) * Time);

    // a_j = -(g_j + |x - y_j|^2 / (4t)) + eps log m_j, so that u = -eps LSE_eps(a) (and Hopf–Lax = -max a at eps = 0).
    private void Exponents(ReadOnlySpan<T> point, Span<T> exponents)
    {
        int d = Dimension;
        T fourTime = T.CreateChecked(4) * Time;
        Span<T> difference = AlignedBuffer<T>.Rent(ref vectorScratch, d);
        for (int j = 0; j < NumberOfSupportPoints; j++)
        {
            TensorPrimitives.Subtract(point, supportPoints.AsSpan(j * d, d), difference);
            T logMeasure = measureWeights[j] == T.One ? T.Zero : Viscosity * T.Log(measureWeights[j]);
            exponents[j] = -(initialData[j] + (TensorPrimitives.Dot<T>(difference, difference) / fourTime)) + logMeasure;
        }
    }

    private T NormalisationConstant(HeatKernelNormalisation normalisation)
    {
        if (normalisation == HeatKernelNormalisation.Unnormalised || Viscosity == T.Zero)
        {
            return T.Zero;
        }

        T fourPiEpsT = T.CreateChecked(4) * T.Pi * Viscosity * Time;
        return Viscosity * T.CreateChecked(Dimension) / T.CreateChecked(2) * T.Log(fourPiEpsT);
    }

    private void ValidatePoint(ReadOnlySpan<T> point)
    {
        if (point.Length != Dimension)
        {
            Guard.Length(point, Dimension, nameof(point), $"a solution in dimension {Dimension}");
        }

        Guard.Finite(point, nameof(point));
    }
}

/// <summary>The terms of u_t + |grad u|^2 - eps Lap u at one point, and the residual they sum to.</summary>
/// <param name="TimeDerivative">u_t.</param>
/// <param name="GradientNormSquared">|grad u|^2.</param>
/// <param name="Laplacian">Lap u.</param>
/// <param name="Value">u_t + |grad u|^2 - eps Lap u.</param>
public readonly record struct PdeResidual<T>(T TimeDerivative, T GradientNormSquared, T Laplacian, T Value)
    where T : unmanaged, IFloatingPointIeee754<T>;
