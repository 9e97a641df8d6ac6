using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using HjMl.Data;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// Standardised rows, each followed by a constant 1 (the objective's bias column, <see cref="Objective.Augment"/>), with
/// their targets and weights, and where each came from in the caller's data. A block made by <see cref="Buffer"/> is
/// refilled by <see cref="Gather"/> with a mini-batch; only its first <see cref="Rows"/> rows count.
/// </summary>
internal sealed class TrainingBlock
{
    private Dictionary<int, int>? localIndex;

    private TrainingBlock(double[] inputs, double[] targets, double[]? weights, int[] sourceRows, int dimension, int rows)
    {
        Inputs = inputs;
        Targets = targets;
        Weights = weights;
        SourceRows = sourceRows;
        Dimension = dimension;
        Rows = rows;
    }

    /// <summary>Rows of d standardised features and a 1, <see cref="Stride"/> apart.</summary>
    public double[] Inputs { get; }

    /// <summary>Per row: standardised label (regression), 0/1 (binary), class index (multiclass).</summary>
    public double[] Targets { get; }

    /// <summary>Per-row example weights, or null for 1.</summary>
    public double[]? Weights { get; }

    /// <summary>Per row, its 0-based row in the caller's data.</summary>
    public int[] SourceRows { get; }

    /// <summary>d, features per row.</summary>
    public int Dimension { get; }

    /// <summary>The distance between rows of <see cref="Inputs"/>: d features and the constant 1.</summary>
    public int Stride => Dimension + 1;

    /// <summary>The rows the block holds.</summary>
    public int Rows { get; private set; }

    /// <summary>The rows of <paramref name="data"/>, standardised by <paramref name="scaling"/> and encoded by <paramref name="labels"/>.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="labels">The label encoding.</param>
    /// <param name="scaling">The feature standardisation.</param>
    /// <param name="weights">The caller's example weights, indexed by source row, or null.</param>
    /// <param name="sourceRows">Per row of <paramref name="data"/>, its row in the caller's data.</param>
    public static TrainingBlock Create(Dataset data, LabelEncoding labels, FeatureScaling scaling, double[]? weights, int[] sourceRows)
    {
        int d = data.Columns;
        var inputs = new double[data.Rows * (d + 1)];
        var targets = new double[data.Rows];
        for (int row = 0; row < data.Rows; row++)
        {
            Span<double> augmented = inputs.AsSpan(row * (d + 1), d + 1);
            scaling.Apply(data.Row(row), augmented);
            augmented[d] = 1.0;
            targets[row] = labels.Encode(data.Labels[row]);
        }

        return new TrainingBlock(inputs, targets, weights is null ? null : sourceRows.Select(i => weights[i]).ToArray(), sourceRows, d, data.Rows);
    }

    /// <summary>An empty block of room for <paramref name="capacity"/> rows, for <see cref="Gather"/>.</summary>
    public static TrainingBlock Buffer(int capacity, int dimension, bool weighted)
        => new(new double[capacity * (dimension + 1)], new double[capacity], weighted ? new double[capacity] : null, new int[capacity], dimension, 0);

    /// <summary>
    /// The same rows, targets, weights and provenance with other inputs: <paramref name="inputs"/> holds
    /// <paramref name="dimension"/> values and a 1 per row (a flow's states, on which its read-out trains).
    /// </summary>
    public TrainingBlock WithInputs(double[] inputs, int dimension) => new(inputs, Targets, Weights, SourceRows, dimension, Rows);

    /// <summary>Fills this buffer with rows <paramref name="rows"/> (0-based, local) of <paramref name="source"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gather(TrainingBlock source, ReadOnlySpan<int> rows)
    {
        int stride = Stride;
        for (int i = 0; i < rows.Length; i++)
        {
            if (i + PrefetchDistance < rows.Length)
            {
                Prefetch(source.Inputs, rows[i + PrefetchDistance] * stride, stride);
            }

            source.Inputs.AsSpan(rows[i] * stride, stride).CopyTo(Inputs.AsSpan(i * stride, stride));
            Targets[i] = source.Targets[rows[i]];
            SourceRows[i] = source.SourceRows[rows[i]];
            if (Weights is not null)
            {
                Weights[i] = source.Weights![rows[i]];
            }
        }

        Rows = rows.Length;
        localIndex = null;
    }

    // Rows ahead of the one being copied whose cache lines are asked for: a mini-batch's rows come in a shuffled order,
    // which the processor's own prefetcher cannot follow.
    private const int PrefetchDistance = 2;

    // A hint to the cache, never a read: an address the collector has since moved costs only the hint.
    private static unsafe void Prefetch(double[] values, int start, int length)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        fixed (double* first = &values[start])
        {
            byte* bytes = (byte*)first;
            for (int offset = 0; offset < length * sizeof(double); offset += 64)
            {
                Sse.Prefetch0(bytes + offset);
            }
        }
    }

    /// <summary>The local row that came from row <paramref name="sourceRow"/> of the caller's data.</summary>
    public int LocalIndexOf(int sourceRow)
    {
        // Built once on first use; concurrent members (HopfColeTrainer) may ask at once, and both get the same map.
        Dictionary<int, int> index = LazyInitializer.EnsureInitialized(ref localIndex, () => SourceRows.Take(Rows).Select((source, local) => (source, local)).ToDictionary(pair => pair.source, pair => pair.local));
        return index[sourceRow];
    }
}
