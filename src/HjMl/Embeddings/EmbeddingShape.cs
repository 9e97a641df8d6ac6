namespace HjMl.Embeddings;

/// <summary>
/// The sizes of a periodic feature embedding (Gorishniy et al. 2022, "PLR": periodic, linear, ReLU) and where its
/// parameters sit: each embedded feature x_f (standardised) becomes v_f = max(0, L_f s_f + b_f) with
/// s_f = [sin(2 pi c_fk x_f), cos(2 pi c_fk x_f)] over k = 1..K, learned frequencies c_f (K), L_f (e x 2K) and b_f (e).
/// The other features pass through unchanged. The embedded state is [the passed-through features in input order, then
/// v_f feature by feature]. Layout per embedded feature, in feature order: [c_f (K), L_f (e rows of 2K: sines, then
/// cosines), b_f (e)].
/// </summary>
public sealed record EmbeddingShape
{
    private readonly int[] features;
    private readonly int[] passedThrough;

    /// <summary>A shape for <paramref name="inputDimension"/> features of which <paramref name="features"/> are embedded.</summary>
    /// <param name="inputDimension">d, features per row.</param>
    /// <param name="features">The embedded features' 0-based indices, ascending and distinct.</param>
    /// <param name="frequencies">K, frequencies per embedded feature.</param>
    /// <param name="width">e, the width of each embedded feature's vector.</param>
    /// <exception cref="ArgumentException">A size or an index is out of range (the message names it).</exception>
    public EmbeddingShape(int inputDimension, IReadOnlyList<int> features, int frequencies, int width)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (inputDimension < 1)
        {
            throw new ArgumentException($"The embedding's input dimension is {inputDimension}; it must be at least 1.", nameof(inputDimension));
        }

        if (frequencies < 1)
        {
            throw new ArgumentException($"The embedding has {frequencies} frequencies per feature; it needs at least 1.", nameof(frequencies));
        }

        if (width < 1)
        {
            throw new ArgumentException($"The embedding's width per feature is {width}; it must be at least 1.", nameof(width));
        }

        if (features.Count == 0)
        {
            throw new ArgumentException("An embedding needs at least one embedded feature.", nameof(features));
        }

        for (int i = 0; i < features.Count; i++)
        {
            if (features[i] < 0 || features[i] >= inputDimension || (i > 0 && features[i] <= features[i - 1]))
            {
                throw new ArgumentException($"Embedded feature {i} is index {features[i]}; indices must be ascending, distinct and in 0..{inputDimension - 1}.", nameof(features));
            }
        }

        long total = (long)features.Count * (frequencies + (2L * frequencies * width) + width);
        if (total > Array.MaxLength || (inputDimension - features.Count) + ((long)features.Count * width) > Array.MaxLength)
        {
            throw new ArgumentException($"An embedding of {features.Count} features, {frequencies} frequencies and width {width} is larger than one array holds.", nameof(width));
        }

        InputDimension = inputDimension;
        this.features = [.. features];
        Frequencies = frequencies;
        Width = width;
        var embedded = new HashSet<int>(features);
        passedThrough = [.. Enumerable.Range(0, inputDimension).Where(i => !embedded.Contains(i))];
    }

    /// <summary>d, features per row.</summary>
    public int InputDimension { get; }

    /// <summary>The embedded features' indices, ascending.</summary>
    public IReadOnlyList<int> Features => features;

    /// <summary>The features copied unchanged, ascending.</summary>
    public IReadOnlyList<int> PassedThrough => passedThrough;

    /// <summary>K, frequencies per embedded feature.</summary>
    public int Frequencies { get; }

    /// <summary>e, the width of each embedded feature's vector.</summary>
    public int Width { get; }

    /// <summary>Parameters of one embedded feature: K + 2 K e + e.</summary>
    public int FeatureLength => Frequencies + (2 * Frequencies * Width) + Width;

    /// <summary>All parameters of the embedding.</summary>
    public int ParameterCount => features.Length * FeatureLength;

    /// <summary>The embedded state's width: (d - n) + n e.</summary>
    public int OutputWidth => passedThrough.Length + (features.Length * Width);

    /// <summary>Where embedded feature <paramref name="slot"/>'s (0-based among the embedded) frequencies start.</summary>
    public int FrequenciesOffset(int slot) => slot * FeatureLength;

    /// <summary>Where its L (e x 2K) starts.</summary>
    public int WeightsOffset(int slot) => (slot * FeatureLength) + Frequencies;

    /// <summary>Where its b (e) starts.</summary>
    public int BiasOffset(int slot) => (slot * FeatureLength) + Frequencies + (2 * Frequencies * Width);

    /// <summary>Where its vector starts in the embedded state.</summary>
    public int OutputOffset(int slot) => passedThrough.Length + (slot * Width);

    /// <inheritdoc/>
    public bool Equals(EmbeddingShape? other)
        => other is not null && InputDimension == other.InputDimension && Frequencies == other.Frequencies && Width == other.Width && features.AsSpan().SequenceEqual(other.features);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputDimension, Frequencies, Width, features.Length, features.Length > 0 ? features[0] : -1);
}
