using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    /// One control set's gradient over all <paramref name="rows"/> rows of a block, for columns
    /// [<paramref name="firstColumn"/>, + <paramref name="columns"/>) of m, into <paramref name="gradient"/> (the flow's,
    /// <see cref="FlowShape"/> layout; see <see cref="Store"/> for <paramref name="update"/>): the keys' dA = sum over the
    /// set's steps of G_k^T Z_k and, with the first columns, the offsets' dc = sum of G_k (<paramref name="values"/>
    /// false), or the values' dU = h sum of Pi_k^T P_{k+1} (true).
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
    /// <param name="gradient">The flow's gradient in double.</param>
    /// <param name="update">Whether this is the first and the last block, and the L2 penalty on the flow's parameters.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddControlGradient(FlowShape shape, int set, bool values, int firstColumn, int columns, int rows, float stepSize, ReadOnlySpan<float> states, ReadOnlySpan<float> gibbs, ReadOnlySpan<float> costates, ReadOnlySpan<float> logitCostates, Span<float> scratch, Span<double> gradient, GradientUpdate update)
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
            StoreRows(scratch.Slice(at, length), m, columns, pieces, gradient.Slice(at, length), update, update.Parameters.Slice(at, length));
            return;
        }

        int keys = shape.KeysOffset(firstStep) + firstColumn;
        ReadOnlySpan<float> logitCostate = logitCostates.Slice(firstStep * rows * pieces, stacked * pieces);
        ReadOnlySpan<float> state = states.Slice((firstStep * block) + firstColumn, ((stacked - 1) * m) + columns);
        MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, pieces, columns, stacked, 1f, logitCostate, pieces, state, m, 0f, scratch.Slice(keys, length), m);
        StoreRows(scratch.Slice(keys, length), m, columns, pieces, gradient.Slice(keys, length), update, update.Parameters.Slice(keys, length));
        if (firstColumn == 0)
        {
            int offsets = shape.OffsetsOffset(firstStep);
            StoreColumnSums(logitCostate, stacked, pieces, pieces, gradient.Slice(offsets, pieces), update, update.Parameters.Slice(offsets, pieces));
        }
    }

    /// <summary>
    /// The lift's gradient over all <paramref name="rows"/> rows of a block for its rows [<paramref name="firstRow"/>,
    /// + <paramref name="count"/>) of m: dP = P_0^T X and dq = the sum of p_0 over rows (see <see cref="Store"/>).
    /// </summary>
    /// <param name="shape">The flow's sizes (lifted).</param>
    /// <param name="firstRow">The tile's first row of P (a column of z).</param>
    /// <param name="count">The tile's rows of P.</param>
    /// <param name="rows">Rows of the block.</param>
    /// <param name="inputs">The block's inputs in float, rows x d.</param>
    /// <param name="initialCostates">The block's p_0, rows x m.</param>
    /// <param name="scratch">The flow's parameters' size in float: the tile's product lands where its gradient lies.</param>
    /// <param name="gradient">The flow's gradient in double.</param>
    /// <param name="update">Whether this is the first and the last block, and the L2 penalty on the flow's parameters.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddLiftGradient(FlowShape shape, int firstRow, int count, int rows, ReadOnlySpan<float> inputs, ReadOnlySpan<float> initialCostates, Span<float> scratch, Span<double> gradient, GradientUpdate update)
    {
        int m = shape.Width;
        int d = shape.InputDimension;
        int at = firstRow * d;
        ReadOnlySpan<float> costate = initialCostates.Slice(firstRow, ((rows - 1) * m) + count);
        MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, count, d, rows, 1f, costate, m, inputs, d, 0f, scratch.Slice(at, count * d), d);
        Store(scratch.Slice(at, count * d), gradient.Slice(at, count * d), update, update.Parameters.Slice(at, count * d));
        int bias = (m * d) + firstRow;
        StoreColumnSums(costate, rows, count, m, gradient.Slice(bias, count), update, update.Parameters.Slice(bias, count));
    }

    /// <summary>
    /// <see cref="Store"/> on <paramref name="rows"/> rows of <paramref name="width"/> values, <paramref name="stride"/>
    /// apart in the source, the destination and the parameters alike.
    /// </summary>
    public static void StoreRows(ReadOnlySpan<float> source, int stride, int width, int rows, Span<double> destination, GradientUpdate update, ReadOnlySpan<double> parameters)
    {
        for (int row = 0; row < rows; row++)
        {
            Store(source.Slice(row * stride, width), destination.Slice(row * stride, width), update, update.Penalty == 0 ? default : parameters.Slice(row * stride, width));
        }
    }

    /// <summary>
    /// <see cref="Store"/> of the sums over <paramref name="rows"/> rows (<paramref name="stride"/> apart) of the first
    /// <paramref name="width"/> values of each row, added in double in the rows' order.
    /// </summary>
    public static void StoreColumnSums(ReadOnlySpan<float> source, int rows, int width, int stride, Span<double> destination, GradientUpdate update, ReadOnlySpan<double> parameters)
    {
        if (update.First)
        {
            destination.Clear();
        }

        var adding = update with { First = false, Last = false };
        for (int row = 0; row < rows; row++)
        {
            Store(source.Slice(row * stride, width), destination, adding, default);
        }

        if (update.Last && update.Penalty != 0)
        {
            TensorPrimitives.MultiplyAdd(parameters, update.Penalty, destination, destination);
        }
    }

    /// <summary>
    /// destination = source widened to double (the first block) or destination + source (later ones); after the last
    /// block also + lambda theta, the L2 penalty's gradient (skipped without one), all in one pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Store(ReadOnlySpan<float> source, Span<double> destination, GradientUpdate update, ReadOnlySpan<double> parameters)
    {
        Debug.Assert(destination.Length >= source.Length && (!update.Last || update.Penalty == 0 || parameters.Length >= source.Length), "room for the part");
        bool first = update.First;
        bool penalise = update.Last && update.Penalty != 0;
        double lambda = update.Penalty;
        int length = source.Length;
        int i = 0;
        ref float from = ref MemoryMarshal.GetReference(source);
        ref double to = ref MemoryMarshal.GetReference(destination);
        ref double theta = ref MemoryMarshal.GetReference(parameters);
        if (Vector.IsHardwareAccelerated)
        {
            int half = Vector<double>.Count;
            var penalty = new Vector<double>(lambda);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(Vector.LoadUnsafe(ref from, (nuint)i), out Vector<double> low, out Vector<double> high);
                if (!first)
                {
                    low += Vector.LoadUnsafe(ref to, (nuint)i);
                    high += Vector.LoadUnsafe(ref to, (nuint)(i + half));
                }

                if (penalise)
                {
                    low += penalty * Vector.LoadUnsafe(ref theta, (nuint)i);
                    high += penalty * Vector.LoadUnsafe(ref theta, (nuint)(i + half));
                }

                low.StoreUnsafe(ref to, (nuint)i);
                high.StoreUnsafe(ref to, (nuint)(i + half));
            }
        }

        for (; i < length; i++)
        {
            double value = first ? source[i] : destination[i] + source[i];
            destination[i] = penalise ? value + (lambda * parameters[i]) : value;
        }
    }
}

/// <summary>
/// How a gradient tile of the float32 path writes its part (<see cref="SinglePrecisionFlowPass.Store"/>).
/// </summary>
/// <param name="First">The block is the evaluation's first: the part is written, not added.</param>
/// <param name="Last">The block is the last: the penalty's gradient is added.</param>
/// <param name="Penalty">lambda of the L2 penalty lambda/2 |theta|^2 on these parameters, or 0.</param>
internal readonly ref struct GradientUpdate(bool First, bool Last, double Penalty)
{
    /// <summary>The first block: write, do not add.</summary>
    public bool First { get; init; } = First;

    /// <summary>The last block: add lambda theta.</summary>
    public bool Last { get; init; } = Last;

    /// <summary>lambda, or 0.</summary>
    public double Penalty { get; init; } = Penalty;

    /// <summary>The parameters the penalty reads, laid out as the gradient.</summary>
    public ReadOnlySpan<double> Parameters { get; init; }
}
