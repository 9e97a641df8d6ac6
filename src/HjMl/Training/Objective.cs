using System.Buffers;
using System.Numerics.Tensors;
using HjMl.LinearAlgebra;
using HjMl.Models;
using HjMl.Numerics;

namespace HjMl.Training;

/// <summary>
/// The training loss and its exact gradient, fused in one pass per batch (THEORY.md section 3: d f / d b_j = pi_j,
/// d f / d w_j = pi_j x, d f / d eps = H(pi)). For a block of rows X (r x d):
/// Z = X W^T + b by one matrix product; per row and head the Gibbs weights pi and score f; the loss's derivative
/// delta = dL/df per head; G = delta * pi; then grad W = G^T X by one matrix product, grad b = column sums of G,
/// and d L / d log eps = eps * sum delta H. Rows are split into fixed chunks reduced in chunk order, so the result
/// depends only on the data, the parameters and the thread count.
/// </summary>
internal sealed class Objective
{
    private const int MinimumChunkRows = 64;

    private readonly ModelKind kind;
    private readonly int d;
    private readonly int heads;
    private readonly int pieces;
    private readonly int threads;
    private readonly double regularisation;
    private readonly RegressionLoss regressionLoss;
    private readonly double huberDelta;
    private readonly bool learnViscosity;

    public Objective(ModelKind kind, int inputDimension, int heads, int pieces, int threads, double regularisation, RegressionLoss regressionLoss, double huberDelta, bool learnViscosity)
    {
        this.learnViscosity = learnViscosity;
        this.kind = kind;
        d = inputDimension;
        this.heads = heads;
        this.pieces = pieces;
        this.threads = Math.Max(1, threads);
        this.regularisation = regularisation;
        this.regressionLoss = regressionLoss;
        this.huberDelta = huberDelta;
    }

    /// <summary>K * N, all pieces.</summary>
    public int AllPieces => heads * pieces;

    /// <summary>Length of the weight block at the start of a parameter vector.</summary>
    public int WeightCount => AllPieces * d;

    /// <summary>Parameters: W (K N x d), b (K N), and log eps when it is learned.</summary>
    public int ParameterCount(bool learnViscosity) => WeightCount + AllPieces + (learnViscosity ? 1 : 0);

