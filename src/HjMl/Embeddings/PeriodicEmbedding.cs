using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using HjMl.Kernels;

namespace HjMl.Embeddings;

/// <summary>
/// The periodic embedding's forward map, its adjoint and its Lipschitz bound (<see cref="EmbeddingShape"/>):
/// a_fk = 2 pi c_fk x_f, s_f = [sin a_f, cos a_f], v_f = max(0, L_f s_f + b_f). Backward [derived]: with the co-state p_f
/// of v_f, q = p_f where L_f s_f + b_f &gt; 0 (else 0); db_f += q, dL_f += q s_f^T, r = L_f^T q, and per frequency
/// g_k = r_k cos a_k - r_(K+k) sin a_k gives dc_fk += 2 pi x_f g_k and dx_f = 2 pi sum_k c_fk g_k.
/// Here row by row and allocation-free (scratch on the stack for K, e up to 256; pooled otherwise), for scoring one row;
/// blocks of rows and the adjoint go through matrix products (PeriodicEmbedding.Block.cs). Both take the sines and
/// cosines from <see cref="TurnSineCosine"/> of the turns c_fk x_f.
/// </summary>
internal static partial class PeriodicEmbedding
{
    private const int StackLimit = 256;

    /// <summary>
    /// Embeds <paramref name="rows"/> rows read <paramref name="inputStride"/> apart into rows written
    /// <paramref name="outputStride"/> apart: the passed-through features copied, the embedded ones by
    /// <see cref="ForwardBlock"/> (its periodic features in a pooled buffer).
    /// </summary>
    public static void Forward(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<double> outputs, int outputStride)
    {
        PassThrough(shape, inputs, inputStride, rows, outputs, outputStride);
        double[] packed = ArrayPool<double>.Shared.Rent(shape.ParameterCount);
        double[] periodic = ArrayPool<double>.Shared.Rent(PeriodicLength(shape, rows));
        try
        {
            Pack<double>(shape, parameters, packed);
            ForwardBlock<double>(shape, packed, inputs, inputStride, rows, periodic, outputs[shape.PassedThrough.Count..], outputStride);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(packed);
            ArrayPool<double>.Shared.Return(periodic);
        }
    }

    /// <summary>
    /// dL/dx of <paramref name="rows"/> rows (d each, row-major) from the co-states <paramref name="costate"/> of their
    /// embedded states <paramref name="embedded"/> (both <paramref name="stride"/> apart), and the embedding's parameter
    /// gradient added to <paramref name="gradient"/>; the periodic features are computed again (<see cref="BackwardBlock"/>,
    /// with pooled buffers). <paramref name="inputGradient"/> may be empty.
    /// </summary>
    public static void Backward(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, ReadOnlySpan<double> embedded, ReadOnlySpan<double> costate, int stride, Span<double> gradient, Span<double> inputGradient)
    {
        int d = shape.InputDimension;
        int passed = shape.PassedThrough.Count;
        if (!inputGradient.IsEmpty)
        {
            for (int row = 0; row < rows; row++)
            {
                for (int i = 0; i < passed; i++)
                {
                    inputGradient[(row * d) + shape.PassedThrough[i]] = costate[(row * stride) + i];
                }
            }
        }

        int count = shape.ParameterCount;
        double[] packed = ArrayPool<double>.Shared.Rent(2 * count);
        double[] periodic = ArrayPool<double>.Shared.Rent(PeriodicLength(shape, rows));
        double[] scratch = ArrayPool<double>.Shared.Rent(ScratchLength(shape, rows));
        try
        {
            Span<double> packedGradient = packed.AsSpan(count, count);
            packedGradient.Clear();
            Pack<double>(shape, parameters, packed);
            Periodic<double>(shape, packed.AsSpan(0, count), inputs, inputStride, rows, periodic);
            BackwardBlock<double>(shape, packed.AsSpan(0, count), inputs, inputStride, rows, periodic, embedded[passed..], stride, costate[passed..], stride, scratch, packedGradient, inputGradient, d);
            AddUnpacked<double>(shape, packedGradient, gradient);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(packed);
            ArrayPool<double>.Shared.Return(periodic);
            ArrayPool<double>.Shared.Return(scratch);
        }
    }

