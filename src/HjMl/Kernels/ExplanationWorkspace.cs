namespace HjMl.Kernels;

/// <summary>
/// The buffers one explained row passes through the kernels, laid out as they need them: the standardised row, every
/// head's Gibbs weights (<see cref="LseKernel{T}.GibbsWeightsLength"/>: <see cref="LseKernel{T}.ExplainRow"/> writes
/// whole vectors past a head's end), two E_pi[w] rows (<see cref="ExpectationKernel{T}.PaddedLength"/>: the expectation
/// kernel writes whole vectors), and every head's score and entropy. One pinned block, each buffer from its own cache
/// line, the head scores padded to whole cache lines (read as whole vectors) and a cache line of slack at the end. Not
/// thread-safe: one per thread.
/// </summary>
internal sealed class ExplanationWorkspace
{
    private readonly double[] block;
    private readonly int weightsStart;
    private readonly int weightsLength;
    private readonly int standardisedStart;
    private readonly int dimension;
    private readonly int expectationsStart;
    private readonly int expectationLength;
    private readonly int scoresStart;
    private readonly int entropiesStart;
    private readonly int heads;

    /// <summary>Allocates the buffers for rows that <paramref name="kernel"/> explains.</summary>
    public ExplanationWorkspace(LseKernel<double> kernel)
    {
        int line = AlignedBuffer<double>.Padding;
        weightsLength = kernel.GibbsWeightsLength;
        dimension = kernel.Dimension;
        expectationLength = ExpectationKernel<double>.PaddedLength(dimension);
        heads = kernel.Heads;
        int headLines = AlignedBuffer<double>.WholeLines(heads);
        block = AlignedBuffer<double>.Allocate(weightsLength + (3 * expectationLength) + (2 * headLines) + (2 * line));
        weightsStart = AlignedBuffer<double>.Offset(block);
        standardisedStart = weightsStart + AlignedBuffer<double>.WholeLines(weightsLength);
        expectationsStart = standardisedStart + expectationLength;
        scoresStart = expectationsStart + (2 * expectationLength);
        entropiesStart = scoresStart + headLines;
    }

    /// <summary>Every head's Gibbs weights, head-major, with one vector of slack.</summary>
    public Span<double> Weights => block.AsSpan(weightsStart, weightsLength);

    /// <summary>The standardised row (d values; the buffer continues to whole cache lines).</summary>
    public Span<double> Standardised => block.AsSpan(standardisedStart, dimension);

    /// <summary>The first head's E_pi[w], padded to whole vectors.</summary>
    public Span<double> FirstExpectation => block.AsSpan(expectationsStart, expectationLength);

    /// <summary>The second head's E_pi[w], padded to whole vectors.</summary>
    public Span<double> SecondExpectation => block.AsSpan(expectationsStart + expectationLength, expectationLength);

    /// <summary>Every head's score (the buffer continues to whole cache lines).</summary>
    public Span<double> HeadScores => block.AsSpan(scoresStart, heads);

    /// <summary>Every head's attribution entropy.</summary>
    public Span<double> Entropies => block.AsSpan(entropiesStart, heads);
}
