using HjMl.Embeddings;
using HjMl.Flows;

namespace HjMl.Training;

/// <summary>
/// How a training run with <see cref="HopfColeTrainerOptions.Depth"/> &gt; 0 or a feature embedding starts its flow: the
/// shape from the options, the initial controls (a lift that keeps the standardised features and adds random directions,
/// or a periodic embedding of the numeric features with random frequencies; random keys, zero values, so the initial
/// flow moves nothing and the model starts as the single layer's construction on z_0), the rows as z_0, and a memory
/// check before anything large is allocated.
/// </summary>
internal sealed class FlowSetup
{
    private FlowSetup(FlowShape shape, double[] parameters, TrainingBlock start)
    {
        Shape = shape;
        Parameters = parameters;
        Start = start;
    }

    public FlowShape Shape { get; }

    /// <summary>The flow's initial controls (<see cref="FlowShape"/> layout).</summary>
    public double[] Parameters { get; }

    /// <summary>The training rows as z_0 = P x + q (or x), each followed by a 1: where the read-out's support points start.</summary>
    public TrainingBlock Start { get; }

    /// <summary>The flow's shape and initial controls; refuses (naming the sizes) a flow that would not fit in memory.</summary>
    /// <param name="options">The trainer's options.</param>
    /// <param name="dimension">d, features per row.</param>
    /// <param name="train">The standardised training rows.</param>
    /// <param name="rowsAtOnce">The most rows one evaluation holds (a batch, the whole training set, or the validation rows).</param>
    /// <param name="random">The run's seeded generator.</param>
    /// <param name="embedding">The embedding of z_0 (<see cref="Embedding"/>), or null.</param>
    public static FlowSetup Create(HopfColeTrainerOptions options, int dimension, TrainingBlock train, int rowsAtOnce, Random random, EmbeddingShape? embedding)
    {
        var shape = ShapeFor(options, dimension, embedding);
        shape.Validate();
        CheckMemory(shape, rowsAtOnce);
        int width = shape.Width;
        var parameters = new double[shape.ParameterCount];
        if (embedding is not null)
        {
            // Frequencies N(0, sigma^2) per standard deviation of the feature, L of unit-variance outputs, b = 0.
            for (int slot = 0; slot < embedding.Features.Count; slot++)
            {
                Span<double> frequencies = parameters.AsSpan(embedding.FrequenciesOffset(slot), embedding.Frequencies);
                for (int k = 0; k < frequencies.Length; k++)
                {
                    frequencies[k] = options.EmbeddingScale * Gaussian(random);
                }

                Span<double> weights = parameters.AsSpan(embedding.WeightsOffset(slot), 2 * embedding.Frequencies * embedding.Width);
                for (int k = 0; k < weights.Length; k++)
                {
                    weights[k] = Gaussian(random) / Math.Sqrt(2 * embedding.Frequencies);
                }
            }
        }
        else if (shape.Lifted)
        {
            // P = [I; G / sqrt(d)]: the first d coordinates are the features themselves, the rest random projections of
            // unit variance for standardised features; q = 0.
            for (int i = 0; i < width; i++)
            {
                for (int k = 0; k < dimension; k++)
                {
                    parameters[(i * dimension) + k] = i < dimension ? (i == k ? 1 : 0) : Gaussian(random) / Math.Sqrt(dimension);
                }
            }
        }

        // Keys of unit-variance logits for unit-variance states; offsets and values 0 (a zero velocity, as residual
        // branches are commonly started, so depth cannot start worse than the single layer).
        for (int set = 0; set < shape.ControlSets; set++)
        {
            Span<double> keys = parameters.AsSpan(shape.KeysOffset(set), shape.Pieces * width);
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = Gaussian(random) / Math.Sqrt(width);
            }
        }

