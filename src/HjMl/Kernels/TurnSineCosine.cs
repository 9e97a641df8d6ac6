using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// sin(2 pi t) and cos(2 pi t) of turns t, vectorised: the periodic embedding's features (Gorishniy et al. 2022), whose
/// cost was most of an embedded training epoch with the runtime's sine and cosine. Range reduction in turns is exact:
/// q = round(4 t), and r = t - q / 4 is representable (|r| &lt;= 1/8, a multiple of t's last place), so
/// sin(2 pi t) = sin(u + q pi / 2) with u = 2 pi r, |u| &lt;= pi / 4. sin u and cos u come from their Taylor polynomials,
/// to u^15 and u^16 in double (the first omitted terms, (pi/4)^17 / 17! and (pi/4)^18 / 18!, are below 1e-16) and to u^9
/// and u^10 in float32 (below 3e-9), and the quarter turns rotate them exactly: with m = q - 4 round(q / 4) in
/// {-2, ..., 2}, cos(m pi / 2) = 1 - |m| and sin(m pi / 2) = m (2 - |m|), each 0 or +-1, so
/// sin(2 pi t) = s cos(m pi / 2) + c sin(m pi / 2) and cos(2 pi t) = c cos(m pi / 2) - s sin(m pi / 2) add a zero.
/// </summary>
/// <remarks>
/// Lane-wise, and the values past the last whole vector go through one padded vector, so the result of a value does
/// not depend on its position or on the vector width. Within a few units of 1e-16 (double) or 1e-7 (float32) of the true
/// values for every finite t (tested against <see cref="double.SinCosPi"/>); beyond 2^52 (double) or 2^23 (float32) t is
/// a whole number of quarter turns, and the values are exact.
/// </remarks>
internal static class TurnSineCosine
{
    /// <summary>Writes sin(2 pi t) and cos(2 pi t) of every <paramref name="turns"/> value.</summary>
    /// <param name="turns">t, finite values.</param>
    /// <param name="sines">At least as long as <paramref name="turns"/>; does not overlap it.</param>
    /// <param name="cosines">At least as long as <paramref name="turns"/>; may be <paramref name="turns"/> itself (in place), or else does not overlap it.</param>
    public static unsafe void Evaluate<T>(ReadOnlySpan<T> turns, Span<T> sines, Span<T> cosines)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(sines.Length >= turns.Length && cosines.Length >= turns.Length, "one sine and one cosine per turn");
        fixed (T* t = turns)
        fixed (T* s = sines)
        fixed (T* c = cosines)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                Run<T, Vector512<T>, Simd512<T>>(t, s, c, turns.Length);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                Run<T, Vector256<T>, Simd256<T>>(t, s, c, turns.Length);
            }
            else
            {
                Run<T, Vector128<T>, Simd128<T>>(t, s, c, turns.Length);
            }
        }
    }

    /// <summary>
    /// The periodic features of one input column over a block of rows: for row r, with x_r =
    /// <paramref name="inputs"/>[r * <paramref name="inputStride"/>], writes sin(2 pi c_k x_r) at
    /// <paramref name="destination"/>[r * <paramref name="destinationStride"/> + k] and cos(2 pi c_k x_r) K places further,
    /// for the K <paramref name="frequencies"/> c_k: the same values as <see cref="Evaluate{T}"/> of the turns c_k x_r
    /// (each turn rounded to <typeparamref name="T"/> once), without a call per row.
    /// </summary>
    public static unsafe void EvaluateOuter<T>(ReadOnlySpan<T> frequencies, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> destination, int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = frequencies.Length;
        Debug.Assert(rows == 0 || (inputs.Length > (rows - 1) * inputStride && destination.Length >= ((rows - 1) * destinationStride) + (2 * k)), "room for the block");
        fixed (T* c = frequencies)
        fixed (double* x = inputs)
        fixed (T* d = destination)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                RunOuter<T, Vector512<T>, Simd512<T>>(c, k, x, inputStride, rows, d, destinationStride);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                RunOuter<T, Vector256<T>, Simd256<T>>(c, k, x, inputStride, rows, d, destinationStride);
            }
            else
            {
                RunOuter<T, Vector128<T>, Simd128<T>>(c, k, x, inputStride, rows, d, destinationStride);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RunOuter<T, TVector, TSimd>(T* frequencies, int k, double* inputs, int inputStride, int rows, T* destination, int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        T* turns = stackalloc T[lanes];
        for (int row = 0; row < rows; row++)
        {
            TVector x = TSimd.Broadcast(T.CreateTruncating(inputs[row * inputStride]));
            T* sines = destination + (row * destinationStride);
            T* cosines = sines + k;
            int i = 0;
            for (; i <= k - lanes; i += lanes)
            {
                Vector<T, TVector, TSimd>(TSimd.Multiply(TSimd.Load(frequencies + i), x), sines + i, cosines + i);
            }

            if (i < k)
            {
                // The last frequencies through one padded vector, as Evaluate's tail.
                T scalar = T.CreateTruncating(inputs[row * inputStride]);
                for (int lane = 0; lane < lanes; lane++)
                {
                    turns[lane] = i + lane < k ? frequencies[i + lane] * scalar : T.Zero;
                }

                Tail<T, TVector, TSimd>(TSimd.Load(turns), sines + i, cosines + i, k - i);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run<T, TVector, TSimd>(T* turns, T* sines, T* cosines, int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int i = 0;
        for (; i <= length - lanes; i += lanes)
        {
            Vector<T, TVector, TSimd>(TSimd.Load(turns + i), sines + i, cosines + i);
        }

        if (i < length)
        {
            // The tail through one vector padded with zeros (at most 16 lanes: float32 in 512 bits).
            T* t = stackalloc T[lanes];
            for (int lane = 0; lane < lanes; lane++)
            {
                t[lane] = i + lane < length ? turns[i + lane] : T.Zero;
            }

            Tail<T, TVector, TSimd>(TSimd.Load(t), sines + i, cosines + i, length - i);
        }
    }

    // The first count lanes of one vector's values (count below a whole vector).
    private static unsafe void Tail<T, TVector, TSimd>(TVector turns, T* sines, T* cosines, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        T* s = stackalloc T[lanes];
        T* c = stackalloc T[lanes];
        Vector<T, TVector, TSimd>(turns, s, c);
        for (int lane = 0; lane < count; lane++)
        {
            sines[lane] = s[lane];
            cosines[lane] = c[lane];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Vector<T, TVector, TSimd>(TVector t, T* sines, T* cosines)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector four = TSimd.Broadcast(T.CreateTruncating(4.0));
        TVector quarter = TSimd.Broadcast(T.CreateTruncating(0.25));
        TVector one = TSimd.Broadcast(T.One);
        TVector q = TSimd.Round(TSimd.Multiply(t, four));
        TVector u = TSimd.Multiply(TSimd.Subtract(t, TSimd.Multiply(q, quarter)), TSimd.Broadcast(T.CreateTruncating(2 * Math.PI)));
        TVector w = TSimd.Multiply(u, u);
        TVector sine, cosine;
        if (typeof(T) == typeof(double))
        {
            sine = Horner<T, TVector, TSimd>(w, -1.0 / 1307674368000, 1.0 / 6227020800, -1.0 / 39916800, 1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6, 1);
            cosine = Horner<T, TVector, TSimd>(w, 1.0 / 20922789888000, -1.0 / 87178291200, 1.0 / 479001600, -1.0 / 3628800, 1.0 / 40320, -1.0 / 720, 1.0 / 24, -1.0 / 2, 1);
        }
        else
        {
            sine = Horner<T, TVector, TSimd>(w, 1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6, 1);
            cosine = Horner<T, TVector, TSimd>(w, -1.0 / 3628800, 1.0 / 40320, -1.0 / 720, 1.0 / 24, -1.0 / 2, 1);
        }

        sine = TSimd.Multiply(sine, u);
        TVector m = TSimd.Subtract(q, TSimd.Multiply(four, TSimd.Round(TSimd.Multiply(q, quarter))));
        TVector magnitude = TSimd.Max(m, TSimd.Subtract(TSimd.Broadcast(T.Zero), m));
        TVector cosQuarter = TSimd.Subtract(one, magnitude);
        TVector sinQuarter = TSimd.Multiply(m, TSimd.Subtract(TSimd.Broadcast(T.CreateTruncating(2.0)), magnitude));
        TSimd.Store(TSimd.Add(TSimd.Multiply(sine, cosQuarter), TSimd.Multiply(cosine, sinQuarter)), sines);
        TSimd.Store(TSimd.Subtract(TSimd.Multiply(cosine, cosQuarter), TSimd.Multiply(sine, sinQuarter)), cosines);
    }

    // c_0 w^n + c_1 w^(n-1) + ... + c_n, highest power first.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Horner<T, TVector, TSimd>(TVector w, params ReadOnlySpan<double> coefficients)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        TVector p = TSimd.Broadcast(T.CreateTruncating(coefficients[0]));
        for (int k = 1; k < coefficients.Length; k++)
        {
            p = TSimd.MultiplyAdd(p, w, TSimd.Broadcast(T.CreateTruncating(coefficients[k])));
        }

        return p;
    }
}
