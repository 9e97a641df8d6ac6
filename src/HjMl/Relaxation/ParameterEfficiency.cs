using System.Diagnostics;
using HjMl.Data;

namespace HjMl.Relaxation;

/// <summary>Settings of <see cref="ParameterEfficiency"/>.</summary>
public sealed record EfficiencySettings
{
    /// <summary>The lattice of the features (e.g. 28 x 28 for MNIST).</summary>
    public required GridShape Grid { get; init; }

    /// <summary>L, the steps of every model compared. Default 2.</summary>
    public int Depth { get; init; } = 2;

    /// <summary>Patch sides of the heterogeneous ADR models (1: moments per site). Default 14, 7, 4, 2, 1.</summary>
    public IReadOnlyList<int> Tiles { get; init; } = [14, 7, 4, 2, 1];

    /// <summary>Whether the dense model is trained too (N^2 + N parameters a step). Default true.</summary>
    public bool IncludeDense { get; init; } = true;

    /// <summary>Adam epochs a model. Default 5.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Adam's step size. Default 0.005.</summary>
    public double LearningRate { get; init; } = 0.005;

    /// <summary>
    /// eps of the softplus activation. Default 0.05: near the ReLU limit (section 2), so a step at the identity kernel
    /// passes pixels in [0, 1] on almost unchanged instead of compressing them towards eps log 2.
    /// </summary>
    public double Viscosity { get; init; } = 0.05;

    /// <summary>The held-out fraction. Default 0.2.</summary>
    public double HoldOut { get; init; } = 0.2;

    /// <summary>The seed of the split and of every model. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The features are divided by this before training (255 for 8-bit pixels). Default: their largest magnitude.</summary>
    public double? Scale { get; init; }
}

/// <summary>One model of the comparison.</summary>
/// <param name="Model">"read-out only", "dense", "homogeneous ADR" or "heterogeneous ADR (tile s)".</param>
/// <param name="Depth">L.</param>
/// <param name="MixingParameters">Parameters of the L steps.</param>
/// <param name="TotalParameters">With the softmax read-out's K N + K.</param>
/// <param name="ReductionRatio">MixingParameters over the dense steps' L (N^2 + N).</param>
/// <param name="Accuracy">Held-out accuracy.</param>
/// <param name="TrainingLoss">The last epoch's mean cross-entropy.</param>
/// <param name="Seconds">Training time (wall clock, shared machine: indicative only).</param>
public sealed record EfficiencyRow(string Model, int Depth, long MixingParameters, long TotalParameters, double ReductionRatio, double Accuracy, double TrainingLoss, double Seconds);

/// <summary>
/// The paper's second open experiment (arXiv:2502.06739): dense against ADR relaxation steps of the same depth on a grid
/// data set (MNIST), held-out accuracy against parameter count and reduction ratio. Every model has the same softmax
/// read-out, activation (softplus, eps 0.05), omega (1), optimiser and epochs; "read-out only" (depth 0) is the floor the steps
/// add to.
/// </summary>
public static class ParameterEfficiency
{
    /// <summary>Trains and scores every model on a seeded split of <paramref name="data"/> (labels 0..K-1).</summary>
    /// <exception cref="ArgumentException">The grid does not match the columns or their order, or a label is not a class index.</exception>
    public static IReadOnlyList<EfficiencyRow> Run(Dataset data, EfficiencySettings settings, IProgress<EfficiencyRow>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(settings);
        int n = data.Columns;
        settings.Grid.RequireLength(n, "Grid", "each data row");
        settings.Grid.RequireOrdered(data.FeatureNames, "Grid", "the data's feature columns");
        if (!(settings.HoldOut > 0 && settings.HoldOut < 1))
        {
            throw new ArgumentException($"Setting HoldOut is {settings.HoldOut}; it must lie in (0, 1).", nameof(settings));
        }

        int[] order = data.ShuffledRows(settings.Seed);
        int held = Math.Max(1, (int)Math.Round(settings.HoldOut * data.Rows));
        double scale = settings.Scale ?? Math.Max(1e-300, data.Features.ToArray().Max(Math.Abs));
        (double[] trainInputs, double[] trainLabels) = Rows(data, order[held..], scale);
        (double[] testInputs, double[] testLabels) = Rows(data, order[..held], scale);
        int classes = (int)trainLabels.Concat(testLabels).Max() + 1;
        var models = new List<(string Name, int Depth, RelaxationMixing Mixing, int Tile)> { ("read-out only", 0, RelaxationMixing.HomogeneousAdr, 1), ("homogeneous ADR", settings.Depth, RelaxationMixing.HomogeneousAdr, 1) };
        models.AddRange(settings.Tiles.Select(tile => ($"heterogeneous ADR (tile {tile})", settings.Depth, RelaxationMixing.HeterogeneousAdr, tile)));
        if (settings.IncludeDense)
        {
            models.Add(("dense", settings.Depth, RelaxationMixing.Dense, 1));
        }

        double dense = (double)settings.Depth * n * (n + 1);
        var rows = new List<EfficiencyRow>();
        foreach ((string name, int depth, RelaxationMixing mixing, int tile) in models)
        {
            cancellation.ThrowIfCancellationRequested();
            var options = new RelaxationTrainerOptions
            {
                Depth = depth,
                Mixing = mixing,
                MomentTile = tile,
                Grid = settings.Grid,
                Activation = RelaxationActivation.Softplus,
                Viscosity = settings.Viscosity,
                Readout = RelaxationReadout.Softmax,
                Outputs = classes,
                Epochs = settings.Epochs,
                BatchSize = 128,
                LearningRate = settings.LearningRate,
                Seed = settings.Seed,
            };
            var clock = Stopwatch.StartNew();
            RelaxationFit fit = new RelaxationTrainer(options).Fit(trainInputs, n, trainLabels, cancellation: cancellation);
            double seconds = clock.Elapsed.TotalSeconds;
            RelaxationShape shape = fit.Network.Shape;
            var row = new EfficiencyRow(name, depth, shape.MixingParameterCount, shape.ParameterCount, shape.MixingParameterCount / dense, Accuracy(fit.Network, testInputs, testLabels), fit.Epochs.Count > 0 ? fit.Epochs[^1].Loss : double.NaN, seconds);
            rows.Add(row);
            progress?.Report(row);
        }

        return rows;
    }

    private static (double[] Inputs, double[] Labels) Rows(Dataset data, int[] rows, double scale)
    {
        int n = data.Columns;
        var inputs = new double[rows.Length * n];
        var labels = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            ReadOnlySpan<double> row = data.Row(rows[i]);
            for (int q = 0; q < n; q++)
            {
                inputs[(i * n) + q] = row[q] / scale;
            }

            labels[i] = data.Labels[rows[i]];
        }

        return (inputs, labels);
    }

    private static double Accuracy(RelaxationNetwork network, double[] inputs, double[] labels)
    {
        int k = network.OutputDimension;
        var probabilities = new double[labels.Length * k];
        network.PredictBatch(inputs, probabilities);
        int correct = 0;
        for (int row = 0; row < labels.Length; row++)
        {
            ReadOnlySpan<double> p = probabilities.AsSpan(row * k, k);
            int best = 0;
            for (int c = 1; c < k; c++)
            {
                best = p[c] > p[best] ? c : best;
            }

            correct += best == (int)labels[row] ? 1 : 0;
        }

        return (double)correct / labels.Length;
    }
}