        var flow = new GibbsFlow(shape, options.FlowHorizon, options.FlowViscosity, parameters);
        return new FlowSetup(shape, parameters, Terminal(flow, train));
    }

    /// <summary>The flow's shape for <paramref name="options"/>: embedded, lifted or on the features themselves.</summary>
    public static FlowShape ShapeFor(HopfColeTrainerOptions options, int dimension, EmbeddingShape? embedding)
    {
        if (embedding is not null)
        {
            return new FlowShape(dimension, embedding.OutputWidth, options.Depth, options.FlowSupportPoints, false, options.SharedFlowControls) { Embedding = embedding };
        }

        int width = options.FlowWidth == 0 ? dimension : options.FlowWidth;
        if (width < dimension)
        {
            throw new ArgumentException($"Option FlowWidth is {options.FlowWidth}; it must be 0 (keep the {dimension} features) or at least the number of features, {dimension}.", nameof(options));
        }

        return new FlowShape(dimension, width, options.Depth, options.FlowSupportPoints, width > dimension, options.SharedFlowControls);
    }

    /// <summary>
    /// The periodic embedding <paramref name="options"/> ask for on <paramref name="train"/>, or null: the numeric features
    /// (more than two distinct training values) when FeatureEmbedding is Periodic, or Automatic with 1 to
    /// <see cref="HopfColeTrainerOptions.AutomaticEmbeddingLimit"/> of them, at least as many training rows as the
    /// embedding's parameters, a validation split, a single run and no lift.
    /// </summary>
    public static EmbeddingShape? Embedding(HopfColeTrainerOptions options, TrainingBlock train)
    {
        // Automatic leaves alone runs without a validation split (nothing would stop an embedding that fits the rows; such
        // runs ask for exact control, as the paper's fixed-iteration problems do), pooled ensembles and lifts.
        if (options.FeatureEmbedding == FeatureEmbedding.None
            || (options.FeatureEmbedding == FeatureEmbedding.Automatic && (options.EnsembleMembers > 1 || options.FlowWidth > 0 || options.ValidationFraction == 0)))
        {
            return null;
        }

        int[] numeric = NumericFeatures(train);
        if (numeric.Length == 0)
        {
            return null;
        }

        var shape = new EmbeddingShape(train.Dimension, numeric, options.EmbeddingFrequencies, options.EmbeddingWidth);

        // Automatic also needs at least as many training rows as the embedding has parameters: with fewer, the embedding
        // fits the rows before early stopping can see it (docs/accuracy-experiments.md: small data sets lost accuracy).
        bool automatic = options.FeatureEmbedding == FeatureEmbedding.Automatic;
        return automatic && (numeric.Length > HopfColeTrainerOptions.AutomaticEmbeddingLimit || train.Rows < shape.ParameterCount) ? null : shape;
    }

    // Features with more than two distinct values among the training rows (binary and one-hot columns have at most two),
    // read row by row (the rows are contiguous; a column's values are not).
    private static int[] NumericFeatures(TrainingBlock train)
    {
        int d = train.Dimension;
        var first = new double[d];
        var second = new double[d];
        var numeric = new bool[d];
        train.Inputs.AsSpan(0, d).CopyTo(first);
        Array.Fill(second, double.NaN);
        for (int row = 1; row < train.Rows; row++)
        {
            ReadOnlySpan<double> x = train.Inputs.AsSpan(row * train.Stride, d);
            for (int feature = 0; feature < d; feature++)
            {
                double value = x[feature];
                if (numeric[feature] || value == first[feature] || value.Equals(second[feature]))
                {
                    continue;
                }

                if (double.IsNaN(second[feature]))
                {
                    second[feature] = value;
                    continue;
                }

                numeric[feature] = true;
            }
        }

        return [.. Enumerable.Range(0, d).Where(feature => numeric[feature])];
    }

    /// <summary>The rows of <paramref name="block"/> carried to z_L by <paramref name="flow"/>, each followed by a 1.</summary>
    public static TrainingBlock Terminal(GibbsFlow flow, TrainingBlock block)
    {
        int width = flow.Width;
        var inputs = new double[block.Rows * (width + 1)];
        flow.TransportRows(block.Inputs, block.Stride, block.Rows, inputs, width + 1);
        for (int row = 0; row < block.Rows; row++)
        {
            inputs[(row * (width + 1)) + width] = 1.0;
        }

        return block.WithInputs(inputs, width);
    }

    /// <summary>
    /// Refuses, naming the sizes, a run that would hold more than half the memory this process may use: six copies of
    /// the parameters (theta, gradient, Adam's moments, a trial or best copy, scratch) and one evaluation's states,
    /// Gibbs weights and co-states for <paramref name="rowsAtOnce"/> rows.
    /// </summary>
    private static void CheckMemory(FlowShape shape, int rowsAtOnce)
    {
        long perRow = shape.TrainingDoublesPerRow;
        long bytes = ((6L * shape.ParameterCount) + (perRow * rowsAtOnce)) * sizeof(double);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available / 2)
        {
            throw new ArgumentException(
                $"Option Depth is {shape.Steps}: a flow of {shape.Steps} steps at width {shape.Width} with {shape.Pieces} support points per step has "
                + $"{shape.ParameterCount} parameters and keeps {perRow} numbers per row; training it on {rowsAtOnce} rows at once needs about "
                + $"{bytes >> 20} MiB, more than half of the {available >> 20} MiB this process may use. Lower Depth, FlowWidth or FlowSupportPoints, "
                + "or train with mini-batches (Optimizer Adam, BatchSize > 0) and a smaller ValidationFraction.",
                nameof(shape));
        }
    }

    private static double Gaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
