using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HjMl.Numerics;

/// <summary>
/// Max-shifted log-sum-exp and Gibbs-weight kernels (THEORY.md section 1 and 3).
/// Every kernel subtracts the maximum logit before exponentiating, so results are finite for every finite
/// logit vector and every viscosity eps in [0, +inf): the largest shifted term is exp(0) = 1, the sum lies in [1, N].
/// </summary>
/// <remarks>
/// The kernels check lengths (cheap) but not that values are finite: the public types validate inputs once at their
/// boundary. Finite logits always give finite results.
/// </remarks>
public static class LogSumExp
{
    // Below these, exp leaves the normal range of double (e^-708 = 3.3e-308) and float (e^-87.3 = 1.2e-38).
    private const double DoubleFloor = -708.0;
    private const float SingleFloor = -87.33654f;

    /// <summary>
    /// f_eps(z) = m + eps * log sum_j exp((z_j - m) / eps), m = max_j z_j (paper a, eq. of Theorem 4.1).
    /// eps = 0 gives the tropical maximum exactly.
    /// </summary>
    /// <param name="logits">The logits z_j.</param>
    /// <param name="viscosity">eps &gt;= 0.</param>
    /// <param name="work">Scratch of at least <c>logits.Length</c> elements; may alias <paramref name="logits"/>' storage only if the caller no longer needs the logits.</param>
    public static T Evaluate<T>(ReadOnlySpan<T> logits, T viscosity, Span<T> work)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(logits, work, nameof(work));
        T maximum = TensorPrimitives.Max(logits);
        if (viscosity == T.Zero)
        {
            return maximum;
        }

