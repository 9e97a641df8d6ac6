using System.Numerics.Tensors;
using HjMl.Embeddings;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Flows;

/// <summary>
/// Forward Euler through a residual Gibbs flow and its discrete adjoint, on a block of rows, in matrix products
/// (THEORY.md section 9). Forward: z_0 = P x + q (or x), Pi_k = softmax((Z_k A^T + c) / eps) row by row,
/// Z_{k+1} = Z_k + h Pi_k U. Backward (the Pontryagin co-state of the discrete flow): with g_j = h p_{k+1} . u_j and
/// s = sum_j pi_j g_j, the logit co-state is G_j = pi_j (g_j - s) / eps and p_k = p_{k+1} + G A, which is
/// p_{k+1} + h (dv_k/dz)^T p_{k+1} with dv/dz = Cov_pi(u, a) / eps [derived from section 3]. Parameter gradients:
/// dU += h Pi^T p_{k+1}, dA += G^T Z_k, dc += sum of G over rows, dP += p_0^T X, dq += sum of p_0 over rows; an embedded
/// start takes p_0 through <see cref="PeriodicEmbedding.Backward"/>.
/// </summary>
internal static class FlowPass
{
    /// <summary>
    /// Runs the flow on <paramref name="rows"/> rows and stores every state and every step's Gibbs weights.
    /// </summary>
    /// <param name="shape">The flow's sizes.</param>
    /// <param name="parameters">The flow's flat parameters (<see cref="FlowShape"/> layout).</param>
    /// <param name="stepSize">h = T / L.</param>
    /// <param name="viscosity">eps of the Gibbs weights.</param>
    /// <param name="inputs">Rows of d standardised features, <paramref name="inputStride"/> apart.</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/> (at least d).</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="states">(L + 1) blocks of rows x m: z_0 .. z_L.</param>
    /// <param name="gibbs">L blocks of rows x J: each step's Gibbs weights.</param>
    public static void Forward(FlowShape shape, ReadOnlySpan<double> parameters, double stepSize, double viscosity, ReadOnlySpan<double> inputs, int inputStride, int rows, Span<double> states, Span<double> gibbs)
    {
        int m = shape.Width;
        int d = shape.InputDimension;
        int pieces = shape.Pieces;
        int block = rows * m;
        IMatrixProduct product = MatrixProducts.Current;
        Span<double> initial = states[..block];
        if (shape.Lifted)
        {
            ReadOnlySpan<double> lift = parameters[..(m * d)];
            ReadOnlySpan<double> liftBias = parameters.Slice(m * d, m);
            for (int row = 0; row < rows; row++)
            {
                liftBias.CopyTo(initial.Slice(row * m, m));
            }

            product.Multiply(Transpose.No, Transpose.Yes, rows, m, d, 1.0, inputs, inputStride, lift, d, 1.0, initial, m);
        }
        else if (shape.Embedding is { } embedding)
        {
            PeriodicEmbedding.Forward(embedding, parameters[..shape.LiftLength], inputs, inputStride, rows, initial, m);
        }
        else
        {
            for (int row = 0; row < rows; row++)
            {
                inputs.Slice(row * inputStride, d).CopyTo(initial.Slice(row * m, m));
            }
        }

        double inverse = 1 / viscosity;
        for (int step = 0; step < shape.Steps; step++)
        {
            ReadOnlySpan<double> state = states.Slice(step * block, block);
            Span<double> next = states.Slice((step + 1) * block, block);
            Span<double> weights = gibbs.Slice(step * rows * pieces, rows * pieces);
            ReadOnlySpan<double> keys = parameters.Slice(shape.KeysOffset(step), pieces * m);
            ReadOnlySpan<double> offsets = parameters.Slice(shape.OffsetsOffset(step), pieces);
            ReadOnlySpan<double> values = parameters.Slice(shape.ValuesOffset(step), pieces * m);

            // Logits already divided by eps, then the reference Gibbs weights at eps = 1, in place.
            product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, inverse, state, m, keys, m, 0.0, weights, pieces);
            for (int row = 0; row < rows; row++)
            {
                Span<double> logits = weights.Slice(row * pieces, pieces);
                TensorPrimitives.MultiplyAdd(offsets, inverse, logits, logits);
                LogSumExp.GibbsWeights<double>(logits, 1.0, logits);
            }

            // Z_{k+1} = Z_k + h Pi U: the velocity is the Gibbs expectation of the values (THEORY.md section 8).
            state.CopyTo(next);
            product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, stepSize, weights, pieces, values, m, 1.0, next, m);
        }
    }

    /// <summary>
    /// Runs the co-state backward from p_L = dL/dz_L and adds the flow's parameter gradient to <paramref name="gradient"/>.
    /// </summary>
    /// <param name="shape">The flow's sizes.</param>
    /// <param name="parameters">The flow's flat parameters.</param>
    /// <param name="stepSize">h = T / L.</param>
    /// <param name="viscosity">eps of the Gibbs weights.</param>
    /// <param name="inputs">The rows <see cref="Forward"/> ran on.</param>
    /// <param name="inputStride">Distance between rows of <paramref name="inputs"/>.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="states">What <see cref="Forward"/> stored.</param>
    /// <param name="gibbs">What <see cref="Forward"/> stored.</param>
    /// <param name="costate">rows x m: dL/dz_L on entry, dL/dz_0 on return.</param>
    /// <param name="scratch">At least rows x J.</param>
    /// <param name="gradient">The flow's gradient (<see cref="FlowShape.ParameterCount"/>), added to.</param>
    /// <param name="embeddedInputGradient">With an embedded start, when not empty: receives dL/dx (rows x d) from the same pass.</param>
    public static void Backward(FlowShape shape, ReadOnlySpan<double> parameters, double stepSize, double viscosity, ReadOnlySpan<double> inputs, int inputStride, int rows, ReadOnlySpan<double> states, ReadOnlySpan<double> gibbs, Span<double> costate, Span<double> scratch, Span<double> gradient, Span<double> embeddedInputGradient = default)
    {
        int m = shape.Width;
        int d = shape.InputDimension;
        int pieces = shape.Pieces;
        int block = rows * m;
        double inverse = 1 / viscosity;
        IMatrixProduct product = MatrixProducts.Current;
        Span<double> logitCostate = scratch[..(rows * pieces)];
        for (int step = shape.Steps - 1; step >= 0; step--)
        {
            ReadOnlySpan<double> state = states.Slice(step * block, block);
            ReadOnlySpan<double> weights = gibbs.Slice(step * rows * pieces, rows * pieces);
            ReadOnlySpan<double> keys = parameters.Slice(shape.KeysOffset(step), pieces * m);
            ReadOnlySpan<double> values = parameters.Slice(shape.ValuesOffset(step), pieces * m);
            Span<double> keyGradient = gradient.Slice(shape.KeysOffset(step), pieces * m);
            Span<double> offsetGradient = gradient.Slice(shape.OffsetsOffset(step), pieces);
            Span<double> valueGradient = gradient.Slice(shape.ValuesOffset(step), pieces * m);

            // g = h P U^T, then dU += h Pi^T P, both with p_{k+1}.
            product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, stepSize, costate, m, values, m, 0.0, logitCostate, pieces);
            product.Multiply(Transpose.Yes, Transpose.No, pieces, m, rows, stepSize, weights, pieces, costate, m, 1.0, valueGradient, m);

            // G_j = pi_j (g_j - E_pi[g]) / eps: the softmax's Jacobian transposed.
            for (int row = 0; row < rows; row++)
            {
                Span<double> g = logitCostate.Slice(row * pieces, pieces);
                ReadOnlySpan<double> pi = weights.Slice(row * pieces, pieces);
                double mean = TensorPrimitives.Dot(pi, g);
                TensorPrimitives.Subtract(g, mean, g);
                TensorPrimitives.Multiply(g, pi, g);
                TensorPrimitives.Multiply(g, inverse, g);
                TensorPrimitives.Add(offsetGradient, g, offsetGradient);
            }

            product.Multiply(Transpose.Yes, Transpose.No, pieces, m, rows, 1.0, logitCostate, pieces, state, m, 1.0, keyGradient, m);

            // p_k = p_{k+1} + G A.
            product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, 1.0, logitCostate, pieces, keys, m, 1.0, costate, m);
        }

        if (shape.Lifted)
        {
            product.Multiply(Transpose.Yes, Transpose.No, m, d, rows, 1.0, costate, m, inputs, inputStride, 1.0, gradient[..(m * d)], d);
            Span<double> liftBiasGradient = gradient.Slice(m * d, m);
            for (int row = 0; row < rows; row++)
            {
                TensorPrimitives.Add(liftBiasGradient, costate.Slice(row * m, m), liftBiasGradient);
            }
        }
        else if (shape.Embedding is { } embedding)
        {
            PeriodicEmbedding.Backward(embedding, parameters[..shape.LiftLength], inputs, inputStride, rows, states[..block], costate, m, gradient[..shape.LiftLength], embeddedInputGradient);
        }
    }
}
