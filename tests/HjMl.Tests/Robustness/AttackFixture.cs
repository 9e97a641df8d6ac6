using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Robustness;

/// <summary>Classifiers trained once on 80% of iris (three classes) and breast_cancer (two), with their 20% test rows.</summary>
public sealed class AttackFixture
{
    public AttackFixture()
    {
        Iris = Train("iris.csv", ModelKind.MulticlassClassification, 4);
        BreastCancer = Train("breast_cancer.csv", ModelKind.BinaryClassification, 8);
    }

    public (HopfColeModel Model, Dataset Test) Iris { get; }

    public (HopfColeModel Model, Dataset Test) BreastCancer { get; }

    public (HopfColeModel Model, Dataset Test) Pick(string set) => set == "iris" ? Iris : BreastCancer;

    private static (HopfColeModel, Dataset) Train(string file, ModelKind kind, int width)
    {
        Dataset data = TestData.Load(file);
        int[] order = data.ShuffledRows(11);
        int test = data.Rows / 5;
        var options = new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = width, Viscosity = 0.5, Seed = 4, MaximumEpochs = 60 };
        return (new HopfColeTrainer(options).Fit(data.Subset(order[test..])), data.Subset(order[..test]));
    }
}
