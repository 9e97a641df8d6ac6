using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using HjMl.Kernels;
using HjMl.LinearAlgebra;

namespace HjMl.Embeddings;

/// <summary>
/// The periodic embedding on a block of rows in matrix products, in double or float32: per embedded feature f, the
/// periodic features S_f = [sin 2 pi T_f, cos 2 pi T_f] of the turns T_f = x_f c_f^T (rows x 2K,
/// <see cref="TurnSineCosine"/>), then V_f = max(0, S_f L_f^T + 1 b_f^T) (rows x e). Backward, with the co-states P_f of
/// V_f: Q_f = P_f where V_f &gt; 0 (else 0), db_f += 1^T Q_f, dL_f += Q_f^T S_f, R_f = Q_f L_f, and per row and
/// frequency g_k = R_k cos - R_(K+k) sin gives dc_fk += 2 pi x_f g_k and dx_f = 2 pi sum_k c_fk g_k (the row-wise
/// adjoint of <see cref="PeriodicEmbedding"/>, with the matrix products batched over the rows).
/// </summary>
internal static partial class PeriodicEmbedding
{
    /// <summary>The periodic features of a block: one block of rows x 2K per embedded feature.</summary>
    public static int PeriodicLength(EmbeddingShape shape, int rows) => shape.Features.Count * rows * 2 * shape.Frequencies;

    /// <summary>The scratch <see cref="BackwardBlock"/> needs: rows x (e + 2K).</summary>
    public static int ScratchLength(EmbeddingShape shape, int rows) => rows * (shape.Width + (2 * shape.Frequencies));

