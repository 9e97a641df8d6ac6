using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// The element-wise products of an explanation (THEORY.md section 4), written out per vector width: the two heads it reads
/// go through one pass each, whole vectors by reference, without a library call per product (docs/performance/kernels.md).
/// </summary>
internal static class ExplanationProducts
{
    /// <summary>
    /// Feature contributions of both decompositions in one pass over the features (THEORY.md section 4): the class head's
    /// z_k (E_pi[w])_k, and the margin's (E_positive - E_negative)_k z_k, times the label scale for regression.
    /// </summary>
    public static void Contributions(ReadOnlySpan<double> z, ReadOnlySpan<double> expectedClass, ReadOnlySpan<double> expectedPositive, ReadOnlySpan<double> expectedNegative, double scale, Span<double> single, Span<double> margin)
    {
        int d = z.Length;
        int k = 0;
        if (Vector512.IsHardwareAccelerated && d >= Vector512<double>.Count)
        {
            // Whole 512-bit vectors, the last one ending at d (it may overlap the one before: each entry is a function of
            // its own index only, so writing it twice writes the same value).
            ref double features = ref MemoryMarshal.GetReference(z);
            ref double classes = ref MemoryMarshal.GetReference(expectedClass);
            ref double positives = ref MemoryMarshal.GetReference(expectedPositive);
            ref double negatives = ref MemoryMarshal.GetReference(expectedNegative);
            ref double singles = ref MemoryMarshal.GetReference(single);
            ref double margins = ref MemoryMarshal.GetReference(margin);
            var scales = Vector512.Create(scale);
            for (int at = 0; at < d; at += Vector512<double>.Count)
            {
                nuint offset = (nuint)Math.Min(at, d - Vector512<double>.Count);
                Vector512<double> feature = Vector512.LoadUnsafe(ref features, offset);
                Vector512.StoreUnsafe(feature * Vector512.LoadUnsafe(ref classes, offset), ref singles, offset);
                Vector512<double> difference = (Vector512.LoadUnsafe(ref positives, offset) - Vector512.LoadUnsafe(ref negatives, offset)) * feature;
                Vector512.StoreUnsafe(scale != 1 ? difference * scales : difference, ref margins, offset);
            }

            return;
        }

        if (Vector.IsHardwareAccelerated && d >= Vector<double>.Count)
        {
            // Whole vectors by reference (every span holds at least d values), without a slice per step.
            ref double features = ref MemoryMarshal.GetReference(z);
            ref double classes = ref MemoryMarshal.GetReference(expectedClass);
            ref double positives = ref MemoryMarshal.GetReference(expectedPositive);
            ref double negatives = ref MemoryMarshal.GetReference(expectedNegative);
            ref double singles = ref MemoryMarshal.GetReference(single);
            ref double margins = ref MemoryMarshal.GetReference(margin);
            var scales = new Vector<double>(scale);
            for (; k <= d - Vector<double>.Count; k += Vector<double>.Count)
            {
                nuint at = (nuint)k;
                Vector<double> feature = Vector.LoadUnsafe(ref features, at);
                Vector.StoreUnsafe(feature * Vector.LoadUnsafe(ref classes, at), ref singles, at);
                Vector<double> difference = (Vector.LoadUnsafe(ref positives, at) - Vector.LoadUnsafe(ref negatives, at)) * feature;
                Vector.StoreUnsafe(scale != 1 ? difference * scales : difference, ref margins, at);
            }
        }

        for (; k < d; k++)
        {
            single[k] = z[k] * expectedClass[k];
            double difference = (expectedPositive[k] - expectedNegative[k]) * z[k];
            margin[k] = scale != 1 ? difference * scale : difference;
        }
    }

    /// <summary>
    /// E_pi[b] of two heads, (pi_a . b_a, pi_c . b_c), in one pass over their pieces.
    /// </summary>
    public static (double First, double Second) Dots(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> c, ReadOnlySpan<double> e)
    {
        int n = a.Length;
        int j = 0;
        double first = 0, second = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<double>.Count)
        {
            ref double ar = ref MemoryMarshal.GetReference(a);
            ref double br = ref MemoryMarshal.GetReference(b);
            ref double cr = ref MemoryMarshal.GetReference(c);
            ref double er = ref MemoryMarshal.GetReference(e);
            Vector512<double> firstSums = Vector512<double>.Zero, secondSums = Vector512<double>.Zero;
            for (; j <= n - Vector512<double>.Count; j += Vector512<double>.Count)
            {
                nuint at = (nuint)j;
                firstSums = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ar, at), Vector512.LoadUnsafe(ref br, at), firstSums);
                secondSums = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref cr, at), Vector512.LoadUnsafe(ref er, at), secondSums);
            }

            first = Vector512.Sum(firstSums);
            second = Vector512.Sum(secondSums);
        }
        else if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            ref double ar = ref MemoryMarshal.GetReference(a);
            ref double br = ref MemoryMarshal.GetReference(b);
            ref double cr = ref MemoryMarshal.GetReference(c);
            ref double er = ref MemoryMarshal.GetReference(e);
            Vector<double> firstSums = Vector<double>.Zero, secondSums = Vector<double>.Zero;
            for (; j <= n - Vector<double>.Count; j += Vector<double>.Count)
            {
                nuint at = (nuint)j;
                firstSums += Vector.LoadUnsafe(ref ar, at) * Vector.LoadUnsafe(ref br, at);
                secondSums += Vector.LoadUnsafe(ref cr, at) * Vector.LoadUnsafe(ref er, at);
            }

            first = Vector.Sum(firstSums);
            second = Vector.Sum(secondSums);
        }

        for (; j < n; j++)
        {
            first += a[j] * b[j];
            second += c[j] * e[j];
        }

        return (first, second);
    }
}
