using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Embeddings;

/// <summary>
/// Models whose flow starts with the periodic embedding (FeatureEmbedding Periodic, the trainer's default K and e),
/// trained once per test run on 80% of real data sets, with their 20% test rows: breast_cancer (every feature numeric,
/// embedded) at depth 0 (the embedding alone before the read-out) and depth 2, and diabetes (its binary feature passed
/// through) at depth 2.
/// </summary>
internal static class EmbeddedModels
{
    private static readonly Lazy<(HopfColeModel, Dataset)> BreastCancerAlone = new(() => Train("breast_cancer.csv", ModelKind.BinaryClassification, 0));
    private static readonly Lazy<(HopfColeModel, Dataset)> BreastCancerDeep = new(() => Train("breast_cancer.csv", ModelKind.BinaryClassification, 2));
    private static readonly Lazy<(HopfColeModel, Dataset)> DiabetesDeep = new(() => Train("diabetes.csv", ModelKind.Regression, 2));

    /// <summary>"breast_cancer_0", "breast_cancer_2" or "diabetes_2": data set and depth.</summary>
    public static (HopfColeModel Model, Dataset Test) Pick(string name) => name switch
    {
        "breast_cancer_0" => BreastCancerAlone.Value,
        "breast_cancer_2" => BreastCancerDeep.Value,
        "diabetes_2" => DiabetesDeep.Value,
        _ => throw new ArgumentException($"No embedded test model is named {name}.", nameof(name)),
    };

    private static (HopfColeModel, Dataset) Train(string file, ModelKind kind, int depth)
    {
        Dataset data = TestData.Load(file);
        int[] order = data.ShuffledRows(7);
        int test = data.Rows / 5;
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = 8,
            Depth = depth,
            FeatureEmbedding = FeatureEmbedding.Periodic,
            Seed = 2,
            MaximumEpochs = 40,
            MaximumDegreeOfParallelism = 2,
        };
        return (new HopfColeTrainer(options).Fit(data.Subset(order[test..])), data.Subset(order[..test]));
    }
}
