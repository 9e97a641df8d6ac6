using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HjMl.Kernels;
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
/// scratch buffer), and neither does <see cref="EvaluateBatch"/> once warm; every-head scoring (<see cref="Evaluate(ReadOnlySpan{T}, Span{T})"/>,
/// <see cref="EvaluateBatch"/>) runs one fused kernel, packed from the weights on first use, so a row scores
/// bit-identically alone and in a batch. Results are finite for finite inputs at every eps &gt;= 0: every kernel shifts
/// by the maximum logit.
/// Accuracy: evaluation is backward stable in the logits; in double, f matches an exact reference to about 1e-15
/// relative to max(|f|, max_j |z_j|), in float to about 1e-7.
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class LseLayer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] weights;
    private readonly T[] biases;

    // The packed form every-head scoring runs on, built on first use and shared with WithViscosity's layers.
    private readonly StrongBox<LseKernel<T>?> kernel;

    // The padded weight rows E_pi[w] runs on, built on first use and shared with WithViscosity's layers.
    private readonly StrongBox<ExpectationKernel<T>?> expectation;

    // The calling thread's buffers (see AlignedBuffer.Rent), so that single-row methods allocate nothing once warm: a
    // head's logits (or another row of N or d values), its Gibbs weights, a padded E_pi[w] row, and the head scores.
    [ThreadStatic]
    private static T[]? logitScratch;

    [ThreadStatic]
    private static T[]? weightScratch;

    [ThreadStatic]
    private static T[]? paddedScratch;

    [ThreadStatic]
    private static double[]? scoreScratch;

    // The calling thread's two E_pi[w] rows for SquaredDistances on the panel route.
    [ThreadStatic]
    private static T[]? distanceScratch;

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
        kernel = new StrongBox<LseKernel<T>?>();
        expectation = new StrongBox<ExpectationKernel<T>?>();
        InputDimension = inputDimension;
        NumberOfHeads = numberOfHeads;
        NumberOfPieces = biases.Length / numberOfHeads;
        Viscosity = viscosity;
    }

    // Shares arrays and the packed kernel with a layer already validated (WithViscosity).
    private LseLayer(T[] weights, T[] biases, StrongBox<LseKernel<T>?> kernel, StrongBox<ExpectationKernel<T>?> expectation, int inputDimension, int numberOfHeads, T viscosity)
    {
        this.weights = weights;
        this.biases = biases;
        this.kernel = kernel;
        this.expectation = expectation;
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
        return new LseLayer<T>(weights, biases, kernel, expectation, InputDimension, NumberOfHeads, viscosity);
    }

    /// <summary>f(x) for a single-head layer (or head 0).</summary>
    /// <exception cref="ArgumentException"><paramref name="input"/> has the wrong length or a NaN/infinite value.</exception>
    public T Evaluate(ReadOnlySpan<T> input) => Evaluate(input, 0);

    /// <summary>f_k(x) for head <paramref name="head"/>.</summary>
    public T Evaluate(ReadOnlySpan<T> input, int head)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Span<T> logits = AlignedBuffer<T>.Rent(ref logitScratch, NumberOfPieces);
        HeadLogits(input, head, logits);
        return LogSumExp.Evaluate<T>(logits, Viscosity, logits);
    }

    /// <summary>Every head's f_k(x) for one row, written to <paramref name="scores"/> (length K). Allocates nothing.</summary>
    /// <remarks>Runs the same fused kernel as <see cref="EvaluateBatch"/>, so a row scores bit-identically alone and in a batch.</remarks>
    public void Evaluate(ReadOnlySpan<T> input, Span<T> scores)
    {
        ValidateInput(input);
        Guard.AtLeast(scores, NumberOfHeads, nameof(scores), "one score per head");
        double viscosity = double.CreateTruncating(Viscosity);
        if (typeof(T) == typeof(double))
        {
            Kernel.EvaluateRow(input, MemoryMarshal.Cast<T, double>(scores), viscosity);
            return;
        }

        Span<double> headScores = AlignedBuffer<double>.Rent(ref scoreScratch, NumberOfHeads);
        Kernel.EvaluateRow(input, headScores, viscosity);
        for (int head = 0; head < NumberOfHeads; head++)
        {
            scores[head] = T.CreateTruncating(headScores[head]);
        }
    }

    /// <summary>
    /// Scores a batch: <paramref name="inputs"/> holds rows of d values back to back, <paramref name="scores"/> receives
    /// K scores per row. A fused kernel computes a tile of rows at a time (logits, maximum, exponentials and sum, with
    /// the tile's logits kept in cache, never the whole batch x pieces matrix), tiles run in parallel, and nothing is
    /// allocated per row.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths disagree, or a value is NaN or infinite (the message names the row and feature); <paramref name="scores"/> is then unspecified.</exception>
    public void EvaluateBatch(ReadOnlySpan<T> inputs, Span<T> scores)
    {
        if (inputs.Length % InputDimension != 0)
        {
            throw new ArgumentException($"inputs has length {inputs.Length}, which is not a whole number of rows of {InputDimension} features.", nameof(inputs));
        }

        int rows = inputs.Length / InputDimension;
        Guard.AtLeast(scores, rows * NumberOfHeads, nameof(scores), $"{rows} rows x {NumberOfHeads} heads");
        int invalid = Kernel.EvaluateBatch(inputs, scores, double.CreateTruncating(Viscosity), Readout.Heads);
        if (invalid >= 0)
        {
            ReadOnlySpan<T> values = inputs.Slice(invalid * InputDimension, InputDimension);
            for (int feature = 0; feature < values.Length; feature++)
            {
                if (!T.IsFinite(values[feature]))
                {
                    throw new ArgumentException($"inputs row {invalid}, feature {feature} is {values[feature]}; every value must be finite (no NaN or infinity).", nameof(inputs));
                }
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

    /// <summary>The packed kernel for every-head scoring (built once, on the widest vectors this machine accelerates).</summary>
    internal LseKernel<T> Kernel
    {
        get
        {
            LseKernel<T>? built = Volatile.Read(ref kernel.Value);
            if (built is null)
            {
                built = new LseKernel<T>(weights, biases, InputDimension, NumberOfHeads, LseKernel<T>.PreferredWidth);
                built = Interlocked.CompareExchange(ref kernel.Value, built, null) ?? built;
            }

            return built;
        }
    }

    /// <summary>The padded weight rows for E_pi[w] (built once, on the widest vectors this machine accelerates).</summary>
    internal ExpectationKernel<T> Expectation
    {
        get
        {
            ExpectationKernel<T>? built = Volatile.Read(ref expectation.Value);
            if (built is null)
            {
                built = new ExpectationKernel<T>(weights, InputDimension, NumberOfPieces, LseKernel<T>.PreferredWidth);
                built = Interlocked.CompareExchange(ref expectation.Value, built, null) ?? built;
            }

            return built;
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
}
