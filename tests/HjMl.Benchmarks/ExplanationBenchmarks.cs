using BenchmarkDotNet.Attributes;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Kernels;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// The explanation issue's speed targets, per row: attribution (top-k, entropy, contributions) at most 1.5x plain
/// scoring, certified radius at most 2x. Models trained on the repository's breast_cancer (binary, d = 30) and
/// digits (10 classes, d = 64) sets; each benchmark scores all rows once, so the ratio of means is the per-row ratio.
/// Five processes per case: where a process's buffers and code happen to fall moves single-row times by 10-20% between
/// processes (one slow process in three moved a ratio by 0.2), and bursts of machine noise can slow a few iterations of
/// one process by half or more; compare the Median column (over every iteration of every process), not the means.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 5, warmupCount: 2, iterationCount: 8)]
public class ExplanationBenchmarks
{
    private HopfColeModel model = null!;
    private ModelExplainer explainer = null!;
    private Explanation explanation = null!;
    private Dataset data = null!;
    private double[] scores = null!;
    private double[] standardised = null!;
    private double[] headScores = null!;
    private double[] weights = null!;
    private double[] entropies = null!;
    private double[] expected = null!;

    [Params("breast_cancer", "digits")]
    public string Set { get; set; } = "breast_cancer";

    [GlobalSetup]
    public void Setup()
    {
        (model, data) = RepositoryData.TrainedModel(Set);
        explainer = new ModelExplainer(model);
        explanation = new Explanation(model, top: 3);
        scores = new double[model.OutputLength];
        var layer = model.Layer;
        standardised = new double[model.InputDimension];
        headScores = new double[layer.NumberOfHeads];
        weights = new double[layer.Kernel.GibbsWeightsLength];
        entropies = new double[layer.NumberOfHeads];
        expected = new double[2 * ExpectationKernel<double>.PaddedLength(model.InputDimension)];
    }

    [Benchmark(Baseline = true)]
    public double Score()
    {
        double sum = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            model.Score(data.Row(row), scores);
            sum += scores[0];
        }

        return sum;
    }

    [Benchmark]
    public double Attribution()
    {
        double sum = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            explainer.Explain(data.Row(row), explanation);
            sum += explanation.Entropy;
        }

        return sum;
    }

    /// <summary>
    /// For scale, the least any exact attribution computes, with nothing of an explanation read out: the row validated
    /// and standardised, every head's score, Gibbs weights and entropy from the scoring kernel's own pass, and E_pi[w] of
    /// two heads in one pass (a decomposition needs the predicted class's head and its rival's; here heads 0 and 1). No prediction,
    /// top list, contributions or bias terms.
    /// </summary>
    [Benchmark]
    public double ExpectationsOnly()
    {
        var layer = model.Layer;
        int pieces = layer.NumberOfPieces;
        int padded = expected.Length / 2;
        double sum = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            model.ValidateFeatures(data.Row(row));
            model.Scaling.Apply(data.Row(row), standardised);
            layer.Kernel.ExplainRow(standardised, headScores, layer.Viscosity, weights, entropies);
            layer.ExpectedWeights(0, weights.AsSpan(0, pieces), expected.AsSpan(0, padded), 1, weights.AsSpan(pieces, pieces), expected.AsSpan(padded, padded));
            sum += expected[0] + expected[padded];
        }

        return sum;
    }

    [Benchmark]
    public double CertifiedRadius()
    {
        double sum = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            sum += explainer.Certify(data.Row(row)).Radius;
        }

        return sum;
    }
}

/// <summary>Finds the repository's data/ folder from the benchmark's working directory or assembly location.</summary>
internal static class RepositoryData
{
    public static string Folder { get; } = Find();

    /// <summary>
    /// The explanation benchmarks' model of a repository set and its rows: breast_cancer a binary classifier of 32
    /// support points per head, digits a 10-class one of 8, both 10 epochs from seed 1.
    /// </summary>
    public static (HopfColeModel Model, Dataset Data) TrainedModel(string set)
    {
        Dataset data = CsvDataset.Load(Path.Combine(Folder, set + ".csv"), "Label");
        var options = new HopfColeTrainerOptions
        {
            Kind = set == "digits" ? ModelKind.MulticlassClassification : ModelKind.BinaryClassification,
            NumberOfSupportPoints = set == "digits" ? 8 : 32,
            MaximumEpochs = 10,
            Seed = 1,
        };
        return (new HopfColeTrainer(options).Fit(data), data);
    }

    private static string Find()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? folder = new(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
                {
                    return Path.Combine(folder.FullName, "data");
                }
            }
        }

        throw new InvalidOperationException("Run the benchmarks from inside the HjMl repository: no folder above holds HjMl.sln.");
    }
}
