using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Attribution;

/// <summary>Models trained once on 80% of real data sets, with their 20% test rows, shared by the explanation tests.</summary>
public sealed class ExplainerFixture
{
    public ExplainerFixture()
    {
        BreastCancer = Train("breast_cancer.csv", ModelKind.BinaryClassification, 8);
        Digits = Train("digits.csv", ModelKind.MulticlassClassification, 6);
        Diabetes = Train("diabetes.csv", ModelKind.Regression, 16, viscosity: 2);
    }

    public (HopfColeModel Model, Dataset Train, Dataset Test) BreastCancer { get; }

    public (HopfColeModel Model, Dataset Train, Dataset Test) Digits { get; }

    public (HopfColeModel Model, Dataset Train, Dataset Test) Diabetes { get; }

    private static (HopfColeModel, Dataset, Dataset) Train(string file, ModelKind kind, int width, double viscosity = 0.5)
    {
        Dataset data = TestData.Load(file);
        int[] order = data.ShuffledRows(5);
        int test = data.Rows / 5;
        Dataset train = data.Subset(order[test..]);
        var options = new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = width, Viscosity = viscosity, Seed = 2, MaximumEpochs = 60 };
        return (new HopfColeTrainer(options).Fit(train), train, data.Subset(order[..test]));
    }
}