    /// <summary>Copies the passed-through features of <paramref name="rows"/> rows to the start of their embedded states.</summary>
    public static void PassThrough<T>(EmbeddingShape shape, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<T> outputs, int outputStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        IReadOnlyList<int> passed = shape.PassedThrough;
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<double> x = inputs.Slice(row * inputStride, shape.InputDimension);
            Span<T> z = outputs.Slice(row * outputStride, passed.Count);
            for (int i = 0; i < passed.Count; i++)
            {
                z[i] = T.CreateTruncating(x[passed[i]]);
            }
        }
    }

    /// <summary>Embeds one row of d standardised features into <paramref name="output"/> (<see cref="EmbeddingShape.OutputWidth"/>).</summary>
    public static void Forward(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> input, Span<double> output)
    {
        int k = shape.Frequencies;
        Span<double> sines = 2 * k <= StackLimit ? stackalloc double[2 * k] : new double[2 * k];
        Row(shape, parameters, input, output, sines, k, shape.Width);
    }

    /// <summary>
    /// A proven Lipschitz bound of x -&gt; z_0 in the Euclidean norm: the map is separable across features, so its constant
    /// is the largest per-feature constant (1 for a passed-through feature). Feature f's [derived]: d (L_j s_f) / d x_f =
    /// 2 pi sum_k c_k (L_jk cos a_k - L_j(K+k) sin a_k), at most 2 pi sum_k |c_k| r_jk with r_jk = sqrt(L_jk^2 + L_j(K+k)^2)
    /// (Cauchy–Schwarz per frequency pair), and ReLU is 1-Lipschitz per unit, so Lip_f &lt;= 2 pi sqrt(sum_j (sum_k |c_k| r_jk)^2),
    /// never above 2 pi ||c_f|| ||L_f||_F (Cauchy–Schwarz over k).
    /// </summary>
    public static double LipschitzBound(EmbeddingShape shape, ReadOnlySpan<double> parameters)
    {
        int k = shape.Frequencies;
        double bound = shape.PassedThrough.Count > 0 ? 1 : 0;
        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            ReadOnlySpan<double> frequencies = parameters.Slice(shape.FrequenciesOffset(slot), k);
            ReadOnlySpan<double> weights = parameters.Slice(shape.WeightsOffset(slot), 2 * k * shape.Width);
            double squared = 0;
            for (int j = 0; j < shape.Width; j++)
            {
                ReadOnlySpan<double> unit = weights.Slice(j * 2 * k, 2 * k);
                double slope = 0;
                for (int f = 0; f < k; f++)
                {
                    slope += Math.Abs(frequencies[f]) * Math.Sqrt((unit[f] * unit[f]) + (unit[k + f] * unit[k + f]));
                }

                squared += slope * slope;
            }

            bound = Math.Max(bound, 2 * Math.PI * Math.Sqrt(squared));
        }

        return bound;
    }

    private static void Row(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> z, Span<double> sines, int k, int e)
    {
        IReadOnlyList<int> passed = shape.PassedThrough;
        for (int i = 0; i < passed.Count; i++)
        {
            z[i] = x[passed[i]];
        }

        for (int slot = 0; slot < shape.Features.Count; slot++)
        {
            Periodic(parameters.Slice(shape.FrequenciesOffset(slot), k), x[shape.Features[slot]], sines);
            ReadOnlySpan<double> weights = parameters.Slice(shape.WeightsOffset(slot), 2 * k * e);
            ReadOnlySpan<double> bias = parameters.Slice(shape.BiasOffset(slot), e);
            Span<double> v = z.Slice(shape.OutputOffset(slot), e);
            for (int j = 0; j < e; j++)
            {
                v[j] = Math.Max(0, bias[j] + TensorPrimitives.Dot(weights.Slice(j * 2 * k, 2 * k), sines));
            }
        }
    }

    // s = [sin(2 pi c_k x), cos(2 pi c_k x)]: the turns c_k x go where the cosines do and are evaluated in place.
    private static void Periodic(ReadOnlySpan<double> frequencies, double x, Span<double> sines)
    {
        int k = frequencies.Length;
        TensorPrimitives.Multiply(frequencies, x, sines.Slice(k, k));
        TurnSineCosine.Evaluate<double>(sines.Slice(k, k), sines[..k], sines.Slice(k, k));
    }
}
