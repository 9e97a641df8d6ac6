// The README's first code: an ML.NET pipeline with HjMl on data/breast_cancer.csv. Load the CSV, featurise, train the
// Hopf–Cole binary trainer, explain every prediction in the same chain, evaluate, save atomically, load back (with HjMl's
// own kernels; plain Model.Load works without any HjMl assembly) and predict one patient with the explanation.
//
// "whiten" puts PCA whitening before the trainer: ML.NET's VectorWhiten when built with -p:HjMlWithMkl=true
// (Microsoft.ML.Mkl.Components, from the public NuGet gallery), otherwise ML.NET's own PCA projection followed by
// mean-variance scaling, which whitens the same leading components; the sample prints which one it used.
// "automl" (built with -p:HjMlWithAutoML=true, Microsoft.ML.AutoML from the public NuGet gallery) lets ML.NET AutoML
// sweep the trainer's width and viscosity instead, printing every trial.
//
//   dotnet run --project samples/HjMl.MLNet.Sample -c Release [-- [whiten|automl] [path/to/breast_cancer.csv]]
using HjMl.MLNet;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using Microsoft.ML;
using Microsoft.ML.Data;
#if HJML_WITH_MKL
using Microsoft.ML.Transforms;
#endif

string mode = args.FirstOrDefault(arg => arg is "whiten" or "automl") ?? "explain";
string path = args.FirstOrDefault(arg => arg is not ("whiten" or "automl")) ?? Path.Combine(RepositoryRoot(), "data", "breast_cancer.csv");

// 1. Load: 30 measurements per patient and a Boolean label, benign = true.
var mlContext = new MLContext(seed: 1);
IDataView data = mlContext.Data.LoadFromTextFile(path, [new TextLoader.Column("Features", DataKind.Single, 0, 29), new TextLoader.Column("Label", DataKind.Boolean, 30)], separatorChar: ',', hasHeader: true);
DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);

if (mode == "automl")
{
#if HJML_WITH_AUTOML
    AutoMLSweep.Run(mlContext, split);
    return 0;
#else
    Console.Error.WriteLine("The automl mode needs Microsoft.ML.AutoML from the public NuGet gallery: run the sample with -p:HjMlWithAutoML=true.");
    return 2;
#endif
}

// 2. One chain: featurise, train, explain (GibbsAttribution finds the trained model at Fit).
IEstimator<ITransformer> features = mlContext.Transforms.NormalizeMeanVariance("Features");
if (mode == "whiten")
{
    features = features.Append(Whitening(mlContext, components: 10));
}

var pipeline = features
    .Append(mlContext.BinaryClassification.Trainers.HopfCole())
    .Append(mlContext.Transforms.GibbsAttribution(topSupportPoints: 3));
var model = pipeline.Fit(split.TrainSet);

// 3. Evaluate on the held-out quarter.
CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet));
Console.WriteLine($"Test rows: accuracy {metrics.Accuracy:F4}, AUC {metrics.AreaUnderRocCurve:F4}, log-loss {metrics.LogLoss:F4}");

// 4. Save (a failed save leaves any old file intact) and load back with HjMl's kernels.
string zip = Path.Combine(Path.GetTempPath(), "hjml-breast-cancer.zip");
mlContext.Model.SaveAtomically(model, data.Schema, zip);
ITransformer loaded = mlContext.Model.LoadWithHopfCole(zip, out _);
Console.WriteLine($"Saved {new FileInfo(zip).Length / 1024} KiB; loaded back as {string.Join(" -> ", Stages(loaded).Select(stage => stage.GetType().Name))}");

// 5. Predict one patient with the explanation: contributions, with ScoreTerms, sum to the margin exactly.
string[] names = File.ReadLines(path).First().Split(',')[..30];
var engine = mlContext.Model.CreatePredictionEngine<Patient, Explained>(loaded);
float[] patient = split.TestSet.GetColumn<float[]>("Features").First();
Explained prediction = engine.Predict(new Patient { Features = patient });
Console.WriteLine($"Patient 1: {(prediction.PredictedLabel ? "benign" : "malignant")}, P(benign) = {prediction.Probability:F3}, margin {prediction.Score:F3}");
Console.WriteLine($"  margin = features {prediction.FeatureContributions.Sum():F3} + bias {prediction.ScoreTerms[1]:F3} + eps·H {prediction.ScoreTerms[2]:F3}");
foreach (var (name, value) in names.Zip(prediction.FeatureContributions).OrderByDescending(pair => Math.Abs(pair.Second)).Take(3))
{
    Console.WriteLine($"  {name,-22} {value:+0.000;-0.000}");
}

Console.WriteLine($"  carried by training rows {string.Join(", ", prediction.TopSupportRows.Zip(prediction.TopSupportWeights, (row, weight) => $"{row} ({weight:P0})"))}; {Math.Exp(prediction.AttributionEntropy):F1} effective support points");
Console.WriteLine($"  certified radius {prediction.CertifiedRadius:F3} (standardised units); {(prediction.OutOfSupport ? "OUT OF SUPPORT" : "in support")} (score {prediction.OutOfSupportScore:F2})");
File.Delete(zip);
return 0;

static IEstimator<ITransformer> Whitening(MLContext mlContext, int components)
{
#if HJML_WITH_MKL
    Console.WriteLine($"Whitening: VectorWhiten (PCA, rank {components}; Microsoft.ML.Mkl.Components)");
    return mlContext.Transforms.VectorWhiten("Features", kind: WhiteningKind.PrincipalComponentAnalysis, rank: components);
#else
    // Projecting onto the leading principal components and scaling each to unit variance is PCA whitening.
    Console.WriteLine($"Whitening: ProjectToPrincipalComponents (rank {components}) then NormalizeMeanVariance (VectorWhiten needs -p:HjMlWithMkl=true)");
    return mlContext.Transforms.ProjectToPrincipalComponents("Features", rank: components, seed: 1)
        .Append(mlContext.Transforms.NormalizeMeanVariance("Features"));
#endif
}

static IEnumerable<ITransformer> Stages(ITransformer transformer)
    => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Stages) : [transformer];

static string RepositoryRoot()
{
    for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
    {
        if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
        {
            return folder.FullName;
        }
    }

    throw new InvalidOperationException("Pass the path of breast_cancer.csv: no folder above the sample holds HjMl.sln.");
}

/// <summary>One patient's 30 measurements.</summary>
internal sealed class Patient
{
    [VectorType(30)]
    public float[] Features { get; set; } = [];
}

/// <summary>The prediction and its explanation.</summary>
internal sealed class Explained
{
    public float Score { get; set; }

    public float Probability { get; set; }

    public bool PredictedLabel { get; set; }

    public float[] TopSupportWeights { get; set; } = [];

    public long[] TopSupportRows { get; set; } = [];

    public float AttributionEntropy { get; set; }

    public float[] FeatureContributions { get; set; } = [];

    public float[] ScoreTerms { get; set; } = [];

    public float CertifiedRadius { get; set; }

    public float OutOfSupportScore { get; set; }

    public bool OutOfSupport { get; set; }
}
