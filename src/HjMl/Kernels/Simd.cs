using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace HjMl.Kernels;

/// <summary>
/// The vector operations the fused scoring kernels use, for one hardware vector width, so that one generic kernel
/// serves 512-, 256- and 128-bit vectors. Implementations are empty structs: the JIT compiles a kernel once per struct
/// and inlines every call, so the indirection costs nothing at run time.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
/// <typeparam name="TVector">The hardware vector of <typeparamref name="T"/>.</typeparam>
internal unsafe interface ISimd<T, TVector>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVector : unmanaged
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>
    /// Input rows per register block of the logit kernel: 8 rows of 3 vectors need 24 accumulators, which the 32
    /// registers of AVX-512 hold; narrower vectors may have only 16 registers, so they take 4 rows.
    /// </summary>
    static abstract int BlockRows { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TVector Broadcast(T value);

    /// <summary>Loads <see cref="Count"/> values (no alignment needed).</summary>
    static abstract TVector Load(T* source);

    /// <summary>Stores <see cref="Count"/> values (no alignment needed).</summary>
    static abstract void Store(TVector value, T* destination);

    /// <summary>left + right.</summary>
    static abstract TVector Add(TVector left, TVector right);

    /// <summary>left - right.</summary>
    static abstract TVector Subtract(TVector left, TVector right);

    /// <summary>left * right.</summary>
    static abstract TVector Multiply(TVector left, TVector right);

    /// <summary>left / right.</summary>
    static abstract TVector Divide(TVector left, TVector right);

    /// <summary>left * right + addend, fused (one rounding) where the hardware has FMA.</summary>
    static abstract TVector MultiplyAdd(TVector left, TVector right, TVector addend);

    /// <summary>
    /// The lane-wise maximum with the processor's own instruction (vmaxps: one instruction, where IEEE semantics take
    /// three). For finite lanes it is the maximum; a lane where either operand is NaN may come out as either operand.
    /// </summary>
    static abstract TVector Max(TVector left, TVector right);

    /// <summary>Rounds every lane to the nearest integer (ties to even).</summary>
    static abstract TVector Round(TVector value);

    /// <summary>2^n for lanes n that hold integers in [-126, 127] (float only; other lanes are outside the contract).</summary>
    static abstract TVector PowerOfTwo(TVector exponent);

    /// <summary><paramref name="value"/> with zero in every lane where <paramref name="probe"/> &lt; <paramref name="threshold"/>.</summary>
    static abstract TVector ZeroBelow(TVector value, TVector probe, T threshold);

    /// <summary><paramref name="value"/> with zero in every lane where it is below <paramref name="bound"/>'s lane.</summary>
    static abstract TVector BelowToZero(TVector value, TVector bound);

    /// <summary><paramref name="value"/> with lanes from index <paramref name="count"/> on replaced by <paramref name="fill"/>.</summary>
    static abstract TVector FirstLanes(TVector value, int count, T fill);

    /// <summary>
    /// exp of every lane, for lanes &lt;= 0 (see <see cref="VectorExponential"/>); may flush results below the smallest
    /// normal float, or below e^<see cref="VectorExponential.DoubleFloor"/> for double, to 0.
    /// </summary>
    static abstract TVector Exponential(TVector value);

    /// <summary>
    /// The factor a log-sum-exp kernel folds into its scale before <see cref="ScaledExponential"/>: log2(e) for float,
    /// whose exponential is computed as a power of two, 1 for double.
    /// </summary>
    static abstract double ExponentialScale { get; }

    /// <summary>exp(x) for lanes that hold x * <see cref="ExponentialScale"/> (x &lt;= 0): 2^lane in float, e^lane in double.</summary>
    static abstract TVector ScaledExponential(TVector value);

    /// <summary>The natural logarithm of every lane (double only).</summary>
    static abstract TVector Logarithm(TVector value);

    /// <summary>The largest lane.</summary>
    static abstract T MaximumAcross(TVector value);

    /// <summary>The sum of the lanes, returned as double.</summary>
    static abstract double SumAcross(TVector value);
}

