using System.Numerics.Tensors;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Relaxation;

/// <summary>
/// The read-out after the last relaxation step and its loss: the state itself, or V z_L + c (linear, squared error), or
/// softmax(V z_L + c) (cross-entropy, the softmax residual as terminal co-state p_L = V^T (pi - e_y), THEORY.md section 9).
/// </summary>
internal static class ReadoutPass
{
    /// <summary>Writes the outputs of <paramref name="rows"/> terminal states (rows x N) to <paramref name="outputs"/> (rows x K); softmax rows become probabilities.</summary>
    public static void Outputs(RelaxationShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> terminal, int rows, Span<double> outputs)
    {
        int n = shape.InputDimension;
        int k = shape.Outputs;
        if (shape.Readout == RelaxationReadout.State)
        {
            terminal[..(rows * n)].CopyTo(outputs);
            return;
        }

        Logits(shape, parameters, terminal, rows, outputs);
        if (shape.Readout == RelaxationReadout.Softmax)
        {
            for (int row = 0; row < rows; row++)
            {
                Span<double> logits = outputs.Slice(row * k, k);
                LogSumExp.GibbsWeights<double>(logits, 1.0, logits);
            }
        }
    }

    /// <summary>
    /// The summed loss of <paramref name="rows"/> rows; writes dL/dz_L (of the summed loss) to <paramref name="costate"/>
    /// and adds the read-out's gradient to <paramref name="gradient"/> when it is not empty.
    /// </summary>
    /// <param name="shape">The network's sizes.</param>
    /// <param name="parameters">The network's flat parameters.</param>
    /// <param name="terminal">rows x N terminal states.</param>
    /// <param name="targets">rows class indices (softmax) or rows x K targets.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="work">At least rows x K.</param>
    /// <param name="costate">rows x N.</param>
    /// <param name="gradient">The network's gradient, added to; empty for the loss alone.</param>
    public static double Loss(RelaxationShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> terminal, ReadOnlySpan<double> targets, int rows, Span<double> work, Span<double> costate, Span<double> gradient)
    {
        int n = shape.InputDimension;
        int k = shape.Outputs;
        double loss = 0;
        if (shape.Readout == RelaxationReadout.State)
        {
            // L = sum_rows (1 / 2N) |z_L - y|^2.
            Span<double> residual = costate[..(rows * n)];
            TensorPrimitives.Subtract(terminal[..(rows * n)], targets[..(rows * n)], residual);
            loss = 0.5 * TensorPrimitives.Dot<double>(residual, residual) / n;
            TensorPrimitives.Divide(residual, n, residual);
            return loss;
        }

        Span<double> logits = work[..(rows * k)];
        Logits(shape, parameters, terminal, rows, logits);
        for (int row = 0; row < rows; row++)
        {
            Span<double> residual = logits.Slice(row * k, k);
            if (shape.Readout == RelaxationReadout.Softmax)
            {
                // -log pi_y = f - z_y with f the LSE of the logits; d/dlogits = pi - e_y.
                int label = (int)targets[row];
                double logitOfLabel = residual[label];
                loss += LogSumExp.GibbsWeights<double>(residual, 1.0, residual) - logitOfLabel;
                residual[label] -= 1;
            }
            else
            {
                // (1 / 2K) |V z + c - y|^2.
                TensorPrimitives.Subtract(residual, targets.Slice(row * k, k), residual);
                loss += 0.5 * TensorPrimitives.Dot<double>(residual, residual) / k;
                TensorPrimitives.Divide(residual, k, residual);
            }
        }

        ReadOnlySpan<double> v = parameters.Slice(shape.ReadoutOffset, k * n);
        IMatrixProduct product = MatrixProducts.Current;
        product.Multiply(Transpose.No, Transpose.No, rows, n, k, 1.0, logits, k, v, n, 0.0, costate, n);
        if (!gradient.IsEmpty)
        {
            product.Multiply(Transpose.Yes, Transpose.No, k, n, rows, 1.0, logits, k, terminal, n, 1.0, gradient.Slice(shape.ReadoutOffset, k * n), n);
            Span<double> offsetGradient = gradient.Slice(shape.ReadoutOffset + (k * n), k);
            for (int row = 0; row < rows; row++)
            {
                TensorPrimitives.Add(offsetGradient, logits.Slice(row * k, k), offsetGradient);
            }
        }

        return loss;
    }

    // logits = Z V^T + c.
    private static void Logits(RelaxationShape shape, ReadOnlySpan<double> parameters, ReadOnlySpan<double> terminal, int rows, Span<double> logits)
    {
        int n = shape.InputDimension;
        int k = shape.Outputs;
        ReadOnlySpan<double> v = parameters.Slice(shape.ReadoutOffset, k * n);
        ReadOnlySpan<double> c = parameters.Slice(shape.ReadoutOffset + (k * n), k);
        for (int row = 0; row < rows; row++)
        {
            c.CopyTo(logits.Slice(row * k, k));
        }

        MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, rows, k, n, 1.0, terminal, n, v, n, 1.0, logits, k);
    }
}
