using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Flows;

/// <summary>
/// <see cref="FlowPass"/> in float32 for Adam's training, split so that a block of rows runs as tiles on any thread:
/// the forward steps and the co-state recursion on a tile of rows (each row's work is its own), then the parameter
/// gradients of a control set over all the block's rows, tiled by columns of m (THEORY.md section 9, the same
/// equations): Z_{k+1} = Z_k + h Pi_k U with Pi_k = softmax((Z_k A^T + c) / eps); with g = h P_{k+1} U^T and
/// G_k = Pi_k (g - E_pi[g]) / eps, P_k = P_{k+1} + G_k A; dU += h Pi_k^T P_{k+1}, dA += G_k^T Z_k, dc += sum of G_k.
/// A block stores every state, co-state, Gibbs weight and logit co-state step-major (step k's rows of the block at
/// k times the block's size), so that a shared control set's gradient is one product over the steps' rows stacked.
/// Products run through <see cref="MatrixProducts.Current"/> in float; the gradients' sums across products in double.
/// FlowPass stays the reference (L-BFGS, `hjml verify`), and tests pin this path to it.
/// </summary>
internal static class SinglePrecisionFlowPass
{
    /// <summary>
    /// The forward steps of a tile of <paramref name="rows"/> rows whose z_0 is already in the first block of
    /// <paramref name="states"/>: writes z_1 .. z_L and every step's Gibbs weights.
    /// </summary>
    /// <param name="shape">The flow's sizes.</param>
    /// <param name="controls">The flow's parameters in float (<see cref="FlowShape"/> layout).</param>
    /// <param name="stepSize">h = T / L.</param>
    /// <param name="viscosity">eps of the Gibbs weights.</param>
    /// <param name="rows">Rows in the tile.</param>
    /// <param name="states">The tile's first row of z_0; step k's rows start <paramref name="stateStride"/> k later (row stride m).</param>
    /// <param name="stateStride">Distance between the blocks of two steps' states.</param>
    /// <param name="gibbs">The tile's first row of Pi_0; step k's at <paramref name="gibbsStride"/> k (row stride J).</param>
    /// <param name="gibbsStride">Distance between the blocks of two steps' Gibbs weights.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(FlowShape shape, ReadOnlySpan<float> controls, float stepSize, float viscosity, int rows, Span<float> states, int stateStride, Span<float> gibbs, int gibbsStride)
    {
        int m = shape.Width;
        int pieces = shape.Pieces;
        float inverse = 1 / viscosity;
        IMatrixProduct product = MatrixProducts.Current;
        for (int step = 0; step < shape.Steps; step++)
        {
            ReadOnlySpan<float> state = states.Slice(step * stateStride, rows * m);
            Span<float> next = states.Slice((step + 1) * stateStride, rows * m);
            Span<float> weights = gibbs.Slice(step * gibbsStride, rows * pieces);
            ReadOnlySpan<float> keys = controls.Slice(shape.KeysOffset(step), pieces * m);
            ReadOnlySpan<float> offsets = controls.Slice(shape.OffsetsOffset(step), pieces);
            ReadOnlySpan<float> values = controls.Slice(shape.ValuesOffset(step), pieces * m);

            // Logits divided by eps, then the Gibbs weights at eps = 1 in place, as FlowPass.Forward.
            product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, inverse, state, m, keys, m, 0f, weights, pieces);
            for (int row = 0; row < rows; row++)
            {
                Span<float> logits = weights.Slice(row * pieces, pieces);
                TensorPrimitives.MultiplyAdd(offsets, inverse, logits, logits);
                LogSumExp.GibbsWeights<float>(logits, 1f, logits);
            }

            state.CopyTo(next);
            product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, stepSize, weights, pieces, values, m, 1f, next, m);
        }
    }

    /// <summary>
    /// The co-state recursion of a tile backward from p_L (in the last block of <paramref name="costates"/>): writes
    /// p_{L-1} .. p_0 and every step's logit co-state G_k = Pi_k (g - E_pi[g]) / eps, g = h p_{k+1} U^T.
    /// </summary>
    /// <param name="shape">The flow's sizes.</param>
    /// <param name="controls">The flow's parameters in float.</param>
    /// <param name="stepSize">h = T / L.</param>
    /// <param name="viscosity">eps of the Gibbs weights.</param>
    /// <param name="rows">Rows in the tile.</param>
    /// <param name="gibbs">What <see cref="Forward"/> wrote, laid out as there.</param>
    /// <param name="gibbsStride">Distance between the blocks of two steps' Gibbs weights (and logit co-states).</param>
    /// <param name="costates">Laid out as the states: p_L on entry in block L, p_0 .. p_{L-1} on return.</param>
    /// <param name="stateStride">Distance between the blocks of two steps' co-states.</param>
    /// <param name="logitCostates">Receives G_k, laid out as <paramref name="gibbs"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(FlowShape shape, ReadOnlySpan<float> controls, float stepSize, float viscosity, int rows, ReadOnlySpan<float> gibbs, int gibbsStride, Span<float> costates, int stateStride, Span<float> logitCostates)
    {
        int m = shape.Width;
        int pieces = shape.Pieces;
        float inverse = 1 / viscosity;
        IMatrixProduct product = MatrixProducts.Current;
        for (int step = shape.Steps - 1; step >= 0; step--)
        {
            ReadOnlySpan<float> later = costates.Slice((step + 1) * stateStride, rows * m);
            Span<float> costate = costates.Slice(step * stateStride, rows * m);
            ReadOnlySpan<float> weights = gibbs.Slice(step * gibbsStride, rows * pieces);
            Span<float> logitCostate = logitCostates.Slice(step * gibbsStride, rows * pieces);
            ReadOnlySpan<float> keys = controls.Slice(shape.KeysOffset(step), pieces * m);
            ReadOnlySpan<float> values = controls.Slice(shape.ValuesOffset(step), pieces * m);

            product.Multiply(Transpose.No, Transpose.Yes, rows, pieces, m, stepSize, later, m, values, m, 0f, logitCostate, pieces);
            for (int row = 0; row < rows; row++)
            {
                // The softmax's Jacobian transposed, as FlowPass.Backward.
                Span<float> g = logitCostate.Slice(row * pieces, pieces);
                ReadOnlySpan<float> pi = weights.Slice(row * pieces, pieces);
                float mean = TensorPrimitives.Dot(pi, g);
                TensorPrimitives.Subtract(g, mean, g);
                TensorPrimitives.Multiply(g, pi, g);
                TensorPrimitives.Multiply(g, inverse, g);
            }

            later.CopyTo(costate);
            product.Multiply(Transpose.No, Transpose.No, rows, m, pieces, 1f, logitCostate, pieces, keys, m, 1f, costate, m);
        }
    }

    /// <summary>
    /// Adds one control set's gradient over all <paramref name="rows"/> rows of a block, for columns
    /// [<paramref name="firstColumn"/>, + <paramref name="columns"/>) of m, to <paramref name="gradient"/> (the flow's,
    /// <see cref="FlowShape"/> layout): the keys' dA = sum over the set's steps of G_k^T Z_k and, with the first columns,
    /// the offsets' dc = sum of G_k (<paramref name="values"/> false), or the values' dU = h sum of Pi_k^T P_{k+1} (true).
    /// </summary>
    /// <param name="shape">The flow's sizes.</param>
    /// <param name="set">The control set (a step, or 0 when shared).</param>
    /// <param name="values">Whether the tile is the values' (else the keys' and offsets').</param>
    /// <param name="firstColumn">The tile's first column of m.</param>
    /// <param name="columns">The tile's columns.</param>
    /// <param name="rows">Rows of the block.</param>
    /// <param name="stepSize">h = T / L.</param>
    /// <param name="states">The block's states, step-major (L + 1 blocks of rows x m).</param>
    /// <param name="gibbs">The block's Gibbs weights, step-major (L blocks of rows x J).</param>
    /// <param name="costates">The block's co-states, laid out as the states.</param>
    /// <param name="logitCostates">The block's logit co-states, laid out as the Gibbs weights.</param>
    /// <param name="scratch">The flow's parameters' size in float: the tile's product lands where its gradient lies.</param>
    /// <param name="gradient">The flow's gradient in double, added to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddControlGradient(FlowShape shape, int set, bool values, int firstColumn, int columns, int rows, float stepSize, ReadOnlySpan<float> states, ReadOnlySpan<float> gibbs, ReadOnlySpan<float> costates, ReadOnlySpan<float> logitCostates, Span<float> scratch, Span<double> gradient)
    {
        int m = shape.Width;
        int pieces = shape.Pieces;
        int firstStep = shape.SharedControls ? 0 : set;
        int stacked = (shape.SharedControls ? shape.Steps : 1) * rows;
        int block = rows * m;
        int length = ((pieces - 1) * m) + columns;

        // The set's steps are consecutive blocks: one product over their rows stacked.
        if (values)
        {
            int at = shape.ValuesOffset(firstStep) + firstColumn;
            ReadOnlySpan<float> weights = gibbs.Slice(firstStep * rows * pieces, stacked * pieces);
            ReadOnlySpan<float> later = costates.Slice(((firstStep + 1) * block) + firstColumn, ((stacked - 1) * m) + columns);
            MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, pieces, columns, stacked, stepSize, weights, pieces, later, m, 0f, scratch.Slice(at, length), m);
            AddRows(scratch.Slice(at, length), m, gradient.Slice(at, length), columns, pieces);
            return;
        }

        int keys = shape.KeysOffset(firstStep) + firstColumn;
        ReadOnlySpan<float> logitCostate = logitCostates.Slice(firstStep * rows * pieces, stacked * pieces);
        ReadOnlySpan<float> state = states.Slice((firstStep * block) + firstColumn, ((stacked - 1) * m) + columns);
        MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, pieces, columns, stacked, 1f, logitCostate, pieces, state, m, 0f, scratch.Slice(keys, length), m);
        AddRows(scratch.Slice(keys, length), m, gradient.Slice(keys, length), columns, pieces);
        if (firstColumn == 0)
        {
            AddColumnSums(logitCostate, stacked, pieces, pieces, gradient.Slice(shape.OffsetsOffset(firstStep), pieces));
        }
    }

    /// <summary>
    /// Adds the lift's gradient over all <paramref name="rows"/> rows of a block for its rows
    /// [<paramref name="firstRow"/>, + <paramref name="count"/>) of m: dP = P_0^T X and dq = the sum of p_0 over rows.
    /// </summary>
    /// <param name="shape">The flow's sizes (lifted).</param>
    /// <param name="firstRow">The tile's first row of P (a column of z).</param>
    /// <param name="count">The tile's rows of P.</param>
    /// <param name="rows">Rows of the block.</param>
    /// <param name="inputs">The block's inputs in float, rows x d.</param>
    /// <param name="initialCostates">The block's p_0, rows x m.</param>
    /// <param name="scratch">The flow's parameters' size in float: the tile's product lands where its gradient lies.</param>
    /// <param name="gradient">The flow's gradient in double, added to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddLiftGradient(FlowShape shape, int firstRow, int count, int rows, ReadOnlySpan<float> inputs, ReadOnlySpan<float> initialCostates, Span<float> scratch, Span<double> gradient)
    {
        int m = shape.Width;
        int d = shape.InputDimension;
        int at = firstRow * d;
        ReadOnlySpan<float> costate = initialCostates.Slice(firstRow, ((rows - 1) * m) + count);
        MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, count, d, rows, 1f, costate, m, inputs, d, 0f, scratch.Slice(at, count * d), d);
        AddWidened(scratch.Slice(at, count * d), gradient.Slice(at, count * d));
        AddColumnSums(costate, rows, count, m, gradient.Slice((m * d) + firstRow, count));
    }

    /// <summary>
    /// Adds <paramref name="rows"/> rows of <paramref name="width"/> values, <paramref name="stride"/> apart in both, from
    /// <paramref name="source"/> to <paramref name="destination"/>, widened.
    /// </summary>
    public static void AddRows(ReadOnlySpan<float> source, int stride, Span<double> destination, int width, int rows)
    {
        for (int row = 0; row < rows; row++)
        {
            AddWidened(source.Slice(row * stride, width), destination.Slice(row * stride, width));
        }
    }

    /// <summary>
    /// destination[j] += the sum over <paramref name="rows"/> rows (<paramref name="stride"/> apart) of source[j], for the
    /// first <paramref name="width"/> values of each row, added in double in the rows' order.
    /// </summary>
    public static void AddColumnSums(ReadOnlySpan<float> source, int rows, int width, int stride, Span<double> destination)
    {
        for (int row = 0; row < rows; row++)
        {
            AddWidened(source.Slice(row * stride, width), destination);
        }
    }

    /// <summary>destination += source, widened to double.</summary>
    public static void AddWidened(ReadOnlySpan<float> source, Span<double> destination)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int half = Vector<double>.Count;
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(source[i..]), out Vector<double> low, out Vector<double> high);
                (new Vector<double>(destination[i..]) + low).CopyTo(destination[i..]);
                (new Vector<double>(destination[(i + half)..]) + high).CopyTo(destination[(i + half)..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] += source[i];
        }
    }
}
