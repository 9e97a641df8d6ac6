using System.Numerics;
using System.Runtime.CompilerServices;

namespace HjMl.Kernels;

/// <summary>
/// A vectorised float32 exponential for the arguments a max-shifted log-sum-exp takes, (z_j - m) / eps &lt;= 0.
/// Range reduction x = n ln 2 + r with n = round(x / ln 2) and |r| &lt;= ln 2 / 2, ln 2 split in two parts (Cody and
/// Waite) so that n ln 2 is subtracted without rounding error; exp(r) by its Taylor polynomial of degree 7, whose
/// truncation error (ln 2 / 2)^8 / 8! &lt; 5e-9 is below float's rounding; then exp(x) = 2^n exp(r).
/// </summary>
/// <remarks>
/// Within 2 ulp of double-precision exp on [-90, 0] (tested). Arguments below
/// ln(smallest normal float) = -87.34 give 0 (the true value is a subnormal under 1.2e-38, which a sum of
/// exponentials that contains exp(0) = 1 cannot see); -infinity gives 0. Positive arguments up to 88 are also exact
/// to 2 ulp; larger ones, and NaN, are outside the contract.
/// </remarks>
internal static class VectorExponential
{
    /// <summary>
    /// The lowest double argument passed to the runtime's vector exp; lanes below it give 0 (e^-708 = 3.3e-308, which a
    /// sum of exponentials that contains exp(0) = 1 cannot see). Why: System.Runtime.Intrinsics' double exp recomputes
    /// every lane of a vector with scalar Math.Exp once any lane lies outside [-708, 708] (its range check), and the
    /// arguments a max-shifted log-sum-exp passes fall below -708 at any small eps or wide logit spread, and always in
    /// a tail padded with -infinity; with the floor, scoring at small eps runs as fast as at large (docs/performance/kernels.md).
    /// </summary>
    internal const double DoubleFloor = -708.0;

    // ln(smallest normal float32): below it 2^n would leave float's normal exponent range.
    private const float Lowest = -87.33654f;

    // log2(smallest normal float32).
    private const float LowestPower = -126f;
    private const float InverseLogTwo = 1.44269504f;

    // ln 2 = LogTwoHigh + LogTwoLow; LogTwoHigh has 16 significant bits, so n * LogTwoHigh is exact for |n| <= 128.
    private const float LogTwoHigh = 0.693145752f;
    private const float LogTwoLow = 1.42860677e-6f;

    /// <summary>exp of every lane of <paramref name="x"/> (float lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Exp<T, TVector, TSimd>(TVector x)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector clamped = TSimd.Max(x, TSimd.Broadcast(T.CreateTruncating(Lowest)));
        TVector n = TSimd.Round(TSimd.Multiply(clamped, TSimd.Broadcast(T.CreateTruncating(InverseLogTwo))));
        TVector r = TSimd.MultiplyAdd(n, TSimd.Broadcast(T.CreateTruncating(-LogTwoHigh)), clamped);
        r = TSimd.MultiplyAdd(n, TSimd.Broadcast(T.CreateTruncating(-LogTwoLow)), r);

        // Horner: 1 + r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r (1/720 + r / 5040)))))).
        TVector p = TSimd.Broadcast(T.CreateTruncating(1f / 5040));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.CreateTruncating(1f / 720)));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.CreateTruncating(1f / 120)));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.CreateTruncating(1f / 24)));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.CreateTruncating(1f / 6)));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.CreateTruncating(0.5f)));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.One));
        p = TSimd.MultiplyAdd(p, r, TSimd.Broadcast(T.One));
        return TSimd.ZeroBelow(TSimd.Multiply(p, TSimd.PowerOfTwo(n)), x, T.CreateTruncating(Lowest));
    }

    /// <summary>
    /// 2^t of every lane of <paramref name="t"/> (float lanes, t &lt;= 0): t = n + f with n = round(t), |f| &lt;= 1/2,
    /// 2^f = exp(f ln 2) by its Taylor polynomial of degree 7 (truncation (ln 2 / 2)^8 / 8! &lt; 5e-9), times 2^n. Two
    /// operations fewer than <see cref="Exp{T, TVector, TSimd}"/>: no Cody–Waite reduction, because n is subtracted
    /// exactly. The log-sum-exp kernels fold log2(e) into their 1/eps scale and call this.
    /// </summary>
    /// <remarks>
    /// Within 2 ulp of 2^t (tested). For exp(x) = 2^(x log2 e), rounding t = x log2 e to float perturbs the result by up
    /// to 6e-8 |t| relative, which only matters for terms under 2^-16 of the largest; a sum of shifted exponentials,
    /// which holds 2^0 = 1, sees them at most at the 1e-12 level. t below -126 gives 0; -infinity gives 0.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Exp2<T, TVector, TSimd>(TVector t)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector clamped = TSimd.Max(t, TSimd.Broadcast(T.CreateTruncating(LowestPower)));
        TVector n = TSimd.Round(clamped);
        TVector f = TSimd.Subtract(clamped, n);

        // Horner in f with c_k = (ln 2)^k / k!, k = 7 down to 1, then 1.
        TVector p = TSimd.Broadcast(T.CreateTruncating(1.525273380405984e-05f));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(1.5403530393381608e-04f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(1.3333558146428443e-03f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(9.618129107628477e-03f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(5.550410866482158e-02f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(0.2402265069591007f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.CreateTruncating(0.6931471805599453f)));
        p = TSimd.MultiplyAdd(p, f, TSimd.Broadcast(T.One));
        return TSimd.ZeroBelow(TSimd.Multiply(p, TSimd.PowerOfTwo(n)), t, T.CreateTruncating(LowestPower));
    }
}
