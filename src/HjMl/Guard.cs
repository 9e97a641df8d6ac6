using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace HjMl;

/// <summary>Validation at the public boundary. Each failure is an <see cref="ArgumentException"/> naming the argument and the problem.</summary>
internal static class Guard
{
    public static void Finite<T>(ReadOnlySpan<T> values, string argument)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The sum of x*0 is NaN exactly when some x is NaN or infinite; one vectorised pass before the exact search.
        if (values.IsEmpty || T.IsFinite(TensorPrimitives.Dot(values, values) * T.Zero))
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                throw new ArgumentException($"{argument}[{i}] is {values[i]}; every value must be finite (no NaN or infinity).", argument);
            }
        }
    }

    public static void Length<T>(ReadOnlySpan<T> values, int expected, string argument, string what)
    {
        if (values.Length != expected)
        {
            throw new ArgumentException($"{argument} has length {values.Length} but {what} needs {expected}.", argument);
        }
    }

    public static void AtLeast<T>(Span<T> values, int expected, string argument, string what)
    {
        if (values.Length < expected)
        {
            throw new ArgumentException($"{argument} has length {values.Length} but {what} needs at least {expected}.", argument);
        }
    }

    public static void Viscosity<T>(T viscosity, string argument)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (T.IsNaN(viscosity) || viscosity < T.Zero || T.IsPositiveInfinity(viscosity))
        {
            throw new ArgumentException($"{argument} is {viscosity}; the viscosity eps must be finite and >= 0 (0 is the tropical max-plus limit).", argument);
        }
    }

    public static void Positive<T>(T value, string argument, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(value > T.Zero) || !T.IsFinite(value))
        {
            throw new ArgumentException($"{argument} is {value}; {what} must be finite and > 0.", argument);
        }
    }

    // The check inlines into hot callers (an explanation asks for two heads' biases per row); the message is built only on failure.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Index(int index, int count, string argument, string what)
    {
        if ((uint)index >= (uint)count)
        {
            OutOfRange(index, count, argument, what);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OutOfRange(int index, int count, string argument, string what)
        => throw new ArgumentOutOfRangeException(argument, index, $"{argument} must be in [0, {count}) because there are {count} {what}.");
}
