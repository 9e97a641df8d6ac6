using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Layers;

/// <summary>
/// A log-sum-exp (LSE) layer with one or more heads: for head k,
/// f_k(x) = eps * log sum_j exp((w_kj . x + b_kj) / eps) over the head's N pieces (paper a, Theorem 4.1; THEORY.md section 1).
/// It is exactly the Hopf–Cole solution of a viscous Hamilton–Jacobi equation (see <see cref="HopfCole.HopfColeSolution{T}"/>).
/// eps = 0 is the tropical (max-plus) limit f_k(x) = max_j (w_kj . x + b_kj).
/// </summary>
/// <remarks>
/// Immutable and thread-safe. Single-row methods allocate nothing after a thread's first call (they use a per-thread
/// scratch buffer). Results are finite for finite inputs at every eps &gt;= 0: every kernel shifts by the maximum logit.
/// Accuracy: evaluation is backward stable in the logits; in double, f matches an exact reference to about 1e-15
/// relative to max(|f|, max_j |z_j|), in float to about 1e-7.
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class LseLayer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Rows of the batch scored per tile, so that scoring never materialises the whole batch x pieces matrix.
    private const int TileRows = 256;

    private readonly T[] weights;
    private readonly T[] biases;

    /// <summary>Creates a layer from row-major weights (heads*pieces rows of <paramref name="inputDimension"/>), biases and viscosity.</summary>
    /// <param name="weights">Row-major weights: row (k * N + j) holds w_kj.</param>
    /// <param name="biases">b_kj at index k * N + j.</param>
    /// <param name="inputDimension">d, the length of an input row.</param>
    /// <param name="viscosity">eps &gt;= 0.</param>
    /// <param name="numberOfHeads">K, the number of outputs (1 for a scalar layer).</param>
    /// <exception cref="ArgumentException">A length disagrees with the others, a value is NaN or infinite, eps &lt; 0, or there are no pieces.</exception>
    public LseLayer(ReadOnlySpan<T> weights, ReadOnlySpan<T> biases, int inputDimension, T viscosity, int numberOfHeads = 1)
    {
        if (inputDimension <= 0)
        {
            throw new ArgumentException($"inputDimension is {inputDimension}; an input row needs at least one feature.", nameof(inputDimension));
        }

        if (numberOfHeads <= 0)
        {
            throw new ArgumentException($"numberOfHeads is {numberOfHeads}; a layer needs at least one head.", nameof(numberOfHeads));
        }

        if (biases.IsEmpty)
        {
            throw new ArgumentException("biases is empty; a layer needs N >= 1 pieces per head.", nameof(biases));
        }

        if (biases.Length % numberOfHeads != 0)
        {
            throw new ArgumentException($"biases has length {biases.Length}, which is not a multiple of numberOfHeads = {numberOfHeads}.", nameof(biases));
        }

        Guard.Length(weights, biases.Length * inputDimension, nameof(weights), $"{biases.Length} pieces of dimension {inputDimension}");
        Guard.Finite(weights, nameof(weights));
        Guard.Finite(biases, nameof(biases));
        Guard.Viscosity(viscosity, nameof(viscosity));

        this.weights = weights.ToArray();
        this.biases = biases.ToArray();
        InputDimension = inputDimension;
        NumberOfHeads = numberOfHeads;
        NumberOfPieces = biases.Length / numberOfHeads;
        Viscosity = viscosity;
    }

    // Shares arrays with a layer already validated (WithViscosity).
    private LseLayer(T[] weights, T[] biases, int inputDimension, int numberOfHeads, T viscosity)
    {
        this.weights = weights;
        this.biases = biases;
        InputDimension = inputDimension;
        NumberOfHeads = numberOfHeads;
        NumberOfPieces = biases.Length / numberOfHeads;
        Viscosity = viscosity;
    }

    /// <summary>d, the length of an input row.</summary>
    public int InputDimension { get; }

    /// <summary>N, the number of pieces (neurons, support points) in each head.</summary>
    public int NumberOfPieces { get; }

    /// <summary>K, the number of outputs.</summary>
    public int NumberOfHeads { get; }

    /// <summary>The viscosity eps: softmax temperature, PDE viscosity and entropy regularisation at once.</summary>
    public T Viscosity { get; }

    /// <summary>All weights, row-major: row (k * N + j) is w_kj.</summary>
    public ReadOnlySpan<T> Weights => weights;

    /// <summary>All biases: b_kj at index k * N + j.</summary>
    public ReadOnlySpan<T> Biases => biases;

    /// <summary>The weights of head <paramref name="head"/>, N rows of d.</summary>
    public ReadOnlySpan<T> HeadWeights(int head)
    {
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        return weights.AsSpan(head * NumberOfPieces * InputDimension, NumberOfPieces * InputDimension);
    }

    /// <summary>The biases of head <paramref name="head"/>.</summary>
    public ReadOnlySpan<T> HeadBiases(int head)
    {
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        return biases.AsSpan(head * NumberOfPieces, NumberOfPieces);
    }

    /// <summary>The same pieces at another viscosity (shares the weight arrays; both layers stay immutable).</summary>
    public LseLayer<T> WithViscosity(T viscosity)
    {
        Guard.Viscosity(viscosity, nameof(viscosity));
        return new LseLayer<T>(weights, biases, InputDimension, NumberOfHeads, viscosity);
    }

    /// <summary>f(x) for a single-head layer (or head 0).</summary>
    /// <exception cref="ArgumentException"><paramref name="input"/> has the wrong length or a NaN/infinite value.</exception>
    public T Evaluate(ReadOnlySpan<T> input) => Evaluate(input, 0);

    /// <summary>f_k(x) for head <paramref name="head"/>.</summary>
    public T Evaluate(ReadOnlySpan<T> input, int head)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Span<T> logits = ScratchBuffer<T>.First(NumberOfPieces);
        HeadLogits(input, head, logits);
        return LogSumExp.Evaluate<T>(logits, Viscosity, logits);
    }

    /// <summary>Every head's f_k(x) for one row, written to <paramref name="scores"/> (length K).</summary>
    public void Evaluate(ReadOnlySpan<T> input, Span<T> scores)
    {
        ValidateInput(input);
        Guard.AtLeast(scores, NumberOfHeads, nameof(scores), "one score per head");
        // One product for every head's logits: a single call instead of K small ones.
        int all = biases.Length;
        Span<T> logits = ScratchBuffer<T>.First(all);
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, 1, all, InputDimension, T.One, input, InputDimension, weights, InputDimension, T.Zero, logits, all);
        TensorPrimitives.Add(logits, biases, logits);
        for (int head = 0; head < NumberOfHeads; head++)
        {
            Span<T> headLogits = logits.Slice(head * NumberOfPieces, NumberOfPieces);
            scores[head] = LogSumExp.Evaluate<T>(headLogits, Viscosity, headLogits);
        }
    }

    /// <summary>
    /// Scores a batch: <paramref name="inputs"/> holds rows of d values back to back, <paramref name="scores"/> receives
    /// K scores per row. Logits come from the installed <see cref="IMatrixProduct"/> a tile of rows at a time, and tiles
    /// run in parallel.
    /// </summary>
    public void EvaluateBatch(ReadOnlySpan<T> inputs, Span<T> scores)
    {
        if (inputs.Length % InputDimension != 0)
        {
            throw new ArgumentException($"inputs has length {inputs.Length}, which is not a whole number of rows of {InputDimension} features.", nameof(inputs));
        }

        int rows = inputs.Length / InputDimension;
        Guard.AtLeast(scores, rows * NumberOfHeads, nameof(scores), $"{rows} rows x {NumberOfHeads} heads");
        ValidateRows(inputs, rows);
        if (rows == 0)
        {
            return;
        }

        int tiles = (rows + TileRows - 1) / TileRows;
        if (tiles == 1)
        {
            ScoreTile(inputs, scores, 0, rows);
            return;
        }

        // Spans cannot cross into the parallel body; pin the caller's memory for the duration of the call.
        unsafe
        {
            fixed (T* inputPointer = inputs)
            fixed (T* scorePointer = scores)
            {
                nint inputAddress = (nint)inputPointer;
                nint scoreAddress = (nint)scorePointer;
                int inputLength = inputs.Length;
                int scoreLength = scores.Length;
                Parallel.For(0, tiles, tile =>
                {
                    var tileInputs = new ReadOnlySpan<T>((T*)inputAddress, inputLength);
                    var tileScores = new Span<T>((T*)scoreAddress, scoreLength);
                    int first = tile * TileRows;
                    ScoreTile(tileInputs, tileScores, first, Math.Min(TileRows, rows - first));
                });
            }
        }
    }

    /// <summary>Every logit z_kj(x) = w_kj . x + b_kj for one row (length K * N), in head-major order.</summary>
    public void Logits(ReadOnlySpan<T> input, Span<T> logits)
    {
        ValidateInput(input);
        Guard.AtLeast(logits, biases.Length, nameof(logits), "one logit per piece");
        for (int head = 0; head < NumberOfHeads; head++)
        {
            HeadLogits(input, head, logits.Slice(head * NumberOfPieces, NumberOfPieces));
        }
    }

    /// <summary>Checks a row: length d and every value finite.</summary>
    internal void ValidateInput(ReadOnlySpan<T> input, string argument = "input")
    {
        // Checked before building any message: this runs on every scored row, which must not allocate.
        if (input.Length != InputDimension)
        {
            Guard.Length(input, InputDimension, argument, $"a layer of input dimension {InputDimension}");
        }

        Guard.Finite(input, argument);
    }

    private void ValidateRows(ReadOnlySpan<T> inputs, int rows)
    {
        if (T.IsFinite(TensorPrimitives.Sum(inputs) * T.Zero))
        {
            return;
        }

        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<T> values = inputs.Slice(row * InputDimension, InputDimension);
            for (int feature = 0; feature < values.Length; feature++)
            {
                if (!T.IsFinite(values[feature]))
                {
                    throw new ArgumentException($"inputs row {row}, feature {feature} is {values[feature]}; every value must be finite (no NaN or infinity).", "inputs");
                }
            }
        }
    }

    // z_kj = w_kj . x + b_kj for one head; inner kernel, arguments asserted.
    internal void HeadLogits(ReadOnlySpan<T> input, int head, Span<T> logits)
    {
        int pieces = NumberOfPieces;
        int d = InputDimension;
        ReadOnlySpan<T> headWeights = weights.AsSpan(head * pieces * d, pieces * d);
        ReadOnlySpan<T> headBiases = biases.AsSpan(head * pieces, pieces);
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, 1, pieces, d, T.One, input, d, headWeights, d, T.Zero, logits, pieces);
        TensorPrimitives.Add(logits[..pieces], headBiases, logits);
    }

    private void ScoreTile(ReadOnlySpan<T> inputs, Span<T> scores, int firstRow, int rowCount)
    {
        int d = InputDimension;
        int all = biases.Length;
        T[] buffer = ArrayPool<T>.Shared.Rent(rowCount * all);
        try
        {
            Span<T> logits = buffer.AsSpan(0, rowCount * all);
            MatrixProducts.Current.Multiply(
                Transpose.No, Transpose.Yes, rowCount, all, d, T.One, inputs.Slice(firstRow * d, rowCount * d), d, weights, d, T.Zero, logits, all);
            for (int row = 0; row < rowCount; row++)
            {
                Span<T> rowLogits = logits.Slice(row * all, all);
                TensorPrimitives.Add(rowLogits, biases, rowLogits);
                for (int head = 0; head < NumberOfHeads; head++)
                {
                    Span<T> headLogits = rowLogits.Slice(head * NumberOfPieces, NumberOfPieces);
                    scores[((firstRow + row) * NumberOfHeads) + head] = LogSumExp.Evaluate<T>(headLogits, Viscosity, headLogits);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
    }
}
