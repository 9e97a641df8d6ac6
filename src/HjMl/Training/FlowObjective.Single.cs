using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Training;

/// <summary>
/// The float32 path of a flow's training gradient under Adam (<see cref="ReadoutLoss.SinglePrecision"/>): the same loss
/// and gradient as the double path (FlowPass, the read-out's <see cref="Objective"/>, the adjoint), with the states,
/// Gibbs weights, co-states and every matrix product in float (<see cref="SinglePrecisionFlowPass"/>), each head's
/// score, the loss and the gradient's sums across products in double. Rows run in blocks of at most
/// <see cref="SingleBlockRows"/>, each in three rounds of tiles that run on any thread: pack the parameters in float,
/// then per block the forward tiles by rows (z_0, the steps, the read-out's loss and G = delta pi, p_L = G W, the
/// co-states back to p_0, an embedding's own gradient), then the gradient tiles by parameters (the read-out's G^T Z_L
/// by pieces, each control set's by columns of m, the lift's by rows of P). Tiles depend on the shapes alone and write
/// their own parts of the gradient, and the per-tile sums are reduced in tile order: the result does not depend on the
/// thread count or the schedule. The workspace is kept between calls: a mini-batch allocates nothing.
/// </summary>
internal sealed partial class FlowObjective
{
    /// <summary>The most rows of one block of the float32 path (its states, co-states and products are held for the block).</summary>
    public const int SingleBlockRows = 1024;

    // At most this many rows per forward tile: a mini-batch of 128 gives each of two cores a tile, and each tile's
    // products are large enough to run near the speed they reach alone.
    private const int SingleTileRows = 64;

    private SingleJob? singleJob;

    /// <summary>Whether a gradient evaluation takes the float32 path: Adam's (Fused.SinglePrecision), eps fixed, and steps to run.</summary>
    private bool TakesSinglePath => Fused is { SinglePrecision: true, LearnViscosity: false } && Shape.Steps > 0;

    // The loss plus lambda/2 (|W|^2 + |flow|^2) and its gradient on the float32 path.
    private unsafe double EvaluateSingle(ReadoutLoss loss, ReadOnlySpan<double> parameters, double viscosity, double[] inputs, double[] targets, double[]? weights, int rows, Span<double> gradient)
    {
        SingleJob job = Interlocked.Exchange(ref singleJob, null) ?? new SingleJob(this, loss);
        job.Reserve(Math.Min(rows, SingleBlockRows));
        double weightSum = weights is null ? rows : TensorPrimitives.Sum<double>(weights.AsSpan(0, rows));
        double lossSum = 0;
        fixed (double* theta = parameters)
        fixed (double* gradientStart = gradient)
        {
            job.Begin(theta, gradientStart, viscosity, inputs, targets, weights, weightSum);
            RunSingle(job, SingleJob.PackTiles);
            for (int first = 0; first < rows; first += SingleBlockRows)
            {
                job.StartBlock(first, Math.Min(SingleBlockRows, rows - first), first + SingleBlockRows >= rows);
                RunSingle(job, job.ForwardTiles);
                lossSum += job.FinishForward();
                job.StartGradient();
                RunSingle(job, job.GradientTiles);
            }

            job.End();
        }

        singleJob = job;
        (double readoutNorm, double flowNorm) = job.SquaredNorms();
        return (lossSum / weightSum) + (0.5 * loss.Regularisation * readoutNorm) + (0.5 * regularisation * flowNorm);
    }

