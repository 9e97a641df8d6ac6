using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Training;

/// <summary>
/// The float32 path for inputs wider than <see cref="SinglePrecisionDimension"/>, built on matrix products (THEORY.md
/// section 3, the same loss and gradient as the double path): Z' = [X 1] [W b]^T / eps and [dL/dW dL/db] = G^T [X 1] with
/// G = delta * pi, both single-precision products through <see cref="MatrixProducts.Current"/>, each head's score, the
/// loss and the gradient's sums over blocks in double.
/// </summary>
internal sealed partial class Objective
{
    // Rows per block: the block's float inputs and logits are the whole workspace, however many rows the call has.
    private const int WideBlockRows = 1024;

    // At most this many rows per forward tile, so that a mini-batch of 128 gives both cores several tiles.
    private const int WideTileRows = 32;

    private WideJob? wideJob;

    /// <summary>Whether <see cref="Evaluate"/> takes the wide float32 path for these arguments (Adam on d &gt; 16, eps fixed, no input gradient).</summary>
    private bool TakesWidePath(bool wantInputGradient) => SinglePrecision && !wantInputGradient && !learnViscosity && d > SinglePrecisionDimension;

    /// <summary>
    /// Whether <see cref="EvaluateRows"/> reads rows of the training block in place (the wide float32 path), so that a
    /// mini-batch need not be gathered first.
    /// </summary>
    public bool ReadsRowsInPlace => TakesWidePath(false);

    /// <summary>
    /// <see cref="Evaluate"/> on rows <paramref name="rows"/> of <paramref name="inputs"/>, <paramref name="targets"/> and
    /// <paramref name="weights"/>, read in place (only where <see cref="ReadsRowsInPlace"/>): the same result as gathering
    /// those rows first.
    /// </summary>
    public double EvaluateRows(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, ReadOnlySpan<int> rows, Span<double> gradient)
        => EvaluateWide(parameters, viscosity, inputs, targets, weights, rows, rows.Length, gradient, default);

    /// <summary>
    /// The loss of the first <paramref name="rows"/> rows (no gradient; only where <see cref="ReadsRowsInPlace"/>), and
    /// from the same pass every row's head scores f_k into <paramref name="headScores"/> (rows x K).
    /// </summary>
    public double LossAndScores(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> headScores)
        => EvaluateWide(parameters, viscosity, inputs, targets, weights, default, rows, default, headScores[..(rows * heads)]);

    // The wide path: blocks of at most WideBlockRows rows, each in three rounds of tiles that run on any thread (pack the
    // parameters once, then per block the forward tiles by rows and the gradient tiles by pieces). Tiles depend on the
    // shapes alone and each tile's work is fixed, so the result does not depend on the thread count or the schedule.
    // With indices empty the rows are the first rows of inputs, else rows of inputs at those indices.
    private unsafe double EvaluateWide(ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, ReadOnlySpan<int> rowIndices, int rows, Span<double> gradient, Span<double> headScores)
    {
        // The workspace is taken for the call and put back after it, so that concurrent calls each get their own.
        WideJob job = Interlocked.Exchange(ref wideJob, null) ?? new WideJob(this);
        job.Reserve(Math.Min(rows, WideBlockRows));
        bool wantGradient = !gradient.IsEmpty;
        // Summed row by row in the rows' order, so that reading rows in place gives the bits a gathered copy gives.
        double weightSum = weights is null ? rows : 0;
        for (int i = 0; weights is not null && i < rows; i++)
        {
            weightSum += weights[rowIndices.IsEmpty ? i : rowIndices[i]];
        }

        double lossSum = 0;
        fixed (int* indices = rowIndices)
        fixed (double* theta = parameters)
        fixed (double* gradientStart = gradient)
        fixed (double* scores = headScores)
        {
            job.Begin(theta, wantGradient ? gradientStart : null, viscosity, inputs, targets, weights, indices, weightSum, scores);
            RunTiles(job, job.PackTiles);
            for (int first = 0; first < rows; first += WideBlockRows)
            {
                int count = Math.Min(WideBlockRows, rows - first);
                job.StartBlock(first, count, first + count == rows);
                RunTiles(job, job.ForwardTiles);
                lossSum += job.BlockLoss();
                if (wantGradient)
                {
                    job.StartGradient();
                    RunTiles(job, job.GradientTiles);
                }
            }

            job.End();
        }

        wideJob = job;

        ReadOnlySpan<double> w = parameters[..WeightCount];
        return (lossSum / weightSum) + (regularisation == 0 ? 0 : 0.5 * regularisation * TensorPrimitives.Dot(w, w));
    }

