using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 15's speed case: a depth-4 residual Gibbs flow on mnist-10000 (THEORY.md section 9), 80% of the rows (8000)
/// for training and 20% (2000) for testing after a seeded shuffle, 10 classes. The same options drive HjMl's epoch
/// benchmark, its accuracy run and (through <see cref="WritePeerInputs"/>) the PyTorch peer scripts/peers/flow_torch.py,
/// so that both train the same architecture on the same rows with the same optimiser settings.
/// </summary>
public static class FlowCase
{
    /// <summary>L, Euler steps.</summary>
    public const int Depth = 4;

    /// <summary>J, support points (keys and values) per flow step.</summary>
    public const int FlowSupportPoints = 32;

    /// <summary>m: 0 keeps the 784 standardised pixels (z_0 = x, no lift).</summary>
    public const int FlowWidth = 0;

    /// <summary>N, support points per class head of the LSE read-out.</summary>
    public const int ReadoutSupportPoints = 8;

    /// <summary>Adam's mini-batch.</summary>
    public const int BatchSize = 128;

    /// <summary>Adam's learning rate (the trainer's default).</summary>
    public const double LearningRate = 0.003;

    /// <summary>Epochs of the accuracy runs (HjMl and the peer alike).</summary>
    public const int AccuracyEpochs = 5;

    /// <summary>The split's and the training's seed.</summary>
    public const int Seed = 1;

    /// <summary>The share of rows that train.</summary>
    public const double TrainingFraction = 0.8;

