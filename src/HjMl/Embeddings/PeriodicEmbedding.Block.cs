using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HjMl.Kernels;
using HjMl.LinearAlgebra;

namespace HjMl.Embeddings;

/// <summary>
/// The periodic embedding on a block of rows in matrix products, in double or float32: per embedded feature f, the
/// periodic features S_f = [sin 2 pi T_f, cos 2 pi T_f, 1] of the turns T_f = x_f c_f^T (rows x (2K + 1),
/// <see cref="TurnSineCosine"/>), then V_f = max(0, S_f [L_f b_f]^T) (rows x e). Backward, with the co-states P_f of
/// V_f: Q_f = P_f where V_f &gt; 0 (else 0), [dL_f db_f] += Q_f^T S_f, R_f = Q_f L_f, and per row and frequency
/// g_k = R_k cos - R_(K+k) sin gives dc_fk += 2 pi x_f g_k and dx_f = 2 pi sum_k c_fk g_k (the row-wise adjoint of
/// <see cref="PeriodicEmbedding"/>, with the matrix products batched over the rows). The block functions read the
/// parameters packed (<see cref="Pack"/>): per feature [c_f (K), then e rows [L_fj (2K) b_fj]], the same numbers as
/// <see cref="EmbeddingShape"/>'s layout with each bias beside its row of L, and write their gradient in that layout.
/// </summary>
internal static partial class PeriodicEmbedding
{
    /// <summary>The periodic features of a block: one block of rows x (2K + 1) per embedded feature.</summary>
    public static int PeriodicLength(EmbeddingShape shape, int rows) => shape.Features.Count * rows * ((2 * shape.Frequencies) + 1);

    /// <summary>The scratch <see cref="BackwardBlock"/> needs: rows x (e + 2K).</summary>
    public static int ScratchLength(EmbeddingShape shape, int rows) => rows * (shape.Width + (2 * shape.Frequencies));