    /// <summary>
    /// Writes the embedded vectors of <paramref name="rows"/> rows: v_f of row r at
    /// <paramref name="embedded"/>[r * <paramref name="embeddedStride"/> + slot e]; keeps the periodic features for
    /// <see cref="BackwardBlock"/>.
    /// </summary>
    /// <param name="shape">The embedding's sizes.</param>
    /// <param name="parameters">Its parameters (<see cref="EmbeddingShape"/> layout).</param>
    /// <param name="inputs">Standardised rows, <paramref name="inputStride"/> apart (the embedded features are read).</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/>.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="periodic">At least <see cref="PeriodicLength"/>: receives S_f, feature by feature.</param>
    /// <param name="embedded">Receives the embedded vectors.</param>
    /// <param name="embeddedStride">Distance between rows of <paramref name="embedded"/> (at least n e).</param>
    public static void ForwardBlock<T>(EmbeddingShape shape, ReadOnlySpan<T> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> periodic, Span<T> embedded, int embeddedStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        Debug.Assert(periodic.Length >= PeriodicLength(shape, rows) && embeddedStride >= shape.Features.Count * e, "room for the block");
        IMatrixProduct product = MatrixProducts.Current;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            Span<T> features = periodic.Slice(slot * rows * 2 * k, rows * 2 * k);
            Periodic(parameters.Slice(shape.FrequenciesOffset(slot), k), inputs, inputStride, shape.Features[slot], rows, features);

            // H_f = S_f L_f^T + b_f into the output, then the ReLU in place.
            ReadOnlySpan<T> bias = parameters.Slice(shape.BiasOffset(slot), e);
            Span<T> output = embedded[(slot * e)..];
            for (int row = 0; row < rows; row++)
            {
                bias.CopyTo(output.Slice(row * embeddedStride, e));
            }

            product.Multiply(Transpose.No, Transpose.Yes, rows, e, 2 * k, T.One, features, 2 * k, parameters.Slice(shape.WeightsOffset(slot), 2 * k * e), 2 * k, T.One, output, embeddedStride);
            for (int row = 0; row < rows; row++)
            {
                Span<T> v = output.Slice(row * embeddedStride, e);
                TensorPrimitives.Max(v, T.Zero, v);
            }
        }
    }

    /// <summary>
    /// Adds the embedding's parameter gradient for the co-states of its vectors to <paramref name="gradient"/>, and when
    /// <paramref name="inputGradient"/> is not empty writes dL/dx_f of every embedded feature f to it (row r, feature f at
    /// r * <paramref name="inputGradientStride"/> + f; other features are left alone).
    /// </summary>
    /// <param name="shape">The embedding's sizes.</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="inputs">The rows <see cref="ForwardBlock"/> ran on.</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/>.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="periodic">What <see cref="ForwardBlock"/> kept.</param>
    /// <param name="embedded">The embedded vectors <see cref="ForwardBlock"/> wrote (their signs are the ReLU's mask).</param>
    /// <param name="embeddedStride">Distance between rows of <paramref name="embedded"/>.</param>
    /// <param name="costate">dL/dv, laid out as <paramref name="embedded"/>.</param>
    /// <param name="costateStride">Distance between rows of <paramref name="costate"/>.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/>.</param>
    /// <param name="gradient">The embedding's gradient (<see cref="EmbeddingShape.ParameterCount"/>), added to.</param>
    /// <param name="inputGradient">Empty, or rows of dL/dx.</param>
    /// <param name="inputGradientStride">Distance between rows of <paramref name="inputGradient"/>.</param>
    public static void BackwardBlock<T>(EmbeddingShape shape, ReadOnlySpan<T> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, ReadOnlySpan<T> periodic, ReadOnlySpan<T> embedded, int embeddedStride, ReadOnlySpan<T> costate, int costateStride, Span<T> scratch, Span<T> gradient, Span<T> inputGradient, int inputGradientStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        Debug.Assert(scratch.Length >= ScratchLength(shape, rows), "room for Q and R");
        IMatrixProduct product = MatrixProducts.Current;
        Span<T> masked = scratch[..(rows * e)];
        Span<T> back = scratch.Slice(rows * e, rows * 2 * k);
        T twoPi = T.CreateTruncating(2 * Math.PI);
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            int feature = shape.Features[slot];
            ReadOnlySpan<T> features = periodic.Slice(slot * rows * 2 * k, rows * 2 * k);
            ReadOnlySpan<T> frequencies = parameters.Slice(shape.FrequenciesOffset(slot), k);
            ReadOnlySpan<T> weights = parameters.Slice(shape.WeightsOffset(slot), 2 * k * e);
            Span<T> biasGradient = gradient.Slice(shape.BiasOffset(slot), e);

            // Q = P where the unit is active; db += its column sums.
            for (int row = 0; row < rows; row++)
            {
                ReadOnlySpan<T> v = embedded.Slice((row * embeddedStride) + (slot * e), e);
                ReadOnlySpan<T> p = costate.Slice((row * costateStride) + (slot * e), e);
                Span<T> q = masked.Slice(row * e, e);
                for (int j = 0; j < e; j++)
                {
                    q[j] = v[j] > T.Zero ? p[j] : T.Zero;
                }

                TensorPrimitives.Add(biasGradient, q, biasGradient);
            }

            product.Multiply(Transpose.Yes, Transpose.No, e, 2 * k, rows, T.One, masked, e, features, 2 * k, T.One, gradient.Slice(shape.WeightsOffset(slot), 2 * k * e), 2 * k);
            product.Multiply(Transpose.No, Transpose.No, rows, 2 * k, e, T.One, masked, e, weights, 2 * k, T.Zero, back, 2 * k);

            // d/da [sin a, cos a] = [cos a, -sin a]: g = R_sin cos - R_cos sin, in place of R's first half.
            Span<T> frequencyGradient = gradient.Slice(shape.FrequenciesOffset(slot), k);
            for (int row = 0; row < rows; row++)
            {
                Span<T> g = back.Slice(row * 2 * k, k);
                Span<T> cosineBack = back.Slice((row * 2 * k) + k, k);
                ReadOnlySpan<T> sines = features.Slice(row * 2 * k, k);
                ReadOnlySpan<T> cosines = features.Slice((row * 2 * k) + k, k);
                TensorPrimitives.Multiply(g, cosines, g);
                TensorPrimitives.Multiply(cosineBack, sines, cosineBack);
                TensorPrimitives.Subtract(g, cosineBack, g);
                T x = T.CreateTruncating(inputs[(row * inputStride) + feature]);
                TensorPrimitives.MultiplyAdd(g, twoPi * x, frequencyGradient, frequencyGradient);
                if (!inputGradient.IsEmpty)
                {
                    inputGradient[(row * inputGradientStride) + feature] = twoPi * TensorPrimitives.Dot(frequencies, g);
                }
            }
        }
    }

    /// <summary>The periodic features of <see cref="ForwardBlock"/> alone (for a backward pass whose forward kept none).</summary>
    public static void Periodic<T>(EmbeddingShape shape, ReadOnlySpan<T> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> periodic)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = shape.Frequencies;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            Periodic(parameters.Slice(shape.FrequenciesOffset(slot), k), inputs, inputStride, shape.Features[slot], rows, periodic.Slice(slot * rows * 2 * k, rows * 2 * k));
        }
    }

    // S = [sin 2 pi t, cos 2 pi t] per row, t_k = c_k x (the turns, written where the cosines go, then evaluated in place).
    private static void Periodic<T>(ReadOnlySpan<T> frequencies, ReadOnlySpan<double> inputs, int inputStride, int feature, int rows, Span<T> features)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = frequencies.Length;
        for (int row = 0; row < rows; row++)
        {
            Span<T> sines = features.Slice(row * 2 * k, k);
            Span<T> cosines = features.Slice((row * 2 * k) + k, k);
            TensorPrimitives.Multiply(frequencies, T.CreateTruncating(inputs[(row * inputStride) + feature]), cosines);
            TurnSineCosine.Evaluate<T>(cosines, sines, cosines);
        }
    }
}