    /// <summary>The most rows a scoring case scores at once: all of mnist-10000, training rows then test rows.</summary>
    public const int ScoringRows = 10_000;

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };
    private static readonly Lazy<(Dataset Train, Dataset Test)> Split = new(LoadSplit);
    private static readonly Lazy<HopfColeModel> Scoring = new(LoadScoringModel);
    private static readonly Lazy<float[]> SingleRows = new(() => [.. Train.Features.ToArray().Select(value => (float)value), .. Test.Features.ToArray().Select(value => (float)value)]);

    /// <summary>The 8000 training rows (raw pixels).</summary>
    public static Dataset Train => Split.Value.Train;

    /// <summary>The 2000 test rows (raw pixels).</summary>
    public static Dataset Test => Split.Value.Test;

    /// <summary>
    /// The depth-4 model the scoring benchmarks score: HJML_FLOW_MODEL (the model file scripts/flow-benchmarks' accuracy
    /// run saves), else the case trained for one epoch here.
    /// </summary>
    public static HopfColeModel ScoringModel => Scoring.Value;

    /// <summary>The <see cref="ScoringRows"/> raw rows as float32 (what ONNX Runtime and HjMl's float32 path score; shared, do not modify).</summary>
    public static float[] SingleFeatures => SingleRows.Value;

    /// <summary>
    /// The trainer's options for the case: multiclass, depth 4, per-step controls, Adam with cosine decay over
    /// <paramref name="epochs"/>, no validation split, k-means++ placement of the read-out's support points, fixed
    /// eps = 0.5 (read-out) and 1 (flow), T = 1, L2 1e-4, all cores.
    /// </summary>
    public static HopfColeTrainerOptions Options(int epochs) => new()
    {
        Kind = ModelKind.MulticlassClassification,
        NumberOfSupportPoints = ReadoutSupportPoints,
        Depth = Depth,
        FlowWidth = FlowWidth,
        FlowSupportPoints = FlowSupportPoints,
        Optimizer = Optimizer.Adam,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        LearningRateSchedule = LearningRateSchedule.Cosine,
        MaximumEpochs = epochs,
        ValidationFraction = 0,
        Seed = Seed,
    };

    /// <summary>
    /// The mnist file: HJML_FLOW_DATA, else mnist-10000.csv.gz in ../shared/data beside the repository or in data/,
    /// found upwards from the working directory and from the benchmark's binary.
    /// </summary>
    public static string DataPath()
    {
        string? configured = Environment.GetEnvironmentVariable("HJML_FLOW_DATA");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? folder = new(start); folder is not null; folder = folder.Parent)
            {
                foreach (string candidate in new[] { Path.Combine(folder.FullName, "..", "shared", "data", "mnist-10000.csv.gz"), Path.Combine(folder.FullName, "data", "mnist-10000.csv.gz") })
                {
                    if (File.Exists(candidate))
                    {
                        return Path.GetFullPath(candidate);
                    }
                }
            }
        }

        throw new FileNotFoundException("mnist-10000.csv.gz was not found; set HJML_FLOW_DATA to its path.");
    }

    /// <summary>
    /// Writes what the PyTorch peer reads into <paramref name="folder"/>: the raw training and test rows and labels
    /// (little-endian float64), the per-feature means and scales HjMl's trainer fits on the training rows (so both
    /// standardise alike), and case.json with the architecture and optimiser settings. Returns case.json's path.
    /// </summary>
    public static string WritePeerInputs(string folder)
    {
        Directory.CreateDirectory(folder);
        FeatureScaling scaling = FeatureScaling.Fit(Train);
        WriteDoubles(Path.Combine(folder, "train-x.f64"), Train.Features);
        WriteDoubles(Path.Combine(folder, "train-y.f64"), Train.Labels);
        WriteDoubles(Path.Combine(folder, "test-x.f64"), Test.Features);
        WriteDoubles(Path.Combine(folder, "test-y.f64"), Test.Labels);
        WriteDoubles(Path.Combine(folder, "means.f64"), scaling.Means);
        WriteDoubles(Path.Combine(folder, "scales.f64"), scaling.Scales);
        HopfColeTrainerOptions options = Options(AccuracyEpochs);
        var settings = new
        {
            data = DataPath(),
            trainRows = Train.Rows,
            testRows = Test.Rows,
            features = Train.Columns,
            classes = Train.Labels.ToArray().Distinct().Count(),
            depth = options.Depth,
            flowWidth = options.FlowWidth,
            flowSupportPoints = options.FlowSupportPoints,
            sharedFlowControls = options.SharedFlowControls,
            flowHorizon = options.FlowHorizon,
            flowViscosity = options.FlowViscosity,
            supportPoints = options.NumberOfSupportPoints,
            viscosity = options.Viscosity,
            time = HopfColeTrainer.TimeFor(options, options.FlowWidth > Train.Columns ? options.FlowWidth : Train.Columns),
            batchSize = options.BatchSize,
            learningRate = options.LearningRate,
            cosine = options.LearningRateSchedule == LearningRateSchedule.Cosine,
            l2 = options.L2Regularisation,
            epochs = options.MaximumEpochs,
            seed = options.Seed,
        };
        string path = Path.Combine(folder, "case.json");
        File.WriteAllText(path, JsonSerializer.Serialize(settings, IndentedJson));
        return path;
    }

    /// <summary>Test accuracy of <paramref name="model"/> on the test rows (double scoring, arg max of the class scores).</summary>
    public static double TestAccuracy(HopfColeModel model)
    {
        int classes = model.OutputLength;
        var scores = new double[Test.Rows * classes];
        model.ScoreBatch(Test.Features, scores);
        int correct = 0;
        for (int row = 0; row < Test.Rows; row++)
        {
            int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<double>(scores.AsSpan(row * classes, classes));
            correct += model.ClassLabels[best] == Test.Labels[row] ? 1 : 0;
        }

        return correct / (double)Test.Rows;
    }

    /// <summary>A number as the report and the JSON files write it.</summary>
    public static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static HopfColeModel LoadScoringModel()
    {
        string? path = Environment.GetEnvironmentVariable("HJML_FLOW_MODEL");
        return string.IsNullOrEmpty(path) ? new HopfColeTrainer(Options(1)).Fit(Train) : ModelFile.Load(path);
    }

    private static (Dataset, Dataset) LoadSplit()
    {
        Dataset all = CsvDataset.Load(DataPath(), "Label");
        int[] order = all.ShuffledRows(Seed);
        int training = (int)Math.Round(TrainingFraction * all.Rows);
        return (all.Subset(order[..training]), all.Subset(order[training..]));
    }

    private static void WriteDoubles(string path, ReadOnlySpan<double> values)
    {
        using FileStream stream = File.Create(path);
        stream.Write(MemoryMarshal.AsBytes(values));
    }
}