/// <summary>512-bit vectors (AVX-512).</summary>
internal readonly unsafe struct Simd512<T> : ISimd<T, Vector512<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;

    public static int BlockRows => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> value, T* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> left, Vector512<T> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Subtract(Vector512<T> left, Vector512<T> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> left, Vector512<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Divide(Vector512<T> left, Vector512<T> right) => left / right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> left, Vector512<T> right, Vector512<T> addend) =>
        typeof(T) == typeof(float)
            ? Vector512.FusedMultiplyAdd(left.AsSingle(), right.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector512.FusedMultiplyAdd(left.AsDouble(), right.AsDouble(), addend.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Max(Vector512<T> left, Vector512<T> right) => Vector512.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Round(Vector512<T> value) =>
        typeof(T) == typeof(float) ? Vector512.Round(value.AsSingle()).As<float, T>() : Vector512.Round(value.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> PowerOfTwo(Vector512<T> exponent) =>
        ((Vector512.ConvertToInt32Native(exponent.AsSingle()) + Vector512.Create(127)) << 23).As<int, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> BelowToZero(Vector512<T> value, Vector512<T> bound) =>
        Vector512.ConditionalSelect(Vector512.LessThan(value, bound), Vector512<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ZeroBelow(Vector512<T> value, Vector512<T> probe, T threshold) =>
        Vector512.ConditionalSelect(Vector512.LessThan(probe, Vector512.Create(threshold)), Vector512<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> FirstLanes(Vector512<T> value, int count, T fill) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(count))), value, Vector512.Create(fill));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exponential(Vector512<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp<T, Vector512<T>, Simd512<T>>(value)
            : Vector512.ConditionalSelect(Vector512.LessThan(value, Vector512.Create(T.CreateTruncating(VectorExponential.DoubleFloor))), Vector512<T>.Zero, Vector512.Exp(Vector512.Max(value.AsDouble(), Vector512.Create(VectorExponential.DoubleFloor))).As<double, T>());

    public static double ExponentialScale => typeof(T) == typeof(float) ? 1.4426950408889634 : 1.0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ScaledExponential(Vector512<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp2<T, Vector512<T>, Simd512<T>>(value)
            : Exponential(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Logarithm(Vector512<T> value) => Vector512.Log(value.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaximumAcross(Vector512<T> value) => Simd256<T>.MaximumAcross(Vector256.MaxNative(value.GetLower(), value.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcross(Vector512<T> value) => double.CreateTruncating(Vector512.Sum(value));
}

/// <summary>256-bit vectors (AVX2).</summary>
internal readonly unsafe struct Simd256<T> : ISimd<T, Vector256<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;

    public static int BlockRows => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Broadcast(T value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Load(T* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<T> value, T* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Add(Vector256<T> left, Vector256<T> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Subtract(Vector256<T> left, Vector256<T> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Multiply(Vector256<T> left, Vector256<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Divide(Vector256<T> left, Vector256<T> right) => left / right;

    // Without FMA hardware the fused form would be emulated lane by lane; a separate multiply and add is the fast choice.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> left, Vector256<T> right, Vector256<T> addend)
    {
        if (!Fma.IsSupported)
        {
            return (left * right) + addend;
        }

        return typeof(T) == typeof(float)
            ? Vector256.FusedMultiplyAdd(left.AsSingle(), right.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector256.FusedMultiplyAdd(left.AsDouble(), right.AsDouble(), addend.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Max(Vector256<T> left, Vector256<T> right) => Vector256.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Round(Vector256<T> value) =>
        typeof(T) == typeof(float) ? Vector256.Round(value.AsSingle()).As<float, T>() : Vector256.Round(value.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> PowerOfTwo(Vector256<T> exponent) =>
        ((Vector256.ConvertToInt32Native(exponent.AsSingle()) + Vector256.Create(127)) << 23).As<int, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> BelowToZero(Vector256<T> value, Vector256<T> bound) =>
        Vector256.ConditionalSelect(Vector256.LessThan(value, bound), Vector256<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ZeroBelow(Vector256<T> value, Vector256<T> probe, T threshold) =>
        Vector256.ConditionalSelect(Vector256.LessThan(probe, Vector256.Create(threshold)), Vector256<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> FirstLanes(Vector256<T> value, int count, T fill) =>
        Vector256.ConditionalSelect(Vector256.LessThan(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(count))), value, Vector256.Create(fill));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exponential(Vector256<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp<T, Vector256<T>, Simd256<T>>(value)
            : Vector256.ConditionalSelect(Vector256.LessThan(value, Vector256.Create(T.CreateTruncating(VectorExponential.DoubleFloor))), Vector256<T>.Zero, Vector256.Exp(Vector256.Max(value.AsDouble(), Vector256.Create(VectorExponential.DoubleFloor))).As<double, T>());

    public static double ExponentialScale => typeof(T) == typeof(float) ? 1.4426950408889634 : 1.0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ScaledExponential(Vector256<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp2<T, Vector256<T>, Simd256<T>>(value)
            : Exponential(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Logarithm(Vector256<T> value) => Vector256.Log(value.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaximumAcross(Vector256<T> value) => Simd128<T>.MaximumAcross(Vector128.MaxNative(value.GetLower(), value.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcross(Vector256<T> value) => double.CreateTruncating(Vector256.Sum(value));
}

/// <summary>128-bit vectors (SSE, NEON); also the software fallback where no vector hardware is accelerated.</summary>
internal readonly unsafe struct Simd128<T> : ISimd<T, Vector128<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;

    public static int BlockRows => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Broadcast(T value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Load(T* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<T> value, T* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Add(Vector128<T> left, Vector128<T> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Subtract(Vector128<T> left, Vector128<T> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Multiply(Vector128<T> left, Vector128<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Divide(Vector128<T> left, Vector128<T> right) => left / right;

    // As for 256 bits: fused only where the hardware fuses (x86 FMA, Arm AdvSimd).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> left, Vector128<T> right, Vector128<T> addend)
    {
        if (!Fma.IsSupported && !AdvSimd.Arm64.IsSupported)
        {
            return (left * right) + addend;
        }

        return typeof(T) == typeof(float)
            ? Vector128.FusedMultiplyAdd(left.AsSingle(), right.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector128.FusedMultiplyAdd(left.AsDouble(), right.AsDouble(), addend.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Max(Vector128<T> left, Vector128<T> right) => Vector128.MaxNative(left, right);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Round(Vector128<T> value) =>
        typeof(T) == typeof(float) ? Vector128.Round(value.AsSingle()).As<float, T>() : Vector128.Round(value.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> PowerOfTwo(Vector128<T> exponent) =>
        ((Vector128.ConvertToInt32Native(exponent.AsSingle()) + Vector128.Create(127)) << 23).As<int, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> BelowToZero(Vector128<T> value, Vector128<T> bound) =>
        Vector128.ConditionalSelect(Vector128.LessThan(value, bound), Vector128<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ZeroBelow(Vector128<T> value, Vector128<T> probe, T threshold) =>
        Vector128.ConditionalSelect(Vector128.LessThan(probe, Vector128.Create(threshold)), Vector128<T>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> FirstLanes(Vector128<T> value, int count, T fill) =>
        Vector128.ConditionalSelect(Vector128.LessThan(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(count))), value, Vector128.Create(fill));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exponential(Vector128<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp<T, Vector128<T>, Simd128<T>>(value)
            : Vector128.ConditionalSelect(Vector128.LessThan(value, Vector128.Create(T.CreateTruncating(VectorExponential.DoubleFloor))), Vector128<T>.Zero, Vector128.Exp(Vector128.Max(value.AsDouble(), Vector128.Create(VectorExponential.DoubleFloor))).As<double, T>());

    public static double ExponentialScale => typeof(T) == typeof(float) ? 1.4426950408889634 : 1.0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ScaledExponential(Vector128<T> value) =>
        typeof(T) == typeof(float)
            ? VectorExponential.Exp2<T, Vector128<T>, Simd128<T>>(value)
            : Exponential(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Logarithm(Vector128<T> value) => Vector128.Log(value.AsDouble()).As<double, T>();

    // Two shuffles fold the four float lanes (one folds two doubles) into lane 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaximumAcross(Vector128<T> value)
    {
        if (typeof(T) == typeof(float))
        {
            Vector128<float> lanes = value.AsSingle();
            lanes = Vector128.MaxNative(lanes, Vector128.Shuffle(lanes, Vector128.Create(2, 3, 0, 1)));
            lanes = Vector128.MaxNative(lanes, Vector128.Shuffle(lanes, Vector128.Create(1, 0, 3, 2)));
            return T.CreateTruncating(lanes.ToScalar());
        }

        Vector128<double> pairs = value.AsDouble();
        return T.CreateTruncating(Math.Max(pairs.ToScalar(), pairs.GetElement(1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAcross(Vector128<T> value) => double.CreateTruncating(Vector128.Sum(value));
}
