using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Attribution;

/// <summary>
/// Models with a flow of depth 4 and otherwise the trainer's default flow settings (the d standardised features, 32
/// support points per step, T = 1, eps = 1, per-step controls), trained once per test run on 80% of real data sets, with
/// their 20% test rows; and one lifted flow (width 2d) with shared controls.
/// </summary>
internal static class FlowModels
{
    private static readonly Lazy<(HopfColeModel, Dataset)> IrisModel = new(() => Train("iris.csv", ModelKind.MulticlassClassification));
    private static readonly Lazy<(HopfColeModel, Dataset)> BreastCancerModel = new(() => Train("breast_cancer.csv", ModelKind.BinaryClassification));
    private static readonly Lazy<(HopfColeModel, Dataset)> DiabetesModel = new(() => Train("diabetes.csv", ModelKind.Regression));
    private static readonly Lazy<(HopfColeModel, Dataset)> LiftedIrisModel = new(() => Train("iris.csv", ModelKind.MulticlassClassification, lifted: true));

    public static (HopfColeModel Model, Dataset Test) Iris => IrisModel.Value;

    public static (HopfColeModel Model, Dataset Test) BreastCancer => BreastCancerModel.Value;

    public static (HopfColeModel Model, Dataset Test) Diabetes => DiabetesModel.Value;

    public static (HopfColeModel Model, Dataset Test) LiftedIris => LiftedIrisModel.Value;

    public static (HopfColeModel Model, Dataset Test) Pick(string set) => set switch
    {
        "iris" => Iris,
        "breast_cancer" => BreastCancer,
        "diabetes" => Diabetes,
        _ => LiftedIris,
    };

    private static (HopfColeModel, Dataset) Train(string file, ModelKind kind, bool lifted = false)
    {
        Dataset data = TestData.Load(file);
        int[] order = data.ShuffledRows(7);
        int test = data.Rows / 5;
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = 8,
            Depth = 4,
            FlowWidth = lifted ? 2 * data.Columns : 0,
            SharedFlowControls = lifted,
            Seed = 2,
            MaximumEpochs = 60,
            Optimizer = Optimizer.Adam, // the mini-batch models these explanation tests were written on
            LearningRate = 0.001, // and their learning rate, from before LearningRate Automatic
            MaximumDegreeOfParallelism = 2,
        };
        return (new HopfColeTrainer(options).Fit(data.Subset(order[test..])), data.Subset(order[..test]));
    }
}
