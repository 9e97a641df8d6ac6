using System.Collections.Concurrent;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// The performance issue's grid: d in {8, 64, 784}, N in {16, 128, 1024} pieces per head, batch in {1, 1000, 100000},
/// and the synthetic models and rows every part of the suite (BenchmarkDotNet, ONNX Runtime, roofline) scores, so that
/// they all see the same model and the same batches.
/// </summary>
/// <remarks>
/// A model is a binary classifier (two heads of N pieces, eps = 0.5, t = d/4) built the way the trainer initialises
/// one (THEORY.md section 1): support points y_j drawn in standardised units, w_j = y_j / (2t),
/// b_j = -|y_j|^2 / (4t) + g_j with small random g_j. Raw features are standardised by random means and scales, so
/// the standardisation does real work. Rows are drawn from the same distribution as the support points. Every draw
/// comes from a fixed seed per (d, N), so a model and its rows are the same in every process.
/// </remarks>
public static class BenchmarkGrid
{
    /// <summary>Input dimensions.</summary>
    public static readonly int[] Dimensions = [8, 64, 784];

    /// <summary>Pieces per head.</summary>
    public static readonly int[] Pieces = [16, 128, 1024];

    /// <summary>Rows per call; 1 is single-row scoring through the single-row API.</summary>
    public static readonly int[] Batches = [1, 1000, 100_000];

    /// <summary>Heads of every grid model (a binary classifier).</summary>
    public const int Heads = 2;

    /// <summary>The viscosity of every grid model.</summary>
    public const double Viscosity = 0.5;

    /// <summary>The most rows any case scores; smaller batches are prefixes of these rows.</summary>
    public static int MostRows => Batches[^1];

    private static readonly ConcurrentDictionary<(int, int), HopfColeModel> Models = new();
    private static readonly ConcurrentDictionary<int, double[]> Rows = new();
    private static readonly ConcurrentDictionary<int, float[]> SingleRows = new();

    /// <summary>The grid model for (d, N).</summary>
    public static HopfColeModel Model(int dimension, int pieces) => Models.GetOrAdd((dimension, pieces), key => Build(key.Item1, key.Item2));

    /// <summary><see cref="MostRows"/> raw rows of d features, row-major (shared; do not modify).</summary>
    public static double[] Features(int dimension) => Rows.GetOrAdd(dimension, Draw);

    /// <summary><see cref="Features"/> rounded to float32, the input ONNX Runtime and the float32 path score.</summary>
    public static float[] SingleFeatures(int dimension) => SingleRows.GetOrAdd(dimension, d => Array.ConvertAll(Features(d), value => (float)value));

    /// <summary>The name a (d, N) model's files carry.</summary>
    public static string Name(int dimension, int pieces) => $"d{dimension}-n{pieces}";

    private static HopfColeModel Build(int dimension, int pieces)
    {
        var random = new Random((dimension * 7919) + pieces);
        double time = dimension / 4.0;
        int all = Heads * pieces;
        var weights = new double[all * dimension];
        var biases = new double[all];
        for (int j = 0; j < all; j++)
        {
            double squaredNorm = 0;
            for (int k = 0; k < dimension; k++)
            {
                double y = Gaussian(random);
                weights[(j * dimension) + k] = y / (2 * time);
                squaredNorm += y * y;
            }

            biases[j] = (-squaredNorm / (4 * time)) + (0.5 * Gaussian(random));
        }

        var layer = new LseLayer<double>(weights, biases, dimension, Viscosity, Heads);
        (double[] means, double[] scales) = Scaling(dimension);
        string[] names = Enumerable.Range(0, dimension).Select(k => $"x{k}").ToArray();
        return new HopfColeModel(ModelKind.BinaryClassification, layer, new FeatureScaling(means, scales), names, [0, 1], 0, 1, Enumerable.Repeat(-1, all).ToArray(), time);
    }

    // Raw rows x = mean + scale * z with z standard normal, the distribution the support points were drawn from.
    private static double[] Draw(int dimension)
    {
        var random = new Random(dimension);
        (double[] means, double[] scales) = Scaling(dimension);
        var rows = new double[(long)MostRows * dimension];
        for (long i = 0; i < rows.Length; i++)
        {
            int k = (int)(i % dimension);
            rows[i] = means[k] + (scales[k] * Gaussian(random));
        }

        return rows;
    }

    private static (double[] Means, double[] Scales) Scaling(int dimension)
    {
        var random = new Random(-dimension);
        var means = new double[dimension];
        var scales = new double[dimension];
        for (int k = 0; k < dimension; k++)
        {
            means[k] = 10 * (random.NextDouble() - 0.5);
            scales[k] = 0.5 + (1.5 * random.NextDouble());
        }

        return (means, scales);
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
