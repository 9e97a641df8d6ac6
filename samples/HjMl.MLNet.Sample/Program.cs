// An ML.NET pipeline with HjMl: ML.NET's featurisers (mean-variance normalisation, then PCA whitening to the leading
// principal components), the Hopf–Cole binary trainer and its Gibbs attribution, trained on data/breast_cancer.csv,
// evaluated, saved as an ML.NET zip, loaded back (without HjMl: the zip holds ML.NET's OnnxTransformer) and used from a
// PredictionEngine that prints, per patient, the prediction and its top attributions.
//
// The whitening is ML.NET's VectorWhiten when built with -p:HjMlWithMkl=true (Microsoft.ML.Mkl.Components, from the
// public NuGet gallery); otherwise ML.NET's own PCA projection followed by mean-variance scaling, which whitens the same
// leading components. The sample prints which one it used.
//
// With "automl" (built with -p:HjMlWithAutoML=true, Microsoft.ML.AutoML from the public NuGet gallery), it lets ML.NET
// AutoML sweep the trainer's width and viscosity instead, printing every trial.
//
//   dotnet run --project samples/HjMl.MLNet.Sample -c Release [-- [automl] [path/to/breast_cancer.csv]]
using HjMl.MLNet;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;
#if HJML_WITH_MKL
using Microsoft.ML.Transforms;
#endif

bool automl = args.Contains("automl");
string[] paths = args.Where(arg => arg != "automl").ToArray();
string path = paths.Length > 0 ? paths[0] : Path.Combine(RepositoryRoot(), "data", "breast_cancer.csv");
string[] header = File.ReadLines(path).First().Split(',');
int dimension = header.Length - 1;
var context = new MLContext(seed: 1);
var loaderOptions = new TextLoader.Options
{
    Columns = [new TextLoader.Column("Features", DataKind.Single, 0, dimension - 1), new TextLoader.Column("Label", DataKind.Boolean, dimension)],
    Separators = [','],
    HasHeader = true,
};
var source = new MultiFileSource(path);
IDataView data = context.Data.CreateTextLoader(loaderOptions, source).Load(source);
DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);

if (automl)
{
#if HJML_WITH_AUTOML
    AutoMLSweep.Run(context, split);
    return 0;
#else
    Console.Error.WriteLine("The automl mode needs Microsoft.ML.AutoML from the public NuGet gallery: run the sample with -p:HjMlWithAutoML=true.");
    return 2;
#endif
}

// Featurisers (whitening keeps the leading principal components), then the trainer; the attribution transform is fitted on the trained model.
const int components = 10;
#if HJML_WITH_MKL
Console.WriteLine($"Whitening: VectorWhiten (PCA, rank {components}; Microsoft.ML.Mkl.Components)");
var whitening = context.Transforms.VectorWhiten("Features", kind: WhiteningKind.PrincipalComponentAnalysis, rank: components);
#else
// Projecting onto the leading principal components and scaling each to unit variance is PCA whitening.
Console.WriteLine($"Whitening: ProjectToPrincipalComponents (rank {components}) then NormalizeMeanVariance (VectorWhiten needs -p:HjMlWithMkl=true)");
var whitening = context.Transforms.ProjectToPrincipalComponents("Features", rank: components, seed: 1)
    .Append(context.Transforms.NormalizeMeanVariance("Features"));
#endif
var pipeline = context.Transforms.NormalizeMeanVariance("Features")
    .Append(whitening)
    .Append(context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 8, viscosity: 0.5));
var trained = pipeline.Fit(split.TrainSet);
HopfColePredictionTransformer hopfCole = trained.LastTransformer;
var attribution = context.Transforms.GibbsAttribution(hopfCole, topSupportPoints: 3).Fit(trained.Transform(split.TrainSet));
var model = trained.Append(attribution);

CalibratedBinaryClassificationMetrics metrics = context.BinaryClassification.Evaluate(model.Transform(split.TestSet));
Console.WriteLine($"Test rows: accuracy {metrics.Accuracy:F4}, AUC {metrics.AreaUnderRocCurve:F4}, log-loss {metrics.LogLoss:F4}");
Console.WriteLine($"Model: eps = {hopfCole.Model.Viscosity}, {hopfCole.Model.NumberOfSupportPoints} support points per head, best epoch {hopfCole.Model.BestEpoch}");

string zip = Path.Combine(Path.GetTempPath(), "hjml-breast-cancer.zip");
context.Model.Save(model, data.Schema, zip);
ITransformer loaded = new MLContext().Model.Load(zip, out _);
Console.WriteLine($"Saved and reloaded {zip} ({new FileInfo(zip).Length / 1024} KiB): {string.Join(" -> ", Stages(loaded).Select(stage => stage.GetType().Name))}");

// The support rows are rows of the training split, in the order the trainer read them.
bool[] trainingLabels = split.TrainSet.GetColumn<bool>("Label").ToArray();
var engine = context.Model.CreatePredictionEngine<Patient, Explained>(loaded);
foreach (var (patient, truth) in split.TestSet.GetColumn<float[]>("Features").Zip(split.TestSet.GetColumn<bool>("Label")).Take(5))
{
    Explained prediction = engine.Predict(new Patient { Features = patient });
    Console.WriteLine();
    Console.WriteLine($"Predicted {(prediction.PredictedLabel ? "benign" : "malignant")} (truth {(truth ? "benign" : "malignant")}), P(benign) = {prediction.Probability:F3}, margin {prediction.Score:F3}");
    Console.WriteLine($"  carried by training rows {string.Join(", ", prediction.TopSupportRows.Zip(prediction.TopSupportWeights, (row, weight) => $"{row} ({(trainingLabels[row] ? "benign" : "malignant")}, weight {weight:F3})"))}");
    Console.WriteLine($"  attribution entropy {prediction.AttributionEntropy:F3} nats (about {Math.Exp(prediction.AttributionEntropy):F1} effective support points)");
    var top = prediction.FeatureContributions.Select((value, k) => (Component: k + 1, Value: value)).OrderByDescending(pair => Math.Abs(pair.Value)).Take(3);
    Console.WriteLine($"  top contributions: {string.Join(", ", top.Select(pair => $"principal component {pair.Component} {pair.Value:+0.000;-0.000}"))}");
    Console.WriteLine($"  certified radius {prediction.CertifiedRadius:F3} (whitened, standardised units); out-of-support score {prediction.OutOfSupportScore:F2}{(prediction.OutOfSupport ? " (OUT OF SUPPORT)" : string.Empty)}");
}

File.Delete(zip);
return 0;

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

    public float CertifiedRadius { get; set; }

    public float OutOfSupportScore { get; set; }

    public bool OutOfSupport { get; set; }
}
