using System.Globalization;
using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Persistence;
using HjMl.Tests.Support;
using HjMl.Training;
using Xunit.Abstractions;

namespace HjMl.Tests.Onnx;

/// <summary>
/// Every exported graph runs in ONNX Runtime (Microsoft.ML.OnnxRuntime, in process) on rows of real data and must
/// reproduce HjMl's own outputs for the same float32 inputs: values within 1e-5 relative to max(1, |value|), and
/// identical predicted labels.
/// </summary>
public sealed class OnnxRuntimeTests(OnnxRuntimeFixture runtime, ITestOutputHelper log) : IClassFixture<OnnxRuntimeFixture>
{
    private const double Tolerance = 1e-5;

    public static TheoryData<double> Viscosities => [0.0, 0.05, 0.5, 5.0];

    [Theory]
    [MemberData(nameof(Viscosities))]
    public void RegressionExportMatchesHjMlInOnnxRuntime(double viscosity)
    {
        Dataset data = TestData.Load("diabetes.csv");
        HopfColeModel model = PrototypeModels.Regression(data, pieces: 80, viscosity, time: 0.5);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        Assert.Equal([OnnxExport.ScoreName], result.Outputs.Keys);
        AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], rows.Select(row => model.Score(row)));
    }

    [Theory]
    [MemberData(nameof(Viscosities))]
    public void BinaryExportMatchesHjMlInOnnxRuntime(double viscosity)
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 30, viscosity);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        Prediction[] expected = rows.Select(row => model.Predict(row)).ToArray();
        Assert.Equal([OnnxExport.ScoreName, OnnxExport.ProbabilityName, OnnxExport.PredictedLabelName], result.Outputs.Keys);
        AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], expected.Select(prediction => prediction.Score));
        AssertTensor(result, OnnxExport.ProbabilityName, "float32", [rows.Length], expected.Select(prediction => prediction.Probability));
        AssertLabels(result, OnnxExport.PredictedLabelName, "bool", expected.Select(prediction => (double)prediction.ClassIndex));
    }

    [Theory]
    [InlineData("iris.csv", 10, 0.0)]
    [InlineData("iris.csv", 10, 0.05)]
    [InlineData("iris.csv", 10, 2.0)]
    [InlineData("digits.csv", 25, 0.0)]
    [InlineData("digits.csv", 25, 0.5)]
    [InlineData("digits.csv", 25, 5.0)]
    public void MulticlassExportMatchesHjMlInOnnxRuntime(string file, int perClass, double viscosity)
    {
        Dataset data = TestData.Load(file);
        HopfColeModel model = PrototypeModels.Classifier(data, perClass, viscosity, time: 1.5);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        int classes = model.NumberOfClasses;
        var scores = new double[rows.Length * classes];
        var probabilities = new double[rows.Length * classes];
        var predictions = new Prediction[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            model.Score(rows[i], scores.AsSpan(i * classes, classes));
            predictions[i] = model.Interpret(scores.AsSpan(i * classes, classes), probabilities.AsSpan(i * classes, classes));
        }

        Assert.Equal(
            [OnnxExport.ScoreName, OnnxExport.ClassScoresName, OnnxExport.PredictedLabelName, OnnxExport.PredictedClassIndexName],
            result.Outputs.Keys);
        AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length, classes], probabilities);
        AssertTensor(result, OnnxExport.ClassScoresName, "float32", [rows.Length, classes], scores);
        AssertLabels(result, OnnxExport.PredictedLabelName, "float32", predictions.Select(prediction => prediction.PredictedLabel));
        AssertLabels(result, OnnxExport.PredictedClassIndexName, "int64", predictions.Select(prediction => (double)prediction.ClassIndex));
    }

    [Theory]
    [InlineData("diabetes.csv", ModelKind.Regression)]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification)]
    public void TrainedModelSavedAndLoadedMatchesInOnnxRuntime(string file, ModelKind kind)
    {
        Dataset data = TestData.Load(file);
        var options = new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = 16, MaximumEpochs = 15, Seed = 3, MaximumDegreeOfParallelism = 1 };
        HopfColeModel trained = new HopfColeTrainer(options).Fit(data);
        using var stream = new MemoryStream();
        ModelFile.Save(trained, stream);
        stream.Position = 0;
        HopfColeModel model = ModelFile.Load(stream);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        int outputs = model.OutputLength;
        var scores = new double[rows.Length * outputs];
        var probabilities = new double[rows.Length * outputs];
        var predictions = new Prediction[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            model.Score(rows[i], scores.AsSpan(i * outputs, outputs));
            predictions[i] = model.Interpret(scores.AsSpan(i * outputs, outputs), probabilities.AsSpan(i * outputs, outputs));
        }

        switch (kind)
        {
            case ModelKind.Regression:
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], scores);
                break;
            case ModelKind.BinaryClassification:
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], scores);
                AssertTensor(result, OnnxExport.ProbabilityName, "float32", [rows.Length], predictions.Select(prediction => prediction.Probability));
                AssertLabels(result, OnnxExport.PredictedLabelName, "bool", predictions.Select(prediction => (double)prediction.ClassIndex));
                break;
            default:
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length, outputs], probabilities);
                AssertTensor(result, OnnxExport.ClassScoresName, "float32", [rows.Length, outputs], scores);
                AssertLabels(result, OnnxExport.PredictedLabelName, "float32", predictions.Select(prediction => prediction.PredictedLabel));
                break;
        }
    }

    [Theory]
    [InlineData("diabetes.csv", ModelKind.Regression, 3, 16, false)]
    [InlineData("diabetes.csv", ModelKind.Regression, 2, 0, true)]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 2, 0, false)]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 3, 40, true)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification, 3, 8, false)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification, 4, 0, true)]
    [InlineData("digits.csv", ModelKind.MulticlassClassification, 2, 0, false)]
    public void TrainedFlowModelMatchesFloatScoringInOnnxRuntime(string file, ModelKind kind, int depth, int flowWidth, bool sharedControls)
    {
        Dataset data = TestData.Load(file);
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = 8,
            Depth = depth,
            FlowWidth = flowWidth,
            FlowSupportPoints = 8,
            SharedFlowControls = sharedControls,
            MaximumEpochs = 8,
            Optimizer = Optimizer.Adam, // mini-batch epochs that move the flow (8 L-BFGS iterations barely would)
            Seed = 5,
            MaximumDegreeOfParallelism = 1,
        };
        HopfColeModel model = new HopfColeTrainer(options).Fit(data);
        Assert.Equal(depth, model.Depth);
        Assert.Equal(flowWidth > 0, model.Flow!.Shape.Lifted);
        AssertTheFlowMoves(model, data);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        int outputs = model.OutputLength;
        var scores = new float[rows.Length * outputs];
        var probabilities = new double[rows.Length * outputs];
        var predictions = new Prediction[rows.Length];
        var wide = new double[outputs];
        for (int i = 0; i < rows.Length; i++)
        {
            float[] row = rows[i].Select(value => (float)value).ToArray();
            model.Score(row, scores.AsSpan(i * outputs, outputs));
            model.Score(rows[i], wide);
            predictions[i] = model.Interpret(wide, probabilities.AsSpan(i * outputs, outputs));
        }

        IEnumerable<double> expectedScores = scores.Select(score => (double)score);
        switch (kind)
        {
            case ModelKind.Regression:
                Assert.Equal([OnnxExport.ScoreName], result.Outputs.Keys);
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], expectedScores);
                break;
            case ModelKind.BinaryClassification:
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length], expectedScores);
                AssertTensor(result, OnnxExport.ProbabilityName, "float32", [rows.Length], predictions.Select(prediction => prediction.Probability));
                AssertLabels(result, OnnxExport.PredictedLabelName, "bool", predictions.Select(prediction => (double)prediction.ClassIndex));
                break;
            default:
                AssertTensor(result, OnnxExport.ScoreName, "float32", [rows.Length, outputs], probabilities);
                AssertTensor(result, OnnxExport.ClassScoresName, "float32", [rows.Length, outputs], expectedScores);
                AssertLabels(result, OnnxExport.PredictedLabelName, "float32", predictions.Select(prediction => prediction.PredictedLabel));
                AssertLabels(result, OnnxExport.PredictedClassIndexName, "int64", predictions.Select(prediction => (double)prediction.ClassIndex));
                break;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(300)]
    public void BatchDimensionIsDynamic(int batch)
    {
        Dataset data = TestData.Load("digits.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 8, viscosity: 0.3);
        double[][] rows = Float32Rows(data, Enumerable.Range(100, batch).ToArray(), out float[] features);
        RuntimeResult result = runtime.Run(OnnxExport.ToBytes(model), features, batch, data.Columns);
        var scores = new double[batch * model.NumberOfClasses];
        for (int i = 0; i < batch; i++)
        {
            model.Score(rows[i], scores.AsSpan(i * model.NumberOfClasses, model.NumberOfClasses));
        }

        AssertTensor(result, OnnxExport.ClassScoresName, "float32", [batch, model.NumberOfClasses], scores);
    }

    [Fact]
    public void SeveralRuntimeThreadsGiveTheSameOutputs()
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 40, viscosity: 0.2);
        byte[] onnx = OnnxExport.ToBytes(model);
        Float32Rows(data, Enumerable.Range(0, data.Rows).ToArray(), out float[] features);
        RuntimeResult one = runtime.Run(onnx, features, data.Rows, data.Columns, intraOpThreads: 1);
        RuntimeResult two = runtime.Run(onnx, features, data.Rows, data.Columns, intraOpThreads: 2);
        AssertTensor(two, OnnxExport.ScoreName, "float32", [data.Rows], one.Outputs[OnnxExport.ScoreName].Values);
        Assert.Equal(one.Outputs[OnnxExport.PredictedLabelName].Values, two.Outputs[OnnxExport.PredictedLabelName].Values);
    }

    [Fact]
    public void TinyViscosityStaysFiniteAndMatchesInOnnxRuntime()
    {
        // At eps = 1e-30 an unshifted exp(z / eps) would overflow for every nonzero logit; the shifted graph stays finite.
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 10, viscosity: 1e-30);
        RuntimeResult result = RunAll(model, data, out double[][] rows);
        Assert.All(result.Outputs[OnnxExport.ClassScoresName].Values, value => Assert.True(double.IsFinite(value)));
        var scores = new double[rows.Length * 3];
        for (int i = 0; i < rows.Length; i++)
        {
            model.Score(rows[i], scores.AsSpan(i * 3, 3));
        }

        AssertTensor(result, OnnxExport.ClassScoresName, "float32", [rows.Length, 3], scores);
    }

    [Fact]
    public void RuntimeSeesOneFeaturesInputAndIsThePinnedVersion()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 2, viscosity: 0.1);
        RuntimeResult result = RunAll(model, data, out _);
        Assert.Equal([OnnxExport.FeaturesName], result.InputNames);
        Assert.Equal(OnnxRuntimeFixture.PinnedVersion, result.RuntimeVersion);
    }

    // Training moved the state: z_L differs from z_0, so the exported steps are exercised, not identities.
    private static void AssertTheFlowMoves(HopfColeModel model, Dataset data)
    {
        GibbsFlow flow = model.Flow!;
        int m = flow.Width;
        var standardised = new double[model.InputDimension];
        var states = new double[(flow.Shape.Steps + 1) * m];
        double largest = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            model.Scaling.Apply(data.Row(row), standardised);
            flow.Trajectory(standardised, states);
            largest = Math.Max(largest, TensorPrimitives.Distance(states.AsSpan(0, m), states.AsSpan(flow.Shape.Steps * m, m)));
        }

        Assert.True(largest > 1e-2, $"the flow moves no row by more than {largest}");
    }

    private RuntimeResult RunAll(HopfColeModel model, Dataset data, out double[][] rows)
    {
        rows = Float32Rows(data, Enumerable.Range(0, data.Rows).ToArray(), out float[] features);
        return runtime.Run(OnnxExport.ToBytes(model), features, data.Rows, data.Columns);
    }

    /// <summary>The rows as float32 (what the graph receives) and the same values widened back to double (what HjMl scores).</summary>
    private static double[][] Float32Rows(Dataset data, int[] rows, out float[] features)
    {
        int d = data.Columns;
        features = new float[rows.Length * d];
        var widened = new double[rows.Length][];
        for (int i = 0; i < rows.Length; i++)
        {
            widened[i] = new double[d];
            for (int k = 0; k < d; k++)
            {
                features[(i * d) + k] = (float)data.Row(rows[i])[k];
                widened[i][k] = features[(i * d) + k];
            }
        }

        return widened;
    }

    private void AssertTensor(RuntimeResult result, string name, string type, long[] dims, IEnumerable<double> expected)
    {
        RuntimeTensor tensor = result.Outputs[name];
        Assert.Equal(type, tensor.Type);
        Assert.Equal(dims, tensor.Dims);
        double[] wanted = expected.ToArray();
        Assert.Equal(wanted.Length, tensor.Values.Length);
        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < wanted.Length; i++)
        {
            double error = Math.Abs(tensor.Values[i] - wanted[i]) / Math.Max(1, Math.Abs(wanted[i]));
            if (!(error <= worst))
            {
                worst = error;
                worstIndex = i;
            }
        }

        log.WriteLine($"{name}: max relative difference {worst.ToString("0.00e+0", CultureInfo.InvariantCulture)} over {wanted.Length} values");
        Assert.True(
            worst <= Tolerance,
            $"{name}[{worstIndex}]: ONNX Runtime gave {tensor.Values[Math.Max(0, worstIndex)]}, HjMl {wanted[Math.Max(0, worstIndex)]}; relative difference {worst} > {Tolerance}.");
    }

    private static void AssertLabels(RuntimeResult result, string name, string type, IEnumerable<double> expected)
    {
        RuntimeTensor tensor = result.Outputs[name];
        Assert.Equal(type, tensor.Type);
        double[] wanted = expected.Select(value => (double)(float)value).ToArray();
        Assert.Equal(wanted.Length, tensor.Dims.Single());
        int[] different = Enumerable.Range(0, wanted.Length).Where(i => tensor.Values[i] != wanted[i]).ToArray();
        Assert.True(different.Length == 0, $"{name}: {different.Length} rows differ, first row {different.FirstOrDefault()} (ONNX Runtime {tensor.Values[different.FirstOrDefault()]}, HjMl {wanted[different.FirstOrDefault()]}).");
    }
}
