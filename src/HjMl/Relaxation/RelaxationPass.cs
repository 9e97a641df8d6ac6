using System.Numerics.Tensors;
using HjMl.LinearAlgebra;

namespace HjMl.Relaxation;

/// <summary>
/// The relaxation steps on a block of rows and their discrete adjoint (THEORY.md section 10). Forward:
/// a_k = W_k z_k - b_k (a dense product, or the ADR stencil with b = 0), z_{k+1} = (1 - omega) z_k + omega sigma(a_k),
/// which is the residual Euler form z_k + h v(z_k) of section 9 with h = omega and v = sigma(W z - b) - z.
/// Backward, from p_L = dL/dz_L: g_k = omega sigma'(a_k) p_{k+1}, p_k = (1 - omega) p_{k+1} + W_k^T g_k,
/// dW_k += g_k z_k^T (dense) or the moment sums of <see cref="AdrStencil.AccumulateGradient"/>, db_k -= g_k,
/// dL/domega += p_{k+1} . (sigma(a_k) - z_k) [derived: THEORY.md section 10, co-state of the relaxation step].
/// </summary>
internal static class RelaxationPass
{
    /// <summary>Runs the L steps on <paramref name="rows"/> rows of N values (stride N), storing every state and pre-activation.</summary>
    /// <param name="shape">The network's sizes.</param>
    /// <param name="parameters">The network's flat parameters.</param>
    /// <param name="activation">sigma.</param>
    /// <param name="viscosity">eps of softplus.</param>
    /// <param name="omega">The relaxation factor.</param>
    /// <param name="inputs">rows x N.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="states">(L + 1) blocks of rows x N: z_0 .. z_L.</param>
    /// <param name="arguments">L blocks of rows x N: a_0 .. a_{L-1}.</param>
    public static void Forward(RelaxationShape shape, ReadOnlySpan<double> parameters, RelaxationActivation activation, double viscosity, double omega, ReadOnlySpan<double> inputs, int rows, Span<double> states, Span<double> arguments)
    {
        int n = shape.InputDimension;
        int block = rows * n;
        inputs[..block].CopyTo(states);
        for (int layer = 0; layer < shape.Depth; layer++)
        {
            ReadOnlySpan<double> state = states.Slice(layer * block, block);
            Span<double> argument = arguments.Slice(layer * block, block);
            Span<double> next = states.Slice((layer + 1) * block, block);
            Mix(shape, parameters.Slice(shape.LayerOffset(layer), shape.LayerLength), state, rows, argument);
            ActivationFunction.Apply(activation, viscosity, argument, next);
            TensorPrimitives.Multiply(next, omega, next);
            TensorPrimitives.MultiplyAdd(state, 1 - omega, next, next);
        }
    }

    /// <summary>
    /// Runs the co-state back from p_L and adds the steps' gradient to <paramref name="gradient"/>; returns dL/domega.
    /// </summary>
    /// <param name="shape">The network's sizes.</param>
    /// <param name="parameters">The network's flat parameters.</param>
    /// <param name="activation">sigma.</param>
    /// <param name="viscosity">eps of softplus.</param>
    /// <param name="omega">The relaxation factor.</param>
    /// <param name="rows">Rows in the block.</param>
    /// <param name="states">What <see cref="Forward"/> stored.</param>
    /// <param name="arguments">What <see cref="Forward"/> stored.</param>
    /// <param name="costate">rows x N: dL/dz_L on entry, dL/dz_0 on return.</param>
    /// <param name="scratch">At least 2 x rows x N.</param>
    /// <param name="gradient">The network's gradient (its parameter layout), added to.</param>
    public static double Backward(RelaxationShape shape, ReadOnlySpan<double> parameters, RelaxationActivation activation, double viscosity, double omega, int rows, ReadOnlySpan<double> states, ReadOnlySpan<double> arguments, Span<double> costate, Span<double> scratch, Span<double> gradient)
    {
        int n = shape.InputDimension;
        int block = rows * n;
        Span<double> relaxed = scratch[..block];
        Span<double> g = scratch.Slice(block, block);
        double omegaGradient = 0;
        IMatrixProduct product = MatrixProducts.Current;
        for (int layer = shape.Depth - 1; layer >= 0; layer--)
        {
            ReadOnlySpan<double> state = states.Slice(layer * block, block);
            ReadOnlySpan<double> argument = arguments.Slice(layer * block, block);
            ReadOnlySpan<double> weights = parameters.Slice(shape.LayerOffset(layer), shape.LayerLength);
            Span<double> layerGradient = gradient.Slice(shape.LayerOffset(layer), shape.LayerLength);

            // dL/domega += p_{k+1} . (sigma(a_k) - z_k).
            ActivationFunction.Apply(activation, viscosity, argument, relaxed);
            TensorPrimitives.Subtract(relaxed, state, relaxed);
            omegaGradient += TensorPrimitives.Dot(costate[..block], relaxed);

            // g = omega sigma'(a) p_{k+1}.
            ActivationFunction.Derivative(activation, viscosity, argument, g);
            TensorPrimitives.Multiply(g, costate[..block], g);
            TensorPrimitives.Multiply(g, omega, g);

            if (shape.Mixing == RelaxationMixing.Dense)
            {
                ReadOnlySpan<double> matrix = weights[..(n * n)];
                product.Multiply(Transpose.Yes, Transpose.No, n, n, rows, 1.0, g, n, state, n, 1.0, layerGradient[..(n * n)], n);
                Span<double> biasGradient = layerGradient.Slice(n * n, n);
                for (int row = 0; row < rows; row++)
                {
                    TensorPrimitives.Subtract(biasGradient, g.Slice(row * n, n), biasGradient);
                }

                product.Multiply(Transpose.No, Transpose.No, rows, n, n, 1.0, g, n, matrix, n, 1 - omega, costate, n);
            }
            else
            {
                AdrStencil stencil = shape.Stencil!;
                for (int row = 0; row < rows; row++)
                {
                    ReadOnlySpan<double> gRow = g.Slice(row * n, n);
                    stencil.AccumulateGradient(gRow, state.Slice(row * n, n), layerGradient);
                    Span<double> transposed = relaxed.Slice(row * n, n);
                    stencil.ApplyTranspose(weights, gRow, transposed);
                    Span<double> p = costate.Slice(row * n, n);
                    TensorPrimitives.MultiplyAdd(p, 1 - omega, transposed, p);
                }
            }
        }

        return omegaGradient;
    }

    // argument = W z - b for every row.
    private static void Mix(RelaxationShape shape, ReadOnlySpan<double> weights, ReadOnlySpan<double> state, int rows, Span<double> argument)
    {
        int n = shape.InputDimension;
        if (shape.Mixing == RelaxationMixing.Dense)
        {
            ReadOnlySpan<double> bias = weights.Slice(n * n, n);
            MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, rows, n, n, 1.0, state, n, weights[..(n * n)], n, 0.0, argument, n);
            for (int row = 0; row < rows; row++)
            {
                TensorPrimitives.Subtract(argument.Slice(row * n, n), bias, argument.Slice(row * n, n));
            }

            return;
        }

        AdrStencil stencil = shape.Stencil!;
        for (int row = 0; row < rows; row++)
        {
            stencil.Apply(weights, state.Slice(row * n, n), argument.Slice(row * n, n));
        }
    }
}