    // Every core through the kernels' own workers, fewer through Parallel.For, one on the calling thread.
    private void RunTiles(WideJob job, int tiles)
    {
        if (threads == 1 || tiles == 1)
        {
            for (int tile = 0; tile < tiles; tile++)
            {
                job.RunTile(tile, -1);
            }
        }
        else if (threads >= Environment.ProcessorCount)
        {
            job.Run(tiles);
        }
        else
        {
            Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = threads }, tile => job.RunTile(tile, -1));
        }
    }

    /// <summary>
    /// The wide path's workspace and tiles. Products are kept under <see cref="MklPolicy.ThreadedProductWork"/>
    /// multiply-adds where the shapes allow, so that MKL runs each on the thread that calls it: the tiles already
    /// occupy every core.
    /// </summary>
    private sealed unsafe class WideJob : TileJob
    {
        private const int PackRound = 0, ForwardRound = 1, GradientRound = 2;

        private readonly Objective owner;
        private readonly int all;
        private readonly int stride;
        private readonly int d;

        // Pinned, used from their aligned starts: [W b] / eps (K N x (d + 1)), a block's rows [X 1] (rows x (d + 1)),
        // its logits, then G in place (rows x K N), and G^T [X 1] (K N x (d + 1)). The arrays are held to keep them alive.
        private readonly float[] packedStorage;
        private readonly float* packed;
        private readonly float[] productStorage;
        private readonly float* products;
        private float[]? blockStorage;
        private float* blockInputs;
        private float* logits;
        private double[] tileLosses = [];
        private int capacity;

        private int round;
        private double* parameters;
        private double* gradient;
        private double viscosity;
        private double[] inputs = [];
        private double[] targets = [];
        private double[]? weights;
        private int* indices;
        private double weightSum;
        private double* headScores;
        private int first;
        private int count;
        private bool lastBlock;
        private int rowsPerTile;
        private int piecesPerTile;

        public WideJob(Objective owner)
        {
            this.owner = owner;
            all = owner.AllPieces;
            stride = owner.Stride;
            d = owner.d;
            packedStorage = AlignedBuffer<float>.Allocate(all * stride, out packed);
            productStorage = AlignedBuffer<float>.Allocate(all * stride, out products);
        }

        /// <summary>Packing tiles: eight shares of K N.</summary>
        public int PackTiles => Math.Min(all, 8);

        /// <summary>The current block's forward tiles.</summary>
        public int ForwardTiles => (count + rowsPerTile - 1) / rowsPerTile;

        /// <summary>The current block's gradient tiles.</summary>
        public int GradientTiles => (all + piecesPerTile - 1) / piecesPerTile;

        /// <summary>Room for blocks of <paramref name="rows"/> rows.</summary>
        public void Reserve(int rows)
        {
            if (rows > capacity)
            {
                capacity = Math.Max(rows, Math.Min(2 * capacity, WideBlockRows));
                int inputLength = AlignedBuffer<float>.WholeLines(capacity * stride);
                blockStorage = AlignedBuffer<float>.Allocate(inputLength + (capacity * all), out float* start);
                blockInputs = start;
                logits = start + inputLength;
                tileLosses = new double[capacity];
            }
        }

        public void Begin(double* theta, double* gradientStart, double eps, double[] rowInputs, double[] rowTargets, double[]? rowWeights, int* rowIndices, double sum, double* scores)
        {
            headScores = scores;
            parameters = theta;
            gradient = gradientStart;
            viscosity = eps;
            inputs = rowInputs;
            targets = rowTargets;
            weights = rowWeights;
            indices = rowIndices;
            weightSum = sum;
            round = PackRound;
        }

        public void StartBlock(int firstRow, int rows, bool last)
        {
            first = firstRow;
            count = rows;
            lastBlock = last;
            // Forward tiles of at most WideTileRows rows whose logits product stays on one thread.
            long perRow = (long)all * stride;
            rowsPerTile = (int)Math.Clamp(MklPolicy.ThreadedProductWork / perRow, 1, WideTileRows);

            // Gradient tiles of at least a quarter of the pieces' share, under the same bound.
            long perPiece = (long)stride * rows;
            piecesPerTile = (int)Math.Clamp(MklPolicy.ThreadedProductWork / perPiece, 1, Math.Max(1, (all + 3) / 4));
            Array.Clear(tileLosses, 0, ForwardTiles);
            round = ForwardRound;
        }

        public double BlockLoss()
        {
            double sum = 0;
            for (int tile = 0; tile < ForwardTiles; tile++)
            {
                sum += tileLosses[tile];
            }

            return sum;
        }

        public void StartGradient() => round = GradientRound;

        public void End()
        {
            parameters = null;
            gradient = null;
            headScores = null;
            indices = null;
            inputs = [];
            targets = [];
            weights = null;
        }

        public override void PrepareWorkers(int workers)
        {
        }

        public override void RunTile(int tile, int worker)
        {
            switch (round)
            {
                case PackRound:
                    Pack(tile);
                    break;
                case ForwardRound:
                    Forward(tile);
                    break;
                default:
                    Gradient(tile);
                    break;
            }
        }

        // [W b] / eps in float, piece by piece: the logits arrive already divided by eps.
        private void Pack(int tile)
        {
            int tiles = PackTiles;
            int from = (int)((long)all * tile / tiles), to = (int)((long)all * (tile + 1) / tiles);
            double inverse = 1 / viscosity;
            double* w = parameters;
            double* b = parameters + (all * d);
            for (int piece = from; piece < to; piece++)
            {
                float* row = packed + (piece * stride);
                Narrow(w + (piece * d), inverse, row, d);
                row[d] = (float)(b[piece] * inverse);
            }
        }

        // Rows [from, to) of the block: load them in float, their logits, each head's score f = eps (m' + ln S), the loss,
        // and G = exp(z' - m') * (delta / S) in place of the logits.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Forward(int tile)
        {
            int from = tile * rowsPerTile, rows = Math.Min(rowsPerTile, count - from);
            int heads = owner.heads, pieces = owner.pieces;
            float* x = blockInputs + (from * stride);
            float* z = logits + (from * all);
            fixed (double* rowsStart = inputs)
            {
                for (int row = 0; row < rows; row++)
                {
                    Narrow(rowsStart + ((long)Source(from + row) * stride), 1.0, x + (row * stride), stride);
                }
            }

            MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, rows, all, stride, 1f, new ReadOnlySpan<float>(x, rows * stride), stride, new ReadOnlySpan<float>(packed, all * stride), stride, 0f, new Span<float>(z, rows * all), all);

            Span<double> scores = stackalloc double[heads];
            Span<float> maxima = stackalloc float[heads];
            Span<float> sums = stackalloc float[heads];
            Span<double> deltas = stackalloc double[heads];
            double lossSum = 0;
            bool wantGradient = gradient != null;
            for (int row = 0; row < rows; row++)
            {
                int source = Source(from + row);
                Span<float> rowLogits = new(z + (row * all), all);
                for (int head = 0; head < heads; head++)
                {
                    Span<float> exponentials = rowLogits.Slice(head * pieces, pieces);
                    float maximum = TensorPrimitives.Max<float>(exponentials);
                    maxima[head] = maximum;
                    sums[head] = LogSumExp.ShiftedExponentials<float>(exponentials, maximum, 1f, exponentials);
                    scores[head] = viscosity * (maximum + Math.Log(sums[head]));
                }

                if (headScores != null)
                {
                    scores.CopyTo(new Span<double>(headScores + ((first + from + row) * heads), heads));
                }

                double weight = weights is null ? 1.0 : weights[source];
                lossSum += weight * owner.Loss(scores, targets[source], deltas);
                if (wantGradient)
                {
                    for (int head = 0; head < heads; head++)
                    {
                        LogSumExp.MultiplyWithoutSubnormals(rowLogits.Slice(head * pieces, pieces), (float)(weight * deltas[head] / sums[head]));
                    }
                }
            }

            tileLosses[tile] = lossSum;
        }

        // Pieces [from, to): their share of G^T [X 1] over the block's rows, added to the gradient in double; after the
        // last block divided by the weight sum, with the L2 term.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Gradient(int tile)
        {
            int from = tile * piecesPerTile, to = Math.Min(all, from + piecesPerTile);
            int width = to - from;
            float* part = products + (from * stride);
            MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, width, stride, count, 1f, new ReadOnlySpan<float>(logits + from, ((count - 1) * all) + width), all, new ReadOnlySpan<float>(blockInputs, count * stride), stride, 0f, new Span<float>(part, width * stride), stride);

            bool firstBlock = first == 0;
            double inverse = 1 / weightSum;
            double lambda = owner.regularisation;
            double* w = gradient;
            double* b = gradient + (all * d);
            for (int piece = from; piece < to; piece++)
            {
                float* source = part + ((piece - from) * stride);
                AddWidened(source, w + (piece * d), d, firstBlock, lastBlock, inverse, lambda, parameters + (piece * d));
                double bias = firstBlock ? source[d] : b[piece] + source[d];
                b[piece] = lastBlock ? bias * inverse : bias;
            }
        }

        // destination = (float) (source * scale), vector by vector.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Narrow(double* source, double scale, float* destination, int length)
        {
            int i = 0;
            var factor = new Vector<double>(scale);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Narrow(Vector.Load(source + i) * factor, Vector.Load(source + i + Vector<double>.Count) * factor).Store(destination + i);
            }

            for (; i < length; i++)
            {
                destination[i] = (float)(source[i] * scale);
            }
        }

        // destination = source in double (the first block) or destination + source (later ones); after the last block
        // also times scale (1 / the weight sum) plus lambda theta, the L2 term, skipped without L2 (the paper's problem).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddWidened(float* source, double* destination, int length, bool first, bool last, double scale, double lambda, double* theta)
        {
            int i = 0;
            int half = Vector<double>.Count;
            var factor = new Vector<double>(scale);
            var penalty = new Vector<double>(lambda);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(Vector.Load(source + i), out Vector<double> low, out Vector<double> high);
                if (!first)
                {
                    low += Vector.Load(destination + i);
                    high += Vector.Load(destination + i + half);
                }

                if (last)
                {
                    low *= factor;
                    high *= factor;
                    if (lambda != 0)
                    {
                        low += penalty * Vector.Load(theta + i);
                        high += penalty * Vector.Load(theta + i + half);
                    }
                }

                low.Store(destination + i);
                high.Store(destination + i + half);
            }

            for (; i < length; i++)
            {
                double value = first ? source[i] : destination[i] + source[i];
                if (last)
                {
                    value *= scale;
                    if (lambda != 0)
                    {
                        value += lambda * theta[i];
                    }
                }

                destination[i] = value;
            }
        }

        private int Source(int row) => indices is null ? first + row : indices[first + row];
    }
}