        return Shifted(logits, maximum, viscosity, work[..logits.Length], out _);
    }

    /// <summary>
    /// f_eps(z) as <see cref="Evaluate{T}(ReadOnlySpan{T}, T, Span{T})"/> computes it, for eps &gt; 0, keeping what a
    /// gradient reads: exp((z_j - m) / eps) = S pi_j in <paramref name="exponentials"/> and S = sum_j exp((z_j - m) / eps)
    /// in <paramref name="sum"/>.
    /// </summary>
    /// <param name="logits">The logits z_j.</param>
    /// <param name="viscosity">eps &gt; 0.</param>
    /// <param name="exponentials">At least <c>logits.Length</c> elements; may alias <paramref name="logits"/>' storage.</param>
    /// <param name="sum">S, in [1, N].</param>
    internal static T Evaluate<T>(ReadOnlySpan<T> logits, T viscosity, Span<T> exponentials, out T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(logits, exponentials, nameof(exponentials));
        Debug.Assert(viscosity > T.Zero, "The exponentials need eps > 0.");
        return Shifted(logits, TensorPrimitives.Max(logits), viscosity, exponentials[..logits.Length], out sum);
    }

    /// <summary>
    /// Gibbs weights pi_j = exp((z_j - m)/eps) / sum_k exp((z_k - m)/eps) = d f / d b_j (THEORY.md section 3),
    /// written to <paramref name="weights"/>; returns f_eps(z). At eps = 0 the weights are uniform over the maximal logits
    /// (the limit of the Gibbs measure).
    /// </summary>
    public static T GibbsWeights<T>(ReadOnlySpan<T> logits, T viscosity, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(logits, weights, nameof(weights));
        weights = weights[..logits.Length];
        T maximum = TensorPrimitives.Max(logits);
        if (viscosity == T.Zero)
        {
            int ties = 0;
            for (int j = 0; j < logits.Length; j++)
            {
                bool isMaximum = logits[j] == maximum;
                weights[j] = isMaximum ? T.One : T.Zero;
                ties += isMaximum ? 1 : 0;
            }

            TensorPrimitives.Divide(weights, T.CreateChecked(ties), weights);
            return maximum;
        }

        T score = Shifted(logits, maximum, viscosity, weights, out T sum);
        TensorPrimitives.Divide(weights, sum, weights);
        return score;
    }

    /// <summary>
    /// Entropy H(pi) = -sum_j pi_j log pi_j of Gibbs weights (THEORY.md section 4), in [0, log N]; exp(H) is the
    /// effective number of pieces. Vectorised: log is taken of max(pi_j, smallest normal), so a vanishing weight adds
    /// 0 * log(tiny) = 0 instead of 0 * -infinity.
    /// </summary>
    /// <param name="weights">Gibbs weights (non-negative, summing to 1).</param>
    /// <param name="work">Scratch of at least <c>weights.Length</c> elements; may not alias <paramref name="weights"/>.</param>
    public static T Entropy<T>(ReadOnlySpan<T> weights, Span<T> work)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(weights, work, nameof(work));
        work = work[..weights.Length];
        T smallest = typeof(T) == typeof(float) ? T.CreateChecked(1.17549435E-38f) : T.CreateChecked(2.2250738585072014E-308);
        TensorPrimitives.Max(weights, smallest, work);
        TensorPrimitives.Log(work, work);
        T entropy = -TensorPrimitives.Dot(weights, work);

        // Rounding can leave a hair below zero or above log N; H is a property of a probability vector, so clamp.
        T upper = T.Log(T.CreateChecked(weights.Length));
        return T.Clamp(entropy, T.Zero, upper);
    }

    /// <summary>
    /// Writes exp((z_j - m) / eps) to <paramref name="destination"/> and returns their sum (at least 1, from the maximum).
    /// No NaN can arise: z_j - m lies in [-infinity, 0], so each quotient lies in [-infinity, 0] for finite eps &gt; 0 and
    /// its exponential in [0, 1]. At eps = 1 (logits already divided by eps, as the trainer passes them) the division is skipped.
    /// </summary>
    internal static T ShiftedExponentials<T>(ReadOnlySpan<T> logits, T maximum, T viscosity, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(logits, maximum, destination);
        if (viscosity != T.One)
        {
            TensorPrimitives.Divide(destination, viscosity, destination);
        }

        FlooredExp(destination);
        return TensorPrimitives.Sum<T>(destination);
    }

    /// <summary>
    /// exp of every value in place, for the arguments a max-shifted log-sum-exp passes (&lt;= 0, possibly -infinity), with
    /// every argument below the floor (-708 in double, -87.3 in float, where exp leaves the normal range) giving an exact 0.
    /// Why: the runtime's vector exp recomputes a whole vector with scalar exp once any lane is outside its fast range,
    /// and subnormal results are slow on many processors; at small eps nearly every argument lies there, which made a
    /// training iteration in d = 1 three to six times slower than at large eps (docs/performance/training.md). A sum that
    /// holds exp(0) = 1 cannot see what the floor drops (e^-708 = 3.3e-308, e^-87.3 = 1.2e-38).
    /// </summary>
    internal static void FlooredExp<T>(Span<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            FlooredExp(MemoryMarshal.Cast<T, double>(values), DoubleFloor);
        }
        else if (typeof(T) == typeof(float))
        {
            FlooredExp(MemoryMarshal.Cast<T, float>(values), SingleFloor);
        }
        else
        {
            TensorPrimitives.Exp(values, values);
        }
    }

    /// <summary>
    /// values_j * factor in place, with every product that would be subnormal (below the smallest normal in magnitude)
    /// an exact 0, decided before multiplying: a subnormal product costs a hundred times a normal one on many processors,
    /// and at small eps most of G = exp((z - m) / eps) dL/df / S lies there (docs/performance/training.md).
    /// </summary>
    internal static void MultiplyWithoutSubnormals<T>(Span<T> values, T factor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T smallest = typeof(T) == typeof(float) ? T.CreateTruncating(1.17549435E-38f) : T.CreateTruncating(2.2250738585072014E-308);
        T magnitude = T.Abs(factor);
        if (magnitude == T.Zero)
        {
            values.Clear();
            return;
        }

        // |v factor| >= smallest exactly when |v| >= smallest / |factor| (up to the rounding of that bound, which only
        // moves products within an ulp of the smallest normal).
        T bound = smallest / magnitude;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<T>.Count)
        {
            ref T start = ref MemoryMarshal.GetReference(values);
            Vector256<T> limit = Vector256.Create(bound);
            Vector256<T> scale = Vector256.Create(factor);
            for (; i <= values.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                Vector256<T> x = Vector256.LoadUnsafe(ref start, (nuint)i);
                Vector256<T> kept = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x), limit), Vector256<T>.Zero, x);
                (kept * scale).StoreUnsafe(ref start, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            values[i] = T.Abs(values[i]) < bound ? T.Zero : values[i] * factor;
        }
    }

    private static void FlooredExp<T>(Span<T> values, T floor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Clamp, exponentiate (all lanes now in the fast range), then zero what lay below the floor.
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<T>.Count)
        {
            ref T start = ref MemoryMarshal.GetReference(values);
            Vector256<T> bound = Vector256.Create(floor);
            for (; i <= values.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                Vector256<T> x = Vector256.LoadUnsafe(ref start, (nuint)i);
                Vector256<T> clamped = Vector256.Max(x, bound);
                Vector256<T> exponential = typeof(T) == typeof(double)
                    ? Vector256.Exp(clamped.AsDouble()).As<double, T>()
                    : Vector256.Exp(clamped.AsSingle()).As<float, T>();
                Vector256.ConditionalSelect(Vector256.LessThan(x, bound), Vector256<T>.Zero, exponential).StoreUnsafe(ref start, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            values[i] = values[i] < floor ? T.Zero : T.Exp(values[i]);
        }
    }

    // m + eps log S, with the shifted exponentials left in destination.
    private static T Shifted<T>(ReadOnlySpan<T> logits, T maximum, T viscosity, Span<T> destination, out T sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sum = ShiftedExponentials(logits, maximum, viscosity, destination);
        return maximum + viscosity * T.Log(sum);
    }

    private static void CheckLengths<T>(ReadOnlySpan<T> logits, Span<T> destination, string argument)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("logits is empty; log-sum-exp needs N >= 1 terms.", nameof(logits));
        }

        if (destination.Length < logits.Length)
        {
            throw new ArgumentException($"{argument} has length {destination.Length} but needs at least {logits.Length}, one per logit.", argument);
        }
    }
}