    // Every core through the kernels' own workers, fewer through Parallel.For, one on the calling thread.
    private void RunSingle(SingleJob job, int tiles)
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
            Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.RunOnCallingThread);
        }
    }

    /// <summary>
    /// The float32 path's workspace and tiles. Products are kept under <see cref="MklPolicy.ThreadedProductWork"/>
    /// multiply-adds where the shapes allow, so that MKL runs each on the thread that calls it: the tiles already occupy
    /// every core, and a product split over MKL's threads could round differently with their number.
    /// </summary>
    private sealed unsafe class SingleJob : TileJob
    {
        private const int PackRound = 0, ForwardRound = 1, GradientRound = 2;
        private const int PackShares = 8;

        private readonly FlowShape shape;
        private readonly ReadoutLoss loss;
        private readonly EmbeddingShape? embedding;
        private readonly int m;
        private readonly int d;
        private readonly int pieces;
        private readonly int steps;
        private readonly int all;
        private readonly int readoutLength;
        private readonly int flowLength;
        private readonly double flowPenalty;
        private readonly float stepSize;
        private readonly float flowViscosity;

        // The parameters in float: the read-out's [W b] / eps, then the flow's as they are; an embedding's packed apart.
        // The gradient's float scratch has the same layout, so that each gradient tile's product lands in its own part.
        private readonly float[] packed;
        private readonly float[] gradientScratch;
        private readonly float[] packedEmbedding;

        // Per block, step-major (see SinglePrecisionFlowPass): states and co-states ((L + 1) x rows x m), Gibbs weights
        // and logit co-states (L x rows x J), the read-out's logits then G (rows x K N), the inputs in float for a lift
        // (rows x d), an embedding's periodic features and scratch; per forward tile its loss and embedding gradient.
        private float[] states = [];
        private float[] costates = [];
        private float[] gibbs = [];
        private float[] logitCostates = [];
        private float[] readoutLogits = [];
        private float[] liftInputs = [];
        private float[] periodic = [];
        private float[] embeddingScratch = [];
        private float[] embeddingGradients = [];
        private double[] tileLosses = [];
        private readonly double[] shareNorms = new double[2 * PackShares];
        private int capacity;
        private bool firstBlock;
        private bool lastBlock;

        private int round;
        private double* parameters;
        private double* gradient;
        private double viscosity;
        private double[] inputs = [];
        private double[] targets = [];
        private double[]? weights;
        private double weightSum;
        private int first;
        private int count;
        private readonly int rowsPerTile;
        private int piecesPerTile;
        private int columnsPerTile;
        private int liftRowsPerTile;

        public SingleJob(FlowObjective owner, ReadoutLoss loss)
        {
            shape = owner.Shape;
            this.loss = loss;
            embedding = shape.Embedding;
            m = shape.Width;
            d = shape.InputDimension;
            pieces = shape.Pieces;
            steps = shape.Steps;
            all = loss.Heads * loss.Pieces;
            readoutLength = owner.ReadoutLength;
            flowLength = shape.ParameterCount;
            flowPenalty = owner.regularisation;
            stepSize = (float)owner.StepSize;
            flowViscosity = (float)owner.FlowViscosity;
            packed = new float[readoutLength + flowLength];
            gradientScratch = new float[readoutLength + flowLength];
            packedEmbedding = new float[embedding?.ParameterCount ?? 0];

            // Forward tiles by the shape alone: their widest product, rows x max(J, K N) x m, on one thread.
            rowsPerTile = (int)Math.Clamp(MklPolicy.ThreadedProductWork / ((long)Math.Max(pieces, all) * m), 1, SingleTileRows);
        }

        /// <summary>A tile on the thread that runs it (kept, so that a call through Parallel.For allocates no closure of its own).</summary>
        public Action<int> RunOnCallingThread => field ??= tile => RunTile(tile, -1);

        /// <summary>Packing tiles: shares of the parameter vector.</summary>
        public static int PackTiles => PackShares;

        /// <summary>The current block's forward tiles.</summary>
        public int ForwardTiles => (count + rowsPerTile - 1) / rowsPerTile;

        private int ReadoutTiles => (all + piecesPerTile - 1) / piecesPerTile;

        private int ColumnTiles => (m + columnsPerTile - 1) / columnsPerTile;

        private int LiftTiles => shape.Lifted ? (m + liftRowsPerTile - 1) / liftRowsPerTile : 0;

        /// <summary>The current block's gradient tiles: the read-out's, then each control set's keys and values, then the lift's.</summary>
        public int GradientTiles => ReadoutTiles + (shape.ControlSets * 2 * ColumnTiles) + LiftTiles;

        /// <summary>Room for blocks of <paramref name="rows"/> rows.</summary>
        public void Reserve(int rows)
        {
            if (rows <= capacity)
            {
                return;
            }

            capacity = Math.Max(rows, Math.Min(2 * capacity, SingleBlockRows));
            states = new float[(steps + 1) * capacity * m];
            costates = new float[(steps + 1) * capacity * m];
            gibbs = new float[steps * capacity * pieces];
            logitCostates = new float[steps * capacity * pieces];
            readoutLogits = new float[capacity * all];
            liftInputs = new float[shape.Lifted ? capacity * d : 0];
            int tiles = (capacity + rowsPerTile - 1) / rowsPerTile;
            tileLosses = new double[tiles];
            if (embedding is not null)
            {
                periodic = new float[PeriodicEmbedding.PeriodicLength(embedding, capacity)];
                embeddingScratch = new float[PeriodicEmbedding.ScratchLength(embedding, capacity)];
                embeddingGradients = new float[tiles * embedding.ParameterCount];
            }
        }

        public void Begin(double* theta, double* gradientStart, double eps, double[] rowInputs, double[] rowTargets, double[]? rowWeights, double sum)
        {
            parameters = theta;
            gradient = gradientStart;
            viscosity = eps;
            inputs = rowInputs;
            targets = rowTargets;
            weights = rowWeights;
            weightSum = sum;
            if (embedding is not null)
            {
                PeriodicEmbedding.Pack<float>(embedding, new ReadOnlySpan<double>(theta + readoutLength, embedding.ParameterCount), packedEmbedding);

                // The embedding's gradient comes from the forward tiles' sums (FinishForward), added.
                new Span<double>(gradientStart + readoutLength, embedding.ParameterCount).Clear();
            }

            round = PackRound;
        }

        public void StartBlock(int firstRow, int rows, bool last)
        {
            first = firstRow;
            count = rows;
            firstBlock = firstRow == 0;
            lastBlock = last;
            long threaded = MklPolicy.ThreadedProductWork;

            // Gradient tiles under the same bound: the read-out's by pieces (at least two tiles), the control sets' by
            // columns (whole vectors), the lift's by rows of P.
            piecesPerTile = (int)Math.Clamp(threaded / ((long)m * rows), 1, Math.Max(1, (all + 1) / 2));
            long stacked = (long)(shape.SharedControls ? steps : 1) * rows;
            columnsPerTile = (int)Math.Clamp(threaded / (pieces * stacked) / 16 * 16, 16, Math.Max(16, m));
            liftRowsPerTile = (int)Math.Clamp(threaded / ((long)d * rows), 1, m);
            Array.Clear(tileLosses, 0, ForwardTiles);
            round = ForwardRound;
        }

        // The block's loss sum, in tile order, and an embedding's gradient, added from its tiles in tile order.
        public double FinishForward()
        {
            double sum = 0;
            for (int tile = 0; tile < ForwardTiles; tile++)
            {
                sum += tileLosses[tile];
            }

            if (embedding is not null)
            {
                var target = new Span<double>(gradient + readoutLength, embedding.ParameterCount);
                for (int tile = 0; tile < ForwardTiles; tile++)
                {
                    PeriodicEmbedding.AddUnpacked<float>(embedding, embeddingGradients.AsSpan(tile * embedding.ParameterCount, embedding.ParameterCount), target);
                }

                if (lastBlock)
                {
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<double>(parameters + readoutLength, embedding.ParameterCount), flowPenalty, target, target);
                }
            }

            return sum;
        }

        /// <summary>|W|^2 of the read-out and |theta|^2 of the flow, from the packing tiles' shares in share order.</summary>
        public (double Readout, double Flow) SquaredNorms()
        {
            double readout = 0, flow = 0;
            for (int share = 0; share < PackShares; share++)
            {
                readout += shareNorms[2 * share];
                flow += shareNorms[(2 * share) + 1];
            }

            return (readout, flow);
        }

        public void StartGradient() => round = GradientRound;

        public void End()
        {
            parameters = null;
            gradient = null;
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

        // A share of the parameters in float: the read-out's divided by eps (its logits arrive divided), the flow's as they
        // are; and the share's part of |W|^2 and |flow|^2 for the penalty.
        private void Pack(int tile)
        {
            int length = readoutLength + flowLength;
            int from = (int)((long)length * tile / PackShares), to = (int)((long)length * (tile + 1) / PackShares);
            int split = Math.Clamp(readoutLength, from, to);
            int weightsEnd = Math.Clamp(all * m, from, split);
            shareNorms[2 * tile] = Narrow(parameters + from, 1 / viscosity, packed.AsSpan(from, weightsEnd - from));
            Narrow(parameters + weightsEnd, 1 / viscosity, packed.AsSpan(weightsEnd, split - weightsEnd));
            shareNorms[(2 * tile) + 1] = Narrow(parameters + split, 1.0, packed.AsSpan(split, to - split));
        }

        // Rows [from, from + rows) of the block: z_0, the flow forward, the read-out's loss and G, p_L, the co-states back.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Forward(int tile)
        {
            int from = tile * rowsPerTile, rows = Math.Min(rowsPerTile, count - from);
            int stride = d + 1;
            int block = count * m;
            ReadOnlySpan<float> controls = packed.AsSpan(readoutLength, flowLength);
            ReadOnlySpan<double> rowInputs = inputs.AsSpan((first + from) * stride);
            Span<float> initial = states.AsSpan(from * m, rows * m);
            Start(from, rows, rowInputs, initial);

            SinglePrecisionFlowPass.Forward(shape, controls, stepSize, flowViscosity, rows, states.AsSpan(from * m), block, gibbs.AsSpan(from * pieces), count * pieces);
            ReadOnlySpan<float> terminal = states.AsSpan((steps * block) + (from * m), rows * m);
            Span<float> terminalCostate = costates.AsSpan((steps * block) + (from * m), rows * m);
            tileLosses[tile] = Readout(first + from, rows, terminal, readoutLogits.AsSpan(from * all, rows * all), terminalCostate);

            SinglePrecisionFlowPass.Backward(shape, controls, stepSize, flowViscosity, rows, gibbs.AsSpan(from * pieces), count * pieces, costates.AsSpan(from * m), block, logitCostates.AsSpan(from * pieces));
            if (embedding is not null)
            {
                int passed = embedding.PassedThrough.Count;
                Span<float> tileGradient = embeddingGradients.AsSpan(tile * embedding.ParameterCount, embedding.ParameterCount);
                tileGradient.Clear();
                PeriodicEmbedding.BackwardBlock<float>(embedding, packedEmbedding, rowInputs, stride, rows, periodic.AsSpan(PeriodicEmbedding.PeriodicLength(embedding, from)), initial[passed..], m, costates.AsSpan((from * m) + passed), m, embeddingScratch.AsSpan(PeriodicEmbedding.ScratchLength(embedding, from)), tileGradient, default, 0);
            }
        }

        // z_0 of a tile: x, P x + q (keeping x in float for the lift's gradient), or the embedding.
        private void Start(int from, int rows, ReadOnlySpan<double> rowInputs, Span<float> initial)
        {
            int stride = d + 1;
            if (shape.Lifted)
            {
                Span<float> x = liftInputs.AsSpan(from * d, rows * d);
                ReadOnlySpan<float> liftBias = packed.AsSpan(readoutLength + (m * d), m);
                for (int row = 0; row < rows; row++)
                {
                    Narrow(rowInputs.Slice(row * stride, d), x.Slice(row * d, d));
                    liftBias.CopyTo(initial.Slice(row * m, m));
                }

                MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, rows, m, d, 1f, x, d, packed.AsSpan(readoutLength, m * d), d, 1f, initial, m);
            }
            else if (embedding is not null)
            {
                PeriodicEmbedding.PassThrough<float>(embedding, rowInputs, stride, rows, initial, m);
                PeriodicEmbedding.ForwardBlock<float>(embedding, packedEmbedding, rowInputs, stride, rows, periodic.AsSpan(PeriodicEmbedding.PeriodicLength(embedding, from)), initial[embedding.PassedThrough.Count..], m);
            }
            else
            {
                for (int row = 0; row < rows; row++)
                {
                    Narrow(rowInputs.Slice(row * stride, d), initial.Slice(row * m, m));
                }
            }
        }

        // The read-out on the tile's terminal states: Z' = (Z_L W^T + b) / eps, each head's f = eps (m' + ln S) and the
        // loss in double, G = exp(z' - m') (weight delta / (S total weight)) in place of the logits (THEORY.md section 3),
        // and p_L = G W. Returns the tile's weighted loss sum.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private double Readout(int firstRow, int rows, ReadOnlySpan<float> terminal, Span<float> logits, Span<float> terminalCostate)
        {
            int heads = loss.Heads, headPieces = loss.Pieces;
            ReadOnlySpan<float> w = packed.AsSpan(0, all * m);
            ReadOnlySpan<float> b = packed.AsSpan(all * m, all);
            IMatrixProduct product = MatrixProducts.Current;
            product.Multiply(Transpose.No, Transpose.Yes, rows, all, m, 1f, terminal, m, w, m, 0f, logits, all);
            Span<double> scores = stackalloc double[heads];
            Span<double> sums = stackalloc double[heads];
            Span<double> deltas = stackalloc double[heads];
            double lossSum = 0;
            for (int row = 0; row < rows; row++)
            {
                Span<float> rowLogits = logits.Slice(row * all, all);
                TensorPrimitives.Add(rowLogits, b, rowLogits);
                for (int head = 0; head < heads; head++)
                {
                    Span<float> exponentials = rowLogits.Slice(head * headPieces, headPieces);
                    float maximum = TensorPrimitives.Max<float>(exponentials);
                    float sum = LogSumExp.ShiftedExponentials<float>(exponentials, maximum, 1f, exponentials);
                    sums[head] = sum;
                    scores[head] = viscosity * (maximum + Math.Log(sum));
                }

                double weight = weights is null ? 1.0 : weights[firstRow + row];
                lossSum += weight * loss.Evaluate(scores, targets[firstRow + row], deltas);
                for (int head = 0; head < heads; head++)
                {
                    LogSumExp.MultiplyWithoutSubnormals(rowLogits.Slice(head * headPieces, headPieces), (float)(weight * deltas[head] / (sums[head] * weightSum)));
                }
            }

            // p_L = G W, with W = eps times its packed copy.
            product.Multiply(Transpose.No, Transpose.No, rows, m, all, (float)viscosity, logits, all, w, m, 0f, terminalCostate, m);
            return lossSum;
        }

        // One tile of the block's parameter gradients, added to the gradient in double.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Gradient(int tile)
        {
            var flowGradient = new Span<double>(gradient + readoutLength, flowLength);
            Span<float> flowScratch = gradientScratch.AsSpan(readoutLength, flowLength);
            var update = new GradientUpdate(firstBlock, lastBlock, flowPenalty) { Parameters = new ReadOnlySpan<double>(parameters + readoutLength, flowLength) };
            if (tile < ReadoutTiles)
            {
                ReadoutGradient(tile * piecesPerTile, Math.Min(piecesPerTile, all - (tile * piecesPerTile)));
                return;
            }

            tile -= ReadoutTiles;
            int controlTiles = shape.ControlSets * 2 * ColumnTiles;
            if (tile < controlTiles)
            {
                int set = tile / (2 * ColumnTiles);
                bool values = tile / ColumnTiles % 2 == 1;
                int firstColumn = tile % ColumnTiles * columnsPerTile;
                SinglePrecisionFlowPass.AddControlGradient(shape, set, values, firstColumn, Math.Min(columnsPerTile, m - firstColumn), count, stepSize, states, gibbs, costates, logitCostates, flowScratch, flowGradient, update);
                return;
            }

            int firstRow = (tile - controlTiles) * liftRowsPerTile;
            SinglePrecisionFlowPass.AddLiftGradient(shape, firstRow, Math.Min(liftRowsPerTile, m - firstRow), count, liftInputs, costates, flowScratch, flowGradient, update);
        }

        // Pieces [from, from + width): dW = G^T Z_L (with lambda W) and db = the sum of G over the block's rows.
        private void ReadoutGradient(int from, int width)
        {
            ReadOnlySpan<float> g = readoutLogits.AsSpan(from, ((count - 1) * all) + width);
            ReadOnlySpan<float> terminal = states.AsSpan(steps * count * m, count * m);
            Span<float> part = gradientScratch.AsSpan(from * m, width * m);
            MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, width, m, count, 1f, g, all, terminal, m, 0f, part, m);
            var update = new GradientUpdate(firstBlock, lastBlock, loss.Regularisation) { Parameters = new ReadOnlySpan<double>(parameters + (from * m), width * m) };
            SinglePrecisionFlowPass.Store(part, new Span<double>(gradient + (from * m), width * m), update, update.Parameters);
            SinglePrecisionFlowPass.StoreColumnSums(g, count, width, all, new Span<double>(gradient + (all * m) + from, width), update with { Penalty = 0 }, default);
        }

        // destination = (float) (source[i] * scale); returns the sum of source[i]^2, in one pass over the source.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static double Narrow(double* source, double scale, Span<float> destination)
        {
            int length = destination.Length;
            int i = 0;
            double squares = 0;
            fixed (float* target = destination)
            {
                if (Vector.IsHardwareAccelerated)
                {
                    var factor = new Vector<double>(scale);
                    int half = Vector<double>.Count;
                    Vector<double> sum = Vector<double>.Zero;
                    for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
                    {
                        Vector<double> low = Vector.Load(source + i), high = Vector.Load(source + i + half);
                        sum += (low * low) + (high * high);
                        Vector.Narrow(low * factor, high * factor).Store(target + i);
                    }

                    squares = Vector.Sum(sum);
                }

                for (; i < length; i++)
                {
                    squares += source[i] * source[i];
                    target[i] = (float)(source[i] * scale);
                }
            }

            return squares;
        }

        private static void Narrow(ReadOnlySpan<double> source, Span<float> destination)
        {
            fixed (double* start = source)
            {
                Narrow(start, 1.0, destination);
            }
        }
    }
}
