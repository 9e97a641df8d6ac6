using BenchmarkDotNet.Attributes;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 15's adult bar with the feature embedding: adult's first 26,048 rows (four folds' worth), the 8 text columns
/// one-hot encoded and concatenated with the 6 numbers, mean-variance normalised, as the plug-in sees them. Two groups:
/// the objective's part of one epoch (204 mini-batches of 128 rows, loss and gradient, no optimiser step) on the generic
/// path (the embedding's blocks, then the read-out's double Objective on all 198 columns; the baseline) beside the fused
/// depth-0 path in double and in float32; and whole default trainings, HjMl's engine beside ML.NET's LightGbm on the
/// same rows, whose ratio is the bar's (at most 3x). adult.csv is read from HJML_ADULT_CSV, or ../shared/data/adult.csv
/// beside the repository. dotnet run -c Release --project tests/HjMl.Benchmarks -- --filter '*EmbeddedTrainingBenchmarks*'.
/// </summary>
[Config(typeof(FlowConfig))]
public class EmbeddedTrainingBenchmarks
{
    private const int Rows = 26048;
    private const int BatchRows = 128;

    private Dataset data = null!;
    private float[][] features = [];
    private bool[] labels = [];
    private MLContext context = null!;
    private TrainingObjective generic = null!;
    private TrainingObjective fusedDouble = null!;
    private TrainingObjective fusedSingle = null!;
    private double[] parameters = [];
    private double[] gradient = [];
    private int[] order = [];

    [GlobalSetup]
    public void Setup()
    {
        context = new MLContext(seed: 1);
        (features, labels) = Adult(context);
        int d = features[0].Length;
        data = new Dataset([.. features.SelectMany(row => row.Select(value => (double)value))], [.. labels.Select(label => label ? 1.0 : 0.0)], [.. Enumerable.Range(0, d).Select(i => $"f{i}")]);

        // The trainer's set-up for its default embedded run, without the validation split (the objective's cost per row
        // does not depend on it).
        var options = new HopfColeTrainerOptions { Kind = ModelKind.BinaryClassification };
        LabelEncoding encoding = LabelEncoding.Fit(data, options.Kind);
        order = data.ShuffledRows(options.Seed);
        FeatureScaling scaling = FeatureScaling.Fit(data);
        TrainingBlock train = TrainingBlock.Create(data.Subset(order), encoding, scaling, null, order);
        EmbeddingShape embedding = FlowSetup.Embedding(options, train) ?? throw new InvalidOperationException("adult's numeric features are not embedded at the defaults.");
        var random = new Random(options.Seed);
        FlowSetup flow = FlowSetup.Create(options, d, train, BatchRows, random, embedding);
        int threads = Environment.ProcessorCount;
        var readout = new Objective(options.Kind, flow.Shape.Width, 2, options.NumberOfSupportPoints, threads, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, false);
        TrainingObjective Objective(ReadoutLoss? fused)
        {
            var flowObjective = new FlowObjective(readout, flow.Shape, options.FlowHorizon, options.FlowViscosity, threads, options.L2Regularisation) { Fused = fused };
            return new TrainingObjective(readout, train, options.Kind, 2, false, flowObjective);
        }

        ReadoutLoss loss = new(options.Kind, 2, options.NumberOfSupportPoints, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, false, SinglePrecision: false);
        generic = Objective(null);
        fusedDouble = Objective(loss);
        fusedSingle = Objective(loss with { SinglePrecision = true });
        parameters = new double[generic.ParameterCount];
        SupportInitialiser.Place(options, flow.Start, 2, options.NumberOfSupportPoints, parameters, random);
        flow.Parameters.CopyTo(parameters.AsSpan(readout.ParameterCount(false)));
        gradient = new double[parameters.Length];
        order = [.. Enumerable.Range(0, train.Rows)];
    }

    /// <summary>The objective's part of an epoch on the generic path (FlowPass, then the read-out's double Objective).</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("epoch")]
    public double GenericEpoch() => Epoch(generic);

    /// <summary>The same on the fused depth-0 path in double.</summary>
    [Benchmark]
    [BenchmarkCategory("epoch")]
    public double FusedDoubleEpoch() => Epoch(fusedDouble);

    /// <summary>The same on the fused depth-0 path in float32 (what Adam trains with).</summary>
    [Benchmark]
    [BenchmarkCategory("epoch")]
    public double FusedSingleEpoch() => Epoch(fusedSingle);

    /// <summary>HjMl's default training (the embedding, Adam, early stopping) through the engine.</summary>
    [Benchmark]
    [BenchmarkCategory("training")]
    public HopfColeModel HjMlTraining() => new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.BinaryClassification }).Fit(data);

    /// <summary>ML.NET's LightGbm at its catalog defaults on the same rows: the peer of <see cref="HjMlTraining"/>.</summary>
    [Benchmark]
    [BenchmarkCategory("training")]
    public ITransformer LightGbmTraining()
    {
        var definition = SchemaDefinition.Create(typeof(AdultRow));
        definition[nameof(AdultRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        IDataView rows = context.Data.LoadFromEnumerable(features.Select((row, i) => new AdultRow { Features = row, Label = labels[i] }), definition);
        return context.BinaryClassification.Trainers.LightGbm().Fit(rows);
    }

    private double Epoch(TrainingObjective objective)
    {
        double sum = 0;
        for (int first = 0; first + BatchRows <= order.Length; first += BatchRows)
        {
            sum += objective.Evaluate(parameters, 0.5, order.AsSpan(first, BatchRows), gradient);
        }

        return sum;
    }

    // adult.csv's first Rows rows: the 8 text columns one-hot encoded, concatenated with the 6 numbers, normalised.
    private static (float[][] Rows, bool[] Labels) Adult(MLContext context)
    {
        string path = Environment.GetEnvironmentVariable("HJML_ADULT_CSV") is { Length: > 0 } given
            ? given
            : Path.Combine(RepositoryData.Folder, "..", "..", "shared", "data", "adult.csv");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"adult.csv is not at '{path}'; set HJML_ADULT_CSV to its path.", path);
        }

        string[] header = File.ReadLines(path).First().Split(',');
        int[] text = [1, 3, 5, 6, 7, 8, 9, 13];
        var columns = Enumerable.Range(0, 14).Select(i => new TextLoader.Column(header[i], text.Contains(i) ? DataKind.String : DataKind.Single, i)).Append(new TextLoader.Column("Label", DataKind.Boolean, 14)).ToArray();
        IDataView raw = context.Data.TakeRows(context.Data.LoadFromTextFile(path, columns, separatorChar: ',', hasHeader: true), Rows);
        IDataView featurized = context.Transforms.Categorical.OneHotEncoding(text.Select(i => new InputOutputColumnPair(header[i])).ToArray())
            .Append(context.Transforms.Concatenate("Features", header[..14]))
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .Fit(raw)
            .Transform(raw);
        return (featurized.GetColumn<float[]>("Features").ToArray(), featurized.GetColumn<bool>("Label").ToArray());
    }

    /// <summary>An adult row: its features and label.</summary>
    public sealed class AdultRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