    /// <summary>
    /// The weighted mean loss over the block plus lambda/2 |W|^2, and its gradient with respect to
    /// <paramref name="parameters"/> (and log eps in <paramref name="viscosityGradient"/>).
    /// </summary>
    /// <param name="parameters">W then b.</param>
    /// <param name="viscosity">eps &gt; 0.</param>
    /// <param name="inputs">Rows of d standardised features (the first <paramref name="rows"/> are used).</param>
    /// <param name="targets">Per row: standardised label (regression), 0/1 (binary), class index (multiclass).</param>
    /// <param name="weights">Per-row example weights, or null for 1.</param>
    /// <param name="rows">r, the rows of the block.</param>
    /// <param name="gradient">Receives dL/dW then dL/db (length WeightCount + AllPieces); may be empty to skip the gradient.</param>
    /// <param name="viscosityGradient">dL / d log eps.</param>
    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient, out double viscosityGradient)
    {
        int all = AllPieces;
        bool wantGradient = !gradient.IsEmpty;
        int chunks = Math.Max(1, Math.Min(threads, rows / MinimumChunkRows));
        int chunkRows = (rows + chunks - 1) / chunks;
        int accumulatorLength = WeightCount + all + 2; // grad W^T (d x KN), grad b, d/d eps, loss

        double[] transposed = ArrayPool<double>.Shared.Rent(WeightCount);
        double[] accumulators = ArrayPool<double>.Shared.Rent(chunks * accumulatorLength);
        double[] biasCopy = ArrayPool<double>.Shared.Rent(all);
        try
        {
            // W^T (d x KN): with it, Z = X W^T is a row-by-row accumulation over the d features, vectorised across the pieces.
            ReadOnlySpan<double> w = parameters[..WeightCount];
            for (int j = 0; j < all; j++)
            {
                for (int k = 0; k < d; k++)
                {
                    transposed[(k * all) + j] = w[(j * d) + k];
                }
            }

            parameters.Slice(WeightCount, all).CopyTo(biasCopy);
            Array.Clear(accumulators, 0, chunks * accumulatorLength);

            void RunChunk(int chunk)
            {
                int first = chunk * chunkRows;
                int count = Math.Min(chunkRows, rows - first);
                if (count <= 0)
                {
                    return;
                }

                Chunk(
                    transposed.AsSpan(0, WeightCount),
                    biasCopy.AsSpan(0, all),
                    viscosity,
                    inputs.AsSpan(first * d, count * d),
                    targets.AsSpan(first, count),
                    weights is null ? default : weights.AsSpan(first, count),
                    accumulators.AsSpan(chunk * accumulatorLength, accumulatorLength),
                    wantGradient);
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

            double weightSum = weights is null ? rows : TensorPrimitives.Sum<double>(weights.AsSpan(0, rows));
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
                TensorPrimitives.Divide(total.Slice(WeightCount, all), weightSum, gradient.Slice(WeightCount, all));
            }

            return loss;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(transposed);
            ArrayPool<double>.Shared.Return(accumulators);
            ArrayPool<double>.Shared.Return(biasCopy);
        }
    }

    private void Chunk(ReadOnlySpan<double> transposedWeights, ReadOnlySpan<double> biases, double viscosity, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets, ReadOnlySpan<double> weights, Span<double> accumulator, bool wantGradient)
    {
        int rows = targets.Length;
        int all = AllPieces;
        double[] buffer = ArrayPool<double>.Shared.Rent(rows * all);
        double[] entropyWork = ArrayPool<double>.Shared.Rent(pieces);
        try
        {
            Span<double> logits = buffer.AsSpan(0, rows * all);
            IMatrixProduct product = MatrixProducts.Current;
            product.Multiply(Transpose.No, Transpose.No, rows, all, d, 1.0, inputs, d, transposedWeights, all, 0.0, logits, all);
            Span<double> scores = stackalloc double[heads];
            Span<double> entropies = stackalloc double[heads];
            Span<double> deltas = stackalloc double[heads];
            Span<double> gradientBias = accumulator.Slice(WeightCount, all);
            double lossSum = 0;
            double viscositySum = 0;
            for (int row = 0; row < rows; row++)
            {
                Span<double> z = logits.Slice(row * all, all);
                TensorPrimitives.Add(z, biases, z);
                for (int head = 0; head < heads; head++)
                {
                    // In place: the logits of this head become its Gibbs weights pi.
                    Span<double> pi = z.Slice(head * pieces, pieces);
                    scores[head] = LogSumExp.GibbsWeights<double>(pi, viscosity, pi);
                    // d f / d eps = H(pi), needed only when eps is learned.
                    entropies[head] = learnViscosity ? LogSumExp.Entropy<double>(pi, entropyWork) : 0;
                }

                double weight = weights.IsEmpty ? 1.0 : weights[row];
                lossSum += weight * Loss(scores, targets[row], deltas);
                for (int head = 0; head < heads; head++)
                {
                    double delta = weight * deltas[head];
                    viscositySum += delta * entropies[head];
                    TensorPrimitives.Multiply(z.Slice(head * pieces, pieces), delta, z.Slice(head * pieces, pieces));
                }

                if (wantGradient)
                {
                    TensorPrimitives.Add(gradientBias, z, gradientBias);
                }
            }

            if (wantGradient)
            {
                // grad W^T (d x KN) += X^T G.
                product.Multiply(Transpose.Yes, Transpose.No, d, all, rows, 1.0, inputs, d, logits, all, 1.0, accumulator[..WeightCount], all);
            }

            accumulator[^2] += viscositySum;
            accumulator[^1] += lossSum;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
            ArrayPool<double>.Shared.Return(entropyWork);
        }
    }

    // The loss of one row from its head scores, and dL/df per head into deltas.
    private double Loss(ReadOnlySpan<double> scores, double target, Span<double> deltas)
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
