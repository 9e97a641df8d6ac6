using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Layers;

/// <summary>Gibbs weights, gradient, entropy and the exact decomposition of a layer's output (THEORY.md sections 3 and 4).</summary>
public sealed partial class LseLayer<T>
{
    // Heads up to this many weights use the register-blocked ExpectationKernel in ExpectedWeight.
    private const int DenseExpectationLimit = 1 << 16;

    /// <summary>
    /// Gibbs weights pi_j(x) = exp(z_j/eps) / sum_k exp(z_k/eps) = d f / d b_j of head <paramref name="head"/>
    /// (THEORY.md section 3), written to <paramref name="gibbsWeights"/> (length N); returns f(x).
    /// </summary>
    public T GibbsWeights(ReadOnlySpan<T> input, int head, Span<T> gibbsWeights)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Guard.AtLeast(gibbsWeights, NumberOfPieces, nameof(gibbsWeights), "one weight per piece");
        Span<T> logits = AlignedBuffer<T>.Rent(ref logitScratch, NumberOfPieces);
        HeadLogits(input, head, logits);
        return LogSumExp.GibbsWeights<T>(logits, Viscosity, gibbsWeights);
    }

    /// <summary>grad f(x) = sum_j pi_j w_j = E_pi[w] (THEORY.md section 3), written to <paramref name="gradient"/> (length d); returns f(x).</summary>
    public T Gradient(ReadOnlySpan<T> input, int head, Span<T> gradient)
    {
        Guard.AtLeast(gradient, InputDimension, nameof(gradient), "one entry per feature");
        Span<T> pi = AlignedBuffer<T>.Rent(ref weightScratch, NumberOfPieces);
        T score = GibbsWeights(input, head, pi);
        ExpectedWeight(head, pi, gradient);
        return score;
    }

    /// <summary>Attribution entropy H(pi(x)) = -sum_j pi_j log pi_j in [0, log N] (THEORY.md section 4); exp(H) is the effective number of pieces.</summary>
    public T Entropy(ReadOnlySpan<T> input, int head = 0)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Span<T> logits = AlignedBuffer<T>.Rent(ref logitScratch, NumberOfPieces);
        Span<T> pi = AlignedBuffer<T>.Rent(ref weightScratch, NumberOfPieces);
        HeadLogits(input, head, logits);
        LogSumExp.GibbsWeights<T>(logits, Viscosity, pi);
        return LogSumExp.Entropy<T>(pi, logits);
    }

    /// <summary>
    /// grad_x H(pi(x)) = -Cov_pi(w, z) / eps^2 (THEORY.md section 4, [derived]): how the attribution entropy of head
    /// <paramref name="head"/> changes as the input moves, written to <paramref name="gradient"/> (length d); returns H(pi(x)).
    /// Zero where H is stationary: at the basins (local minima), saddles and ridges of the entropy landscape.
    /// At eps = 0 the Gibbs weights are piecewise constant, so the gradient is zero (almost everywhere) and H = log(ties).
    /// </summary>
    public T EntropyGradient(ReadOnlySpan<T> input, int head, Span<T> gradient)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Guard.AtLeast(gradient, InputDimension, nameof(gradient), "one entry per feature");
        gradient = gradient[..InputDimension];
        Span<T> logits = AlignedBuffer<T>.Rent(ref logitScratch, NumberOfPieces);
        Span<T> pi = AlignedBuffer<T>.Rent(ref weightScratch, NumberOfPieces);
        HeadLogits(input, head, logits);
        LogSumExp.GibbsWeights<T>(logits, Viscosity, pi);
        if (Viscosity == T.Zero)
        {
            gradient.Clear();
            return LogSumExp.Entropy<T>(pi, logits);
        }

        // Cov_pi(w, z) = sum_j c_j (w_j - w_r) with c_j = pi_j (z_j - E_pi[z]), for any piece r, because the c_j sum to
        // zero. Taking r a maximal piece drops its coefficient, which is the one that cancels (E_pi[z] is within
        // rounding of z_r when the other weights are tiny); the others keep their relative accuracy, and so does the
        // gradient where H itself is tiny. E_pi[z] - m = E_pi[z - m] is formed from the shifted logits for the same reason.
        int reference = TensorPrimitives.IndexOfMax<T>(logits);
        T maximum = logits[reference];
        TensorPrimitives.Subtract(logits, maximum, logits);
        T meanGap = TensorPrimitives.Dot<T>(pi, logits);
        TensorPrimitives.Subtract(logits, meanGap, logits);
        TensorPrimitives.Multiply(logits, pi, logits);

        // Divide by eps once per factor, after multiplying by pi: a vanishing weight then zeroes a huge gap instead of
        // meeting an overflowed (z_j - E_pi[z]) / eps, and 1/eps^2 is never formed (it overflows for eps below 1e-154).
        TensorPrimitives.Divide(logits, Viscosity, logits);
        logits[reference] = T.Zero;
        T total = TensorPrimitives.Sum<T>(logits);
        int d = InputDimension;
        ReadOnlySpan<T> headWeights = weights.AsSpan(head * NumberOfPieces * d, NumberOfPieces * d);
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.No, 1, d, NumberOfPieces, -T.One / Viscosity, logits, NumberOfPieces, headWeights, d, T.Zero, gradient, d);
        TensorPrimitives.MultiplyAdd(headWeights.Slice(reference * d, d), total / Viscosity, gradient, gradient);
        return LogSumExp.Entropy<T>(pi, logits);
    }

    /// <summary>
    /// The exact decomposition f(x) = x . E_pi[w] + E_pi[b] + eps H(pi) (THEORY.md section 4, derived from the variational
    /// form of section 2). Feature contributions c_k = x_k (E_pi[w])_k go to <paramref name="contributions"/> (length d);
    /// the returned parts sum to the score up to rounding.
    /// </summary>
    public LseDecomposition<T> Decompose(ReadOnlySpan<T> input, int head, Span<T> contributions)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        Guard.AtLeast(contributions, InputDimension, nameof(contributions), "one contribution per feature");
        Span<T> logits = AlignedBuffer<T>.Rent(ref logitScratch, NumberOfPieces);
        Span<T> pi = AlignedBuffer<T>.Rent(ref weightScratch, NumberOfPieces);
        HeadLogits(input, head, logits);
        T score = LogSumExp.GibbsWeights<T>(logits, Viscosity, pi);
        T entropy = LogSumExp.Entropy<T>(pi, logits);

        Span<T> contribution = contributions[..InputDimension];
        ExpectedWeight(head, pi, contribution);
        TensorPrimitives.Multiply(contribution, input, contribution);
        T biasTerm = TensorPrimitives.Dot(pi, HeadBiases(head));
        return new LseDecomposition<T>(score, TensorPrimitives.Sum<T>(contribution), biasTerm, entropy, Viscosity * entropy);
    }

    // Heads whose weights take more than this many bytes read E_pi[w] from the scoring panel (LseKernel.PanelExpectation).
    private const long PanelExpectationBytes = 4L << 20;

    // Whether explanations and certificates read E_pi[w] from the scoring panel: on weights of several megabytes, a row
    // scored and then explained streams one copy of the weights instead of two, which evict each other from the
    // last-level cache; below that, the row-major copy's register-blocked kernel is faster (docs/benchmarks.md).
    internal bool ExpectationFromPanel => (long)NumberOfHeads * NumberOfPieces * InputDimension * Unsafe.SizeOf<T>() > PanelExpectationBytes;

    /// <summary>
    /// For every head k, ||E_pi_ref[w] - E_pi_k[w]||^2 into <paramref name="squaredDistances"/> (0 for the reference head):
    /// the squared gradient norm of each margin f_ref - f_k (THEORY.md section 5), where <paramref name="pi"/> holds every
    /// head's Gibbs weights, head-major. Through <see cref="ExpectationKernel{T}.SquaredDistances"/> (its Gram form where
    /// that serves), or on weights of several megabytes through the scoring panel (see <see cref="ExpectedWeights"/>).
    /// Allocates nothing once warm.
    /// </summary>
    internal void SquaredDistances(int reference, ReadOnlySpan<T> pi, Span<T> squaredDistances)
    {
        if (!ExpectationFromPanel || Expectation.GramServes(NumberOfHeads))
        {
            Expectation.SquaredDistances(reference, pi, squaredDistances);
            return;
        }

        int pieces = NumberOfPieces;
        int d = InputDimension;
        Span<T> rows = AlignedBuffer<T>.Rent(ref distanceScratch, 2 * d);
        Span<T> own = rows[..d];
        Span<T> other = rows[d..];
        Kernel.PanelExpectation(reference, pi.Slice(reference * pieces, pieces), own);
        for (int head = 0; head < NumberOfHeads; head++)
        {
            if (head == reference)
            {
                squaredDistances[head] = T.Zero;
                continue;
            }

            Kernel.PanelExpectation(head, pi.Slice(head * pieces, pieces), other);
            TensorPrimitives.Subtract(own, other, other);
            squaredDistances[head] = TensorPrimitives.Dot<T>(other, other);
        }
    }

    // E_pi[w] of two heads (ExpectedWeight's values, bit for bit), in one pass where the register-blocked kernel serves both;
    // on weights of several megabytes from the scoring panel instead (the same values to rounding).
    internal void ExpectedWeights(int first, ReadOnlySpan<T> firstPi, Span<T> firstDestination, int second, ReadOnlySpan<T> secondPi, Span<T> secondDestination)
    {
        if (ExpectationFromPanel)
        {
            Kernel.PanelExpectation(first, firstPi, firstDestination);
            Kernel.PanelExpectation(second, secondPi, secondDestination);
            return;
        }

        ExpectationKernel<T> expectation = Expectation;
        if (firstDestination.Length < expectation.Stride || secondDestination.Length < expectation.Stride)
        {
            ExpectedWeight(first, firstPi, firstDestination);
            ExpectedWeight(second, secondPi, secondDestination);
            return;
        }

        expectation.Expectations(first, firstPi, firstDestination, second, secondPi, secondDestination);
    }

    // E_pi[w] = pi^T W_head (THEORY.md section 3). Heads up to 2^16 weights go through the register-blocked
    // ExpectationKernel (straight into the destination when it has room for whole vectors, else through a scratch row);
    // larger ones through the matrix product (native BLAS where installed).
    internal void ExpectedWeight(int head, ReadOnlySpan<T> pi, Span<T> destination)
    {
        int d = InputDimension;
        int pieces = NumberOfPieces;
        if (pieces * d > DenseExpectationLimit)
        {
            ReadOnlySpan<T> headWeights = weights.AsSpan(head * pieces * d, pieces * d);
            MatrixProducts.Current.Multiply(Transpose.No, Transpose.No, 1, d, pieces, T.One, pi, pieces, headWeights, d, T.Zero, destination, d);
            return;
        }

        ExpectationKernel<T> expectation = Expectation;
        if (destination.Length >= expectation.Stride)
        {
            expectation.Expectation(head, pi, destination);
            return;
        }

        Span<T> padded = AlignedBuffer<T>.Rent(ref paddedScratch, expectation.Stride);
        expectation.Expectation(head, pi, padded);
        padded[..d].CopyTo(destination);
    }
}

/// <summary>
/// The exact decomposition of an LSE output: <c>Score = FeatureTerm + BiasTerm + EntropyTerm</c> with
/// FeatureTerm = x . E_pi[w] (the sum of the feature contributions), BiasTerm = E_pi[b], EntropyTerm = eps H(pi).
/// </summary>
/// <param name="Score">f(x).</param>
/// <param name="FeatureTerm">x . E_pi[w], the sum of the feature contributions.</param>
/// <param name="BiasTerm">E_pi[b].</param>
/// <param name="Entropy">H(pi) in nats.</param>
/// <param name="EntropyTerm">eps H(pi).</param>
public readonly record struct LseDecomposition<T>(T Score, T FeatureTerm, T BiasTerm, T Entropy, T EntropyTerm)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>FeatureTerm + BiasTerm + EntropyTerm, which equals <see cref="Score"/> to rounding.</summary>
    public T Sum => FeatureTerm + BiasTerm + EntropyTerm;
}
