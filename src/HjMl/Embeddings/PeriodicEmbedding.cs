using System.Numerics.Tensors;

namespace HjMl.Embeddings;

/// <summary>
/// The periodic embedding's forward map, its adjoint and its Lipschitz bound (<see cref="EmbeddingShape"/>):
/// a_fk = 2 pi c_fk x_f, s_f = [sin a_f, cos a_f], v_f = max(0, L_f s_f + b_f). Backward [derived]: with the co-state p_f
/// of v_f, q = p_f where L_f s_f + b_f &gt; 0 (else 0); db_f += q, dL_f += q s_f^T, r = L_f^T q, and per frequency
/// g_k = r_k cos a_k - r_(K+k) sin a_k gives dc_fk += 2 pi x_f g_k and dx_f = 2 pi sum_k c_fk g_k.
/// Row-wise and allocation-free (scratch on the stack for K, e up to 256; pooled otherwise).
/// </summary>
internal static class PeriodicEmbedding
{
    private const int StackLimit = 256;

    /// <summary>Embeds <paramref name="rows"/> rows read <paramref name="inputStride"/> apart into rows written <paramref name="outputStride"/> apart.</summary>
    public static void Forward(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<double> outputs, int outputStride)
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        Span<double> sines = 2 * k <= StackLimit ? stackalloc double[2 * k] : new double[2 * k];
        for (int row = 0; row < rows; row++)
        {
            Row(shape, parameters, inputs.Slice(row * inputStride, shape.InputDimension), outputs.Slice(row * outputStride, shape.OutputWidth), sines, k, e);
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
    /// Adds the embedding's parameter gradient for the co-states <paramref name="costate"/> (rows x m, dL/dz_0) to
    /// <paramref name="gradient"/>, and when <paramref name="inputGradient"/> is not empty writes dL/dx (rows x d) to it.
    /// </summary>
    public static void Backward(EmbeddingShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, int inputStride, int rows, ReadOnlySpan<double> costate, int costateStride, Span<double> gradient, Span<double> inputGradient)
    {
        int k = shape.Frequencies;
        int e = shape.Width;
        int d = shape.InputDimension;
        Span<double> sines = 2 * k <= StackLimit ? stackalloc double[2 * k] : new double[2 * k];
        Span<double> back = 2 * k <= StackLimit ? stackalloc double[2 * k] : new double[2 * k];
        Span<double> active = e <= StackLimit ? stackalloc double[e] : new double[e];
        bool wantInput = !inputGradient.IsEmpty;
        IReadOnlyList<int> passed = shape.PassedThrough;
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<double> x = inputs.Slice(row * inputStride, d);
            ReadOnlySpan<double> p = costate.Slice(row * costateStride, shape.OutputWidth);
            Span<double> dx = wantInput ? inputGradient.Slice(row * d, d) : default;
            if (wantInput)
            {
                for (int i = 0; i < passed.Count; i++)
                {
                    dx[passed[i]] = p[i];
                }
            }

            for (int slot = 0; slot < shape.Features.Count; slot++)
            {
                int feature = shape.Features[slot];
                ReadOnlySpan<double> frequencies = parameters.Slice(shape.FrequenciesOffset(slot), k);
                ReadOnlySpan<double> weights = parameters.Slice(shape.WeightsOffset(slot), 2 * k * e);
                ReadOnlySpan<double> bias = parameters.Slice(shape.BiasOffset(slot), e);
                Periodic(frequencies, x[feature], sines);

                // q = p_f where the pre-activation is positive.
                ReadOnlySpan<double> pf = p.Slice(shape.OutputOffset(slot), e);
                bool any = false;
                for (int j = 0; j < e; j++)
                {
                    double pre = bias[j] + TensorPrimitives.Dot(weights.Slice(j * 2 * k, 2 * k), sines);
                    active[j] = pre > 0 ? pf[j] : 0;
                    any |= active[j] != 0;
                }

                if (!any)
                {
                    if (wantInput)
                    {
                        dx[feature] = 0;
                    }

                    continue;
                }

                Span<double> weightGradient = gradient.Slice(shape.WeightsOffset(slot), 2 * k * e);
                TensorPrimitives.Add(gradient.Slice(shape.BiasOffset(slot), e), active, gradient.Slice(shape.BiasOffset(slot), e));
                back.Clear();
                for (int j = 0; j < e; j++)
                {
                    if (active[j] != 0)
                    {
                        Span<double> rowGradient = weightGradient.Slice(j * 2 * k, 2 * k);
                        TensorPrimitives.MultiplyAdd(sines, active[j], rowGradient, rowGradient);
                        TensorPrimitives.MultiplyAdd(weights.Slice(j * 2 * k, 2 * k), active[j], back, back);
                    }
                }

                Span<double> frequencyGradient = gradient.Slice(shape.FrequenciesOffset(slot), k);
                double twoPi = 2 * Math.PI;
                double input = 0;
                for (int f = 0; f < k; f++)
                {
                    // d/da [sin a, cos a] = [cos a, -sin a].
                    double g = (back[f] * sines[k + f]) - (back[k + f] * sines[f]);
                    frequencyGradient[f] += twoPi * x[feature] * g;
                    input += twoPi * frequencies[f] * g;
                }

                if (wantInput)
                {
                    dx[feature] = input;
                }
            }
        }
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

    // s = [sin(2 pi c_k x), cos(2 pi c_k x)], vectorised: the sines and cosines are most of the embedding's cost.
    private static void Periodic(ReadOnlySpan<double> frequencies, double x, Span<double> sines)
    {
        int k = frequencies.Length;
        Span<double> angles = k <= StackLimit ? stackalloc double[k] : new double[k];
        TensorPrimitives.Multiply(frequencies, 2 * Math.PI * x, angles);
        TensorPrimitives.SinCos<double>(angles, sines[..k], sines.Slice(k, k));
    }
}
