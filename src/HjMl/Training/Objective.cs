using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Models;
using HjMl.Numerics;

namespace HjMl.Training;

/// <summary>
/// The training loss and its exact gradient, fused in one pass per tile of rows (THEORY.md section 3: d f / d b_j = pi_j,
/// d f / d w_j = pi_j x, d f / d eps = H(pi)). Inputs carry a trailing constant 1, so that one matrix product gives
/// logits with their biases, Z' = [X 1] [W b]^T / eps, and one gives the gradient of weights and biases together,
/// [X 1]^T G with G = delta * pi. Per row and head: the max shift, exp, sum, then G = exp(z' - m') * (delta / S):
/// five vectorised passes over the head's pieces. Tiles of rows keep Z' in cache. Rows are split into fixed chunks
/// reduced in chunk order, so the result depends only on the data, the parameters and the thread count.
/// </summary>
internal sealed partial class Objective
{
    private const int MinimumChunkRows = 64;

    private const double Log2E = 1.4426950408889634;

    // Per-thread blocks of the float32 path (AlignedBuffer.Rent): inputs, exponentials, maxima/sums/factors, scores.
    [ThreadStatic]
    private static float[]? singleInputs;

    [ThreadStatic]
    private static float[]? singleExponentials;

    [ThreadStatic]
    private static float[]? singleRowValues;

    [ThreadStatic]
    private static double[]? singleScores;

    [ThreadStatic]
    private static float[]? singleLaneGradient;

    // Logits per tile: about 256 KiB of doubles, which stays in L2 between the forward and backward products.
    private const int TileElements = 32768;

    private readonly ModelKind kind;
    private readonly int d;
    private readonly int heads;
    private readonly int pieces;
    private readonly int threads;
    private readonly double regularisation;
    private readonly RegressionLoss regressionLoss;
    private readonly double huberDelta;
    private readonly bool learnViscosity;
    private GradientKernel? singleKernel;

    public Objective(ModelKind kind, int inputDimension, int heads, int pieces, int threads, double regularisation, RegressionLoss regressionLoss, double huberDelta, bool learnViscosity)
    {
        this.kind = kind;
        d = inputDimension;
        this.heads = heads;
        this.pieces = pieces;
        this.threads = Math.Max(1, threads);
        this.regularisation = regularisation;
        this.regressionLoss = regressionLoss;
        this.huberDelta = huberDelta;
        this.learnViscosity = learnViscosity;
    }

    /// <summary>
    /// Whether <see cref="Evaluate"/> takes a float32 path where it applies (eps fixed for the evaluation, not learned, and
    /// no input gradient asked for): for d at most <see cref="SinglePrecisionDimension"/> the fused one
    /// (<see cref="GradientKernel"/>: logits, exponentials and the gradient's products in float32, each head's score, the
    /// loss and the gradient's sums in double), for wider inputs the same quantities through single-precision matrix
    /// products (Objective.Wide.cs). Set for Adam, which the rounding of float32 (about 1e-7 relative) does not
    /// disturb; L-BFGS's line search compares losses closer than that, so it keeps double.
    /// </summary>
    public bool SinglePrecision { get; init; }

    /// <summary>The vector width of the float32 path; null for the widest this machine accelerates (tests pin the others).</summary>
    public VectorWidth? SinglePrecisionWidth { get; init; }

    /// <summary>
    /// The largest d the fused float32 path takes: it computes each row's logits as d vector multiply-adds over the packed
    /// weights, which beats the double path's matrix products only while the weights stay in L1 (docs/performance/training.md).
    /// </summary>
    public const int SinglePrecisionDimension = 16;

    /// <summary>The threads an evaluation may use.</summary>
    public int Threads => threads;

    /// <summary>K * N, all pieces.</summary>
    public int AllPieces => heads * pieces;

    /// <summary>Length of the weight block at the start of a parameter vector.</summary>
    public int WeightCount => AllPieces * d;

    /// <summary>The row stride of the inputs this objective reads: d features and a constant 1.</summary>
    public int Stride => d + 1;

    /// <summary>Parameters: W (K N x d), b (K N), and log eps when it is learned.</summary>
    public int ParameterCount(bool learnEps) => WeightCount + AllPieces + (learnEps ? 1 : 0);

    /// <summary>Writes a row of standardised features followed by the constant 1 the objective expects.</summary>
    public static void Augment(ReadOnlySpan<double> features, Span<double> destination)
    {
        features.CopyTo(destination);
        destination[features.Length] = 1.0;
    }