    /// <summary>Writes the parameters (<see cref="EmbeddingShape"/> layout) packed for the block functions, converted to <typeparamref name="T"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack<T>(EmbeddingShape shape, ReadOnlySpan<double> parameters, Span<T> packed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            int start = shape.FrequenciesOffset(slot);
            Convert(parameters.Slice(start, k), packed.Slice(start, k));
            for (int j = 0; j < e; j++)
            {
                Span<T> row = packed.Slice(start + k + (j * ((2 * k) + 1)), (2 * k) + 1);
                Convert(parameters.Slice(shape.WeightsOffset(slot) + (j * 2 * k), 2 * k), row[..(2 * k)]);
                row[2 * k] = T.CreateTruncating(parameters[shape.BiasOffset(slot) + j]);
            }
        }
    }

    /// <summary>Adds a gradient in the packed layout (<see cref="Pack"/>) to <paramref name="gradient"/> in <see cref="EmbeddingShape"/>'s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddUnpacked<T>(EmbeddingShape shape, ReadOnlySpan<T> packed, Span<double> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            int start = shape.FrequenciesOffset(slot);
            Add(packed.Slice(start, k), gradient.Slice(start, k));
            for (int j = 0; j < e; j++)
            {
                ReadOnlySpan<T> row = packed.Slice(start + k + (j * ((2 * k) + 1)), (2 * k) + 1);
                Add(row[..(2 * k)], gradient.Slice(shape.WeightsOffset(slot) + (j * 2 * k), 2 * k));
                gradient[shape.BiasOffset(slot) + j] += double.CreateTruncating(row[2 * k]);
            }
        }
    }

    /// <summary>
    /// Writes the embedded vectors of <paramref name="rows"/> rows: v_f of row r at
    /// <paramref name="embedded"/>[r * <paramref name="embeddedStride"/> + slot e]; keeps the periodic features for
    /// <see cref="BackwardBlock"/>.
    /// </summary>
    /// <param name="shape">The embedding's sizes.</param>
    /// <param name="packed">Its parameters, packed (<see cref="Pack"/>).</param>
    /// <param name="inputs">Standardised rows, <paramref name="inputStride"/> apart (the embedded features are read).</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/>.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="periodic">At least <see cref="PeriodicLength"/>: receives S_f, feature by feature.</param>
    /// <param name="embedded">Receives the embedded vectors.</param>
    /// <param name="embeddedStride">Distance between rows of <paramref name="embedded"/> (at least n e).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardBlock<T>(EmbeddingShape shape, ReadOnlySpan<T> packed, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> periodic, Span<T> embedded, int embeddedStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        int columns = (2 * k) + 1;
        int width = shape.Features.Count * e;
        Debug.Assert(periodic.Length >= PeriodicLength(shape, rows) && embeddedStride >= width, "room for the block");
        IMatrixProduct product = MatrixProducts.Current;
        Periodic(shape, packed, inputs, inputStride, rows, periodic);
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            // H_f = [S_f 1] [L_f b_f]^T, then the ReLU below.
            product.Multiply(Transpose.No, Transpose.Yes, rows, e, columns, T.One, periodic.Slice(slot * rows * columns, rows * columns), columns, packed.Slice(shape.FrequenciesOffset(slot) + k, e * columns), columns, T.Zero, embedded[(slot * e)..], embeddedStride);
        }

        for (int row = 0; row < rows; row++)
        {
            Rectify(embedded.Slice(row * embeddedStride, width));
        }
    }

    /// <summary>
    /// Adds the embedding's parameter gradient (packed layout) for the co-states of its vectors to
    /// <paramref name="gradient"/>, and when <paramref name="inputGradient"/> is not empty writes dL/dx_f of every embedded
    /// feature f to it (row r, feature f at r * <paramref name="inputGradientStride"/> + f; other features are left alone).
    /// </summary>
    /// <param name="shape">The embedding's sizes.</param>
    /// <param name="packed">Its parameters, packed.</param>
    /// <param name="inputs">The rows <see cref="ForwardBlock"/> ran on.</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/>.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="periodic">What <see cref="ForwardBlock"/> kept (or <see cref="Periodic"/> wrote).</param>
    /// <param name="embedded">The embedded vectors <see cref="ForwardBlock"/> wrote (their signs are the ReLU's mask).</param>
    /// <param name="embeddedStride">Distance between rows of <paramref name="embedded"/>.</param>
    /// <param name="costate">dL/dv, laid out as <paramref name="embedded"/>.</param>
    /// <param name="costateStride">Distance between rows of <paramref name="costate"/>.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/>.</param>
    /// <param name="gradient">The embedding's gradient in the packed layout, added to.</param>
    /// <param name="inputGradient">Empty, or rows of dL/dx.</param>
    /// <param name="inputGradientStride">Distance between rows of <paramref name="inputGradient"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardBlock<T>(EmbeddingShape shape, ReadOnlySpan<T> packed, ReadOnlySpan<double> inputs, int inputStride, int rows, ReadOnlySpan<T> periodic, ReadOnlySpan<T> embedded, int embeddedStride, ReadOnlySpan<T> costate, int costateStride, Span<T> scratch, Span<T> gradient, Span<T> inputGradient, int inputGradientStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        int columns = (2 * k) + 1;
        Debug.Assert(scratch.Length >= ScratchLength(shape, rows), "room for Q and R");
        IMatrixProduct product = MatrixProducts.Current;
        Span<T> masked = scratch[..(rows * e)];
        Span<T> back = scratch.Slice(rows * e, rows * 2 * k);
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            int start = shape.FrequenciesOffset(slot);
            ReadOnlySpan<T> features = periodic.Slice(slot * rows * columns, rows * columns);
            for (int row = 0; row < rows; row++)
            {
                Mask(embedded.Slice((row * embeddedStride) + (slot * e), e), costate.Slice((row * costateStride) + (slot * e), e), masked.Slice(row * e, e));
            }

            // [dL db] += Q^T [S 1]; R = Q L.
            product.Multiply(Transpose.Yes, Transpose.No, e, columns, rows, T.One, masked, e, features, columns, T.One, gradient.Slice(start + k, e * columns), columns);
            product.Multiply(Transpose.No, Transpose.No, rows, 2 * k, e, T.One, masked, e, packed.Slice(start + k, e * columns), columns, T.Zero, back, 2 * k);
            FrequencyGradients(packed.Slice(start, k), inputs, inputStride, shape.Features[slot], rows, features, back, gradient.Slice(start, k), inputGradient, inputGradientStride);
        }
    }

    /// <summary>The periodic features of <see cref="ForwardBlock"/> alone (for a backward pass whose forward kept none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Periodic<T>(EmbeddingShape shape, ReadOnlySpan<T> packed, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> periodic)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int columns = (2 * k) + 1;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            ReadOnlySpan<T> frequencies = packed.Slice(shape.FrequenciesOffset(slot), k);
            Span<T> features = periodic.Slice(slot * rows * columns, rows * columns);
            int feature = shape.Features[slot];
            TurnSineCosine.EvaluateOuter(frequencies, inputs[feature..], inputStride, rows, features, columns);
            for (int row = 0; row < rows; row++)
            {
                // The constant 1 that carries the bias.
                features[(row * columns) + (2 * k)] = T.One;
            }
        }
    }

    // v = max(0, v) in place, for finite v (as TensorPrimitives.Max with 0 gives it, +0 where v <= 0), inline: one short
    // row per call, where a library call's overhead would outweigh the work.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Rectify<T>(Span<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= v.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                Vector<T> values = Vector.LoadUnsafe(ref MemoryMarshal.GetReference(v), (nuint)j);
                Vector.ConditionalSelect(Vector.GreaterThan(values, Vector<T>.Zero), values, Vector<T>.Zero).StoreUnsafe(ref MemoryMarshal.GetReference(v), (nuint)j);
            }
        }

        for (; j < v.Length; j++)
        {
            v[j] = v[j] > T.Zero ? v[j] : T.Zero;
        }
    }

    // q = p where v > 0, else 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Mask<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> p, Span<T> q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= v.Length - Vector<T>.Count; j += Vector<T>.Count)
            {
                Vector<T> values = Vector.LoadUnsafe(ref MemoryMarshal.GetReference(v), (nuint)j);
                Vector<T> costates = Vector.LoadUnsafe(ref MemoryMarshal.GetReference(p), (nuint)j);
                Vector.ConditionalSelect(Vector.GreaterThan(values, Vector<T>.Zero), costates, Vector<T>.Zero).StoreUnsafe(ref MemoryMarshal.GetReference(q), (nuint)j);
            }
        }

        for (; j < v.Length; j++)
        {
            q[j] = v[j] > T.Zero ? p[j] : T.Zero;
        }
    }

    // d/da [sin a, cos a] = [cos a, -sin a]: per row g = R_sin cos - R_cos sin; dc += 2 pi x g, dx = 2 pi c . g.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FrequencyGradients<T>(ReadOnlySpan<T> frequencies, ReadOnlySpan<double> inputs, int inputStride, int feature, int rows, ReadOnlySpan<T> features, ReadOnlySpan<T> back, Span<T> frequencyGradient, Span<T> inputGradient, int inputGradientStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = frequencies.Length;
        int columns = (2 * k) + 1;
        T twoPi = T.CreateTruncating(2 * Math.PI);
        int lanes = Vector.IsHardwareAccelerated ? Vector<T>.Count : k + 1;
        ref T c = ref MemoryMarshal.GetReference(frequencies);
        ref T dc = ref MemoryMarshal.GetReference(frequencyGradient);
        for (int row = 0; row < rows; row++)
        {
            T scale = twoPi * T.CreateTruncating(inputs[(row * inputStride) + feature]);
            ref T r = ref MemoryMarshal.GetReference(back.Slice(row * 2 * k, 2 * k));
            ref T s = ref MemoryMarshal.GetReference(features.Slice(row * columns, 2 * k));
            Vector<T> dot = Vector<T>.Zero;
            T tail = T.Zero;
            int i = 0;
            for (; i <= k - lanes; i += lanes)
            {
                Vector<T> g = (Vector.LoadUnsafe(ref r, (nuint)i) * Vector.LoadUnsafe(ref s, (nuint)(k + i)))
                    - (Vector.LoadUnsafe(ref r, (nuint)(k + i)) * Vector.LoadUnsafe(ref s, (nuint)i));
                (Vector.LoadUnsafe(ref dc, (nuint)i) + (g * scale)).StoreUnsafe(ref dc, (nuint)i);
                dot += Vector.LoadUnsafe(ref c, (nuint)i) * g;
            }

            for (; i < k; i++)
            {
                T g = (Unsafe.Add(ref r, i) * Unsafe.Add(ref s, k + i)) - (Unsafe.Add(ref r, k + i) * Unsafe.Add(ref s, i));
                Unsafe.Add(ref dc, i) += g * scale;
                tail += Unsafe.Add(ref c, i) * g;
            }

            if (!inputGradient.IsEmpty)
            {
                inputGradient[(row * inputGradientStride) + feature] = twoPi * (Vector.Sum(dot) + tail);
            }
        }
    }

    private static void Convert<T>(ReadOnlySpan<double> source, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ScaleConvert(source, 1.0, destination);

    /// <summary>
    /// destination = source * factor, each product rounded to <typeparamref name="T"/> (T.CreateTruncating of the double
    /// product, bit for bit), in vectors: the per-step copies of the parameters a float32 evaluation reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScaleConvert<T>(ReadOnlySpan<double> source, double factor, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var scale = new Vector<double>(factor);
            if (typeof(T) == typeof(float))
            {
                Span<float> single = MemoryMarshal.Cast<T, float>(destination);
                for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector<double> low = new Vector<double>(source[i..]) * scale;
                    Vector<double> high = new Vector<double>(source[(i + Vector<double>.Count)..]) * scale;
                    Vector.Narrow(low, high).CopyTo(single[i..]);
                }
            }
            else if (typeof(T) == typeof(double))
            {
                Span<double> wide = MemoryMarshal.Cast<T, double>(destination);
                for (; i <= source.Length - Vector<double>.Count; i += Vector<double>.Count)
                {
                    (new Vector<double>(source[i..]) * scale).CopyTo(wide[i..]);
                }
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = T.CreateTruncating(source[i] * factor);
        }
    }

    // destination += source, widened to double, in vectors.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Add<T>(ReadOnlySpan<T> source, Span<double> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            ReadOnlySpan<float> single = MemoryMarshal.Cast<T, float>(source);
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(single[i..]), out Vector<double> low, out Vector<double> high);
                (new Vector<double>(destination[i..]) + low).CopyTo(destination[i..]);
                (new Vector<double>(destination[(i + Vector<double>.Count)..]) + high).CopyTo(destination[(i + Vector<double>.Count)..]);
            }
        }
        else if (Vector.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            ReadOnlySpan<double> wide = MemoryMarshal.Cast<T, double>(source);
            for (; i <= source.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                (new Vector<double>(destination[i..]) + new Vector<double>(wide[i..])).CopyTo(destination[i..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] += double.CreateTruncating(source[i]);
        }
    }
}