    /// <summary>
    /// The weighted mean loss over the block plus lambda/2 |W|^2, and its gradient with respect to
    /// <paramref name="parameters"/> (and log eps in <paramref name="viscosityGradient"/>).
    /// </summary>
    /// <param name="parameters">W then b.</param>
    /// <param name="viscosity">eps &gt; 0.</param>
    /// <param name="inputs">Rows of d standardised features and a 1 (<see cref="Augment"/>); the first <paramref name="rows"/> are used.</param>
    /// <param name="targets">Per row: standardised label (regression), 0/1 (binary), class index (multiclass).</param>
    /// <param name="weights">Per-row example weights, or null for 1.</param>
    /// <param name="rows">r, the rows of the block.</param>
    /// <param name="gradient">Receives dL/dW then dL/db (length WeightCount + AllPieces); may be empty to skip the gradient.</param>
    /// <param name="viscosityGradient">dL / d log eps (0 unless eps is learned).</param>
    /// <param name="inputGradient">
    /// When not null, receives dL/dx per row (rows x d, without the constant column): the weighted mean loss's gradient
    /// with respect to each row's inputs, sum over heads of dL/df times E_pi[w] (THEORY.md section 3), which a flow before
    /// this read-out takes as its terminal co-state.
    /// </param>
    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient, out double viscosityGradient, double[]? inputGradient = null)
    {
        if (SinglePrecision && inputGradient is null && !learnViscosity && d <= SinglePrecisionDimension)
        {
            viscosityGradient = 0;
            return EvaluateSingle(parameters, viscosity, inputs, targets, weights, rows, gradient);
        }

        if (TakesWidePath(inputGradient is not null))
        {
            viscosityGradient = 0;
            return EvaluateWide(parameters, viscosity, inputs, targets, weights, default, rows, gradient, default);
        }

        int all = AllPieces;
        int stride = Stride;
        bool wantGradient = !gradient.IsEmpty;
        int chunks = Math.Max(1, Math.Min(threads, rows / MinimumChunkRows));
        int chunkRows = (rows + chunks - 1) / chunks;
        int gradientLength = stride * all;
        int accumulatorLength = gradientLength + 2; // [X 1]^T G ((d + 1) x KN), then d/d eps and the loss

        double[] scaled = ArrayPool<double>.Shared.Rent(gradientLength);
        double[] accumulators = ArrayPool<double>.Shared.Rent(chunks * accumulatorLength);
        try
        {
            // [W b]^T / eps, (d + 1) x KN: logits arrive already divided by eps, so the kernels skip that pass.
            ReadOnlySpan<double> w = parameters[..WeightCount];
            ReadOnlySpan<double> b = parameters.Slice(WeightCount, all);
            double inverse = 1 / viscosity;
            for (int j = 0; j < all; j++)
            {
                for (int k = 0; k < d; k++)
                {
                    scaled[(k * all) + j] = w[(j * d) + k] * inverse;
                }

                scaled[(d * all) + j] = b[j] * inverse;
            }

            Array.Clear(accumulators, 0, chunks * accumulatorLength);
            double weightSum = weights is null ? rows : TensorPrimitives.Sum<double>(weights.AsSpan(0, rows));

            void RunChunk(int chunk)
            {
                int first = chunk * chunkRows;
                int count = Math.Min(chunkRows, rows - first);
                if (count > 0)
                {
                    Chunk(
                        scaled.AsSpan(0, gradientLength),
                        viscosity,
                        inputs.AsSpan(first * stride, count * stride),
                        targets.AsSpan(first, count),
                        weights is null ? default : weights.AsSpan(first, count),
                        accumulators.AsSpan(chunk * accumulatorLength, accumulatorLength),
                        wantGradient,
                        inputGradient is null ? default : inputGradient.AsSpan(first * d, count * d),
                        viscosity / weightSum);
                }
            }

            if (chunks == 1)
            {
                RunChunk(0);
            }
            else
            {
                Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, RunChunk);
            }

            // Reduce in chunk order: deterministic for a given thread count.
            Span<double> total = accumulators.AsSpan(0, accumulatorLength);
            for (int chunk = 1; chunk < chunks; chunk++)
            {
                TensorPrimitives.Add(total, accumulators.AsSpan(chunk * accumulatorLength, accumulatorLength), total);
            }

            double loss = (total[^1] / weightSum) + (0.5 * regularisation * TensorPrimitives.Dot(w, w));
            viscosityGradient = viscosity * total[^2] / weightSum;
            if (wantGradient)
            {
                Span<double> weightGradient = gradient[..WeightCount];
                for (int j = 0; j < all; j++)
                {
                    for (int k = 0; k < d; k++)
                    {
                        weightGradient[(j * d) + k] = total[(k * all) + j] / weightSum;
                    }
                }

                TensorPrimitives.MultiplyAdd(w, regularisation, weightGradient, weightGradient);
                TensorPrimitives.Divide(total.Slice(d * all, all), weightSum, gradient.Slice(WeightCount, all));
            }

            return loss;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scaled);
            ArrayPool<double>.Shared.Return(accumulators);
        }
    }

    private void Chunk(ReadOnlySpan<double> scaledWeights, double viscosity, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets, ReadOnlySpan<double> weights, Span<double> accumulator, bool wantGradient, Span<double> inputGradient, double inputScale)
    {
        int rows = targets.Length;
        int all = AllPieces;
        int stride = Stride;
        int tileRows = Math.Clamp(TileElements / all, 8, 512);
        double[] buffer = ArrayPool<double>.Shared.Rent(Math.Min(rows, tileRows) * all);
        double[] work = ArrayPool<double>.Shared.Rent(2 * pieces);
        try
        {
            IMatrixProduct product = MatrixProducts.Current;
            Span<double> scores = stackalloc double[heads];
            Span<double> sums = stackalloc double[heads];
            Span<double> entropies = stackalloc double[heads];
            Span<double> deltas = stackalloc double[heads];
            Span<double> gradient = accumulator[..(stride * all)];
            double lossSum = 0;
            double viscositySum = 0;
            for (int first = 0; first < rows; first += tileRows)
            {
                int count = Math.Min(tileRows, rows - first);
                ReadOnlySpan<double> tileInputs = inputs.Slice(first * stride, count * stride);
                Span<double> logits = buffer.AsSpan(0, count * all);
                product.Multiply(Transpose.No, Transpose.No, count, all, stride, 1.0, tileInputs, stride, scaledWeights, all, 0.0, logits, all);
                for (int row = 0; row < count; row++)
                {
                    Span<double> z = logits.Slice(row * all, all);
                    for (int head = 0; head < heads; head++)
                    {
                        // In place: the head's scaled logits z' = z / eps become exp(z' - m'); f = eps f_1(z') = eps (m' + log S).
                        Span<double> exponentials = z.Slice(head * pieces, pieces);
                        scores[head] = viscosity * LogSumExp.Evaluate<double>(exponentials, 1.0, exponentials, out sums[head]);
                        if (learnViscosity)
                        {
                            // d f / d eps = H(pi), needed only when eps is learned.
                            TensorPrimitives.Divide(exponentials, sums[head], work.AsSpan(0, pieces));
                            entropies[head] = LogSumExp.Entropy<double>(work.AsSpan(0, pieces), work.AsSpan(pieces, pieces));
                        }
                    }

                    double weight = weights.IsEmpty ? 1.0 : weights[first + row];
                    lossSum += weight * Loss(scores, targets[first + row], deltas);
                    for (int head = 0; head < heads; head++)
                    {
                        double delta = weight * deltas[head];
                        viscositySum += learnViscosity ? delta * entropies[head] : 0;

                        // G = delta * pi = exp(z' - m') * (delta / S).
                        Span<double> exponentials = z.Slice(head * pieces, pieces);
                        LogSumExp.MultiplyWithoutSubnormals(exponentials, delta / sums[head]);
                    }
                }

                if (wantGradient)
                {
                    // [dL/dW dL/db]^T ((d + 1) x KN) += [X 1]^T G.
                    product.Multiply(Transpose.Yes, Transpose.No, stride, all, count, 1.0, tileInputs, stride, logits, all, 1.0, gradient, all);
                }

                if (!inputGradient.IsEmpty)
                {
                    // dL/dx = G W / weightSum, with W = eps S^T for the scaled weights S = W^T / eps (d x KN).
                    product.Multiply(Transpose.No, Transpose.Yes, count, d, all, inputScale, logits, all, scaledWeights[..(d * all)], all, 0.0, inputGradient.Slice(first * d, count * d), d);
                }
            }

            accumulator[^2] += viscositySum;
            accumulator[^1] += lossSum;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
            ArrayPool<double>.Shared.Return(work);
        }
    }

    // Evaluate on the fused float32 path, GradientKernel per block of rows. The rows split into chunks of
    // BlocksPerFlush blocks, fixed by the row count alone, which the threads take as they come free (a loaded machine
    // may run one thread's share late; the other takes over) and whose sums are reduced in chunk order: the result
    // depends on the data and the parameters, not on the thread count or the schedule.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe double EvaluateSingle(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient)
    {
        GradientKernel kernel = singleKernel ??= new GradientKernel(d, heads, pieces, SinglePrecisionWidth ?? LseKernel<float>.PreferredWidth);
        int all = AllPieces;
        bool wantGradient = !gradient.IsEmpty;
        int chunkRows = kernel.BlockRows * GradientKernel.BlocksPerFlush;
        int chunks = (rows + chunkRows - 1) / chunkRows;
        int packedLength = kernel.PackedLength;
        int accumulatorLength = packedLength + 1; // the gradient in the kernel's layout, then the loss

        float[] packed = ArrayPool<float>.Shared.Rent(packedLength);
        double[] accumulators = ArrayPool<double>.Shared.Rent(chunks * accumulatorLength);
        try
        {
            ReadOnlySpan<double> w = parameters[..WeightCount];
            kernel.Pack(w, parameters.Slice(WeightCount, all), Log2E / viscosity, packed);
            Array.Clear(accumulators, 0, chunks * accumulatorLength);
            double weightSum = weights is null ? rows : TensorPrimitives.Sum<double>(weights.AsSpan(0, rows));

            void RunChunk(int chunk)
            {
                int first = chunk * chunkRows;
                int count = Math.Min(chunkRows, rows - first);
                ChunkSingle(
                    kernel,
                    packed,
                    viscosity,
                    inputs.AsSpan(first * Stride, count * Stride),
                    targets.AsSpan(first, count),
                    weights is null ? default : weights.AsSpan(first, count),
                    accumulators.AsSpan(chunk * accumulatorLength, accumulatorLength),
                    wantGradient);
            }

            if (chunks == 1 || threads == 1)
            {
                for (int chunk = 0; chunk < chunks; chunk++)
                {
                    RunChunk(chunk);
                }
            }
            else if (threads >= Environment.ProcessorCount)
            {
                // Every core: the kernels' own workers, which live as long as the process and join each call as they
                // wake, rather than thread-pool threads that a short iteration often ends before they start.
                new ChunkJob(RunChunk).Run(chunks);
            }
            else
            {
                Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, RunChunk);
            }

            Span<double> total = accumulators.AsSpan(0, accumulatorLength);
            for (int chunk = 1; chunk < chunks; chunk++)
            {
                Span<double> part = accumulators.AsSpan(chunk * accumulatorLength, accumulatorLength);
                for (int i = 0; i < accumulatorLength; i++)
                {
                    total[i] += part[i];
                }
            }

            // Without L2 (the paper's problem) the penalty's terms are skipped, not added as zeros.
            double loss = (total[^1] / weightSum) + (regularisation == 0 ? 0 : 0.5 * regularisation * TensorPrimitives.Dot(w, w));
            if (wantGradient)
            {
                Span<double> weightGradient = gradient[..WeightCount];
                kernel.Unpack(total, weightSum, weightGradient, gradient.Slice(WeightCount, all));
                if (regularisation != 0)
                {
                    TensorPrimitives.MultiplyAdd(w, regularisation, weightGradient, weightGradient);
                }
            }

            return loss;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            ArrayPool<double>.Shared.Return(accumulators);
        }
    }

    // The chunks of one evaluation as a TileJob: each chunk keeps its per-thread buffers, so workers need no sizing.
    private sealed class ChunkJob(Action<int> runChunk) : TileJob
    {
        public override void RunTile(int tile, int worker) => runChunk(tile);

        public override void PrepareWorkers(int workers)
        {
        }
    }

    // One chunk of at most BlocksPerFlush blocks: its loss and its gradient in the kernel's layout into accumulator.
    // Compiled fully optimised on first call: a short training run would otherwise spend its first iterations in tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ChunkSingle(GradientKernel kernel, float[] packedWeights, double viscosity, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets, ReadOnlySpan<double> weights, Span<double> accumulator, bool wantGradient)
    {
        int rows = targets.Length;
        int stride = Stride;
        int blockRows = kernel.BlockRows;
        int lanes = kernel.Lanes;
        Span<float> blockInputs = AlignedBuffer<float>.Rent(ref singleInputs, kernel.InputLength);
        Span<float> exponentials = AlignedBuffer<float>.Rent(ref singleExponentials, kernel.ExponentialLength);
        Span<float> rowValues = AlignedBuffer<float>.Rent(ref singleRowValues, 3 * kernel.RowLength);
        Span<double> blockScores = AlignedBuffer<double>.Rent(ref singleScores, kernel.RowLength);
        Span<float> laneGradient = AlignedBuffer<float>.Rent(ref singleLaneGradient, wantGradient ? kernel.LaneAccumulatorLength : 0);
        Span<double> scores = stackalloc double[heads];
        Span<double> deltas = stackalloc double[heads];
        blockInputs.Clear();
        rowValues.Clear();
        laneGradient.Clear();
        double lossSum = 0;
        fixed (float* packed = packedWeights)
        fixed (float* x = blockInputs)
        fixed (float* e = exponentials)
        fixed (float* m = rowValues)
        fixed (double* f = blockScores)
        fixed (float* lanesGradient = laneGradient)
        {
            float* s = m + kernel.RowLength;
            float* c = s + kernel.RowLength;
            for (int first = 0; first < rows; first += blockRows)
            {
                int count = Math.Min(blockRows, rows - first);
                int groups = (count + lanes - 1) / lanes;
                if (count < blockRows)
                {
                    // The last block: rows past the data have inputs 0 and factors 0 (the layout's contract).
                    blockInputs.Clear();
                    rowValues.Clear();
                }

                kernel.LoadInputs(inputs.Slice(first * stride, count * stride), count, x);
                kernel.Forward(packed, x, groups, e, m, s);
                kernel.Scores(m, s, groups, viscosity, f);

                // Row r of the block is lane r % lanes of group r / lanes; its head k's values lie at (group K + k) lanes + lane.
                for (int r = 0, group = 0; group < groups; group++)
                {
                    for (int lane = 0; lane < lanes && r < count; lane++, r++)
                    {
                        int at = (group * heads * lanes) + lane;
                        for (int head = 0; head < heads; head++)
                        {
                            scores[head] = f[at + (head * lanes)];
                        }

                        double weight = weights.IsEmpty ? 1.0 : weights[first + r];
                        lossSum += weight * Loss(scores, targets[first + r], deltas);
                        for (int head = 0; head < heads; head++)
                        {
                            int index = at + (head * lanes);
                            c[index] = (float)(GradientKernel.FactorScale * weight * deltas[head] / s[index]);
                        }
                    }
                }

                if (wantGradient)
                {
                    kernel.Accumulate(e, c, x, groups, lanesGradient);
                }
            }
        }

        if (wantGradient)
        {
            kernel.Flush(laneGradient, accumulator[..kernel.PackedLength]);
        }

        accumulator[^1] += lossSum;
    }

    private double Loss(ReadOnlySpan<double> scores, double target, Span<double> deltas)
        => RowLoss(kind, regressionLoss, huberDelta, scores, target, deltas);

    /// <summary>
    /// The loss of one row from its head scores (f_k, in the read-out's units), and dL/df per head into
    /// <paramref name="deltas"/>: squared or Huber on f_0 - f_1 (regression), logistic on the margin f_0 - f_1 (binary,
    /// target 1 the positive head 0), softmax cross-entropy (multiclass, target the class index). Optimised from its
    /// first call: the float32 paths call it for every row of every iteration.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double RowLoss(ModelKind kind, RegressionLoss regressionLoss, double huberDelta, ReadOnlySpan<double> scores, double target, Span<double> deltas)
    {
        switch (kind)
        {
            case ModelKind.Regression:
            {
                double residual = scores[0] - scores[1] - target;
                double slope = residual;
                double loss = 0.5 * residual * residual;
                if (regressionLoss == RegressionLoss.Huber && Math.Abs(residual) > huberDelta)
                {
                    slope = Math.Sign(residual) * huberDelta;
                    loss = huberDelta * (Math.Abs(residual) - (0.5 * huberDelta));
                }

                deltas[0] = slope;
                deltas[1] = -slope;
                return loss;
            }

            case ModelKind.BinaryClassification:
            {
                // L = log(1 + e^m) - y m, written to stay finite for any margin.
                double margin = scores[0] - scores[1];
                double softplus = margin > 0 ? margin + Math.Log(1 + Math.Exp(-margin)) : Math.Log(1 + Math.Exp(margin));
                double slope = HopfColeModel.Sigmoid(margin) - target;
                deltas[0] = slope;
                deltas[1] = -slope;
                return softplus - (target * margin);
            }

            default:
            {
                // Softmax cross-entropy: L = LSE(f) - f_y, dL/df_k = softmax(f)_k - [k = y].
                double normaliser = LogSumExp.GibbsWeights<double>(scores, 1.0, deltas);
                int label = (int)target;
                deltas[label] -= 1;
                return normaliser - scores[label];
            }
        }
    }
}
