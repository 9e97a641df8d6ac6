using HjMl.Flows;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using HjMl.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Trainers;

public class TrainerTests
{
    [Fact]
    public void RegressionTrainerEvaluatesOnDiabetesWithRSquaredAboveAThird()
    {
        var context = new MLContext(seed: 1);
        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(MLNetData.Diabetes(context), testFraction: 0.25, seed: 1);
        HopfColePredictionTransformer model = context.Regression.Trainers.HopfCole(numberOfSupportPoints: 8, viscosity: 0.5).Fit(split.TrainSet);

        RegressionMetrics metrics = context.Regression.Evaluate(model.Transform(split.TestSet));

        Assert.True(metrics.RSquared > 0.33, $"R² = {metrics.RSquared}");
        Assert.Equal(ModelKind.Regression, model.Kind);
    }

    [Fact]
    public void BinaryTrainerCrossValidatesOnBreastCancerWithMeanAccuracyAboveNinetyFivePercent()
    {
        var context = new MLContext(seed: 1);
        var folds = context.BinaryClassification.CrossValidate(MLNetData.BreastCancer(context), context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 8), numberOfFolds: 5);

        double accuracy = folds.Average(fold => fold.Metrics.Accuracy);
        double auc = folds.Average(fold => fold.Metrics.AreaUnderRocCurve);

        Assert.True(accuracy > 0.95, $"mean accuracy = {accuracy}");
        Assert.True(auc > 0.98, $"mean AUC = {auc}");
    }

    [Fact]
    public void MulticlassTrainerEvaluatesOnIrisWithMicroAccuracyAboveNinetyPercent()
    {
        var context = new MLContext(seed: 1);
        DataOperationsCatalog.TrainTestData split = context.Data.TrainTestSplit(MLNetData.Iris(context), testFraction: 0.3, seed: 1);
        HopfColePredictionTransformer model = context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4).Fit(split.TrainSet);

        MulticlassClassificationMetrics metrics = context.MulticlassClassification.Evaluate(model.Transform(split.TestSet));

        Assert.True(metrics.MicroAccuracy > 0.9, $"micro accuracy = {metrics.MicroAccuracy}");
    }

    [Fact]
    public void EnsembleMembersReachTheEngineAsOnePooledLayerAndAreRefusedWithAFlow()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        var options = new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10, EnsembleMembers = 3 };
        HopfColePredictionTransformer model = context.MulticlassClassification.Trainers.HopfCole(options).Fit(iris);
        Assert.Equal(3 * 4, model.Model.Model.Layer.NumberOfPieces);

        options.Depth = 2;
        Assert.Contains("EnsembleMembers", Assert.Throws<ArgumentException>(() => context.MulticlassClassification.Trainers.HopfCole(options)).Message);
    }

    [Fact]
    public void MulticlassOutputsAreClassProbabilitiesNamedByKeyValuesAndTheLabelsKeyType()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Iris(context);
        HopfColePredictionTransformer model = context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 20).Fit(iris);

        DataViewSchema schema = model.GetOutputSchema(iris.Schema);
        DataViewSchema.Column score = schema["Score"];
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        score.GetSlotNames(ref slotNames);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        Assert.Equal(["0", "1", "2"], slotNames.DenseValues().Select(name => name.ToString()));
        Assert.Equal(iris.Schema["Label"].Type, schema["PredictedLabel"].Type);
        Assert.True(schema["PredictedLabel"].HasKeyValues(NumberDataViewType.Single));
        foreach (VBuffer<float> probabilities in model.Transform(iris).GetColumn<VBuffer<float>>("Score"))
        {
            Assert.Equal(1.0, probabilities.DenseValues().Sum(), 5);
        }
    }

    [Fact]
    public void NativeScoresAreTheHjMlModelsDoublePrecisionScoresRoundedToFloat()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(data);

        IDataView scored = model.Transform(data);
        float[] scores = MLNetData.Floats(scored, "Score");
        float[] probabilities = MLNetData.Floats(scored, "Probability");
        bool[] predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        float[][] rows = data.GetColumn<float[]>("Features").ToArray();
        for (int row = 0; row < rows.Length; row++)
        {
            double[] features = rows[row].Select(value => (double)value).ToArray();
            HjMl.Models.Prediction expected = model.Model.Model.Predict(features);
            Assert.Equal((float)expected.Score, scores[row]);
            Assert.Equal((float)expected.Probability, probabilities[row]);
            Assert.Equal(expected.ClassIndex == 1, predicted[row]);
        }
    }

    [Fact]
    public void PredictionEngineGivesTheSamePredictionsAsTransform()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        ITransformer model = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(data);
        PredictionEngine<BreastCancerRow, BinaryPrediction> engine = context.Model.CreatePredictionEngine<BreastCancerRow, BinaryPrediction>(model);

        float[] scores = MLNetData.Floats(model.Transform(data), "Score");
        float[][] rows = data.GetColumn<float[]>("Features").ToArray();
        for (int row = 0; row < rows.Length; row += 7)
        {
            BinaryPrediction prediction = engine.Predict(new BreastCancerRow { Features = rows[row] });
            Assert.Equal(scores[row], prediction.Score);
            Assert.Equal(prediction.Score > 0, prediction.PredictedLabel);
        }
    }

    [Fact]
    public void PlattCalibratorFollowsTheBinaryTrainer()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.BreastCancer(context);
        var pipeline = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10)
            .Append(context.BinaryClassification.Calibrators.Platt());

        ITransformer model = pipeline.Fit(data);
        CalibratedBinaryClassificationMetrics metrics = context.BinaryClassification.Evaluate(model.Transform(data));

        Assert.True(metrics.LogLoss < 0.3, $"log-loss after Platt = {metrics.LogLoss}");
        Assert.True(metrics.Accuracy > 0.9, $"accuracy = {metrics.Accuracy}");
    }

    [Fact]
    public void PermutationFeatureImportanceRanksEveryFeatureForEachTask()
    {
        var context = new MLContext(seed: 1);
        IDataView diabetes = MLNetData.Diabetes(context);
        HopfColePredictionTransformer regression = context.Regression.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(diabetes);
        IDataView cancer = MLNetData.BreastCancer(context);
        HopfColePredictionTransformer binary = context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(cancer);
        IDataView iris = MLNetData.Iris(context);
        HopfColePredictionTransformer multiclass = context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10).Fit(iris);

        var regressionImportance = context.Regression.PermutationFeatureImportance(regression, diabetes);
        var binaryImportance = context.BinaryClassification.PermutationFeatureImportance(binary, cancer);
        var multiclassImportance = context.MulticlassClassification.PermutationFeatureImportance(multiclass, iris);

        Assert.Equal(10, regressionImportance.Length);
        Assert.Equal(30, binaryImportance.Length);
        Assert.Equal(4, multiclassImportance.Length);

        // Permuting the petal measurements (features 2 and 3) must cost iris accuracy: they separate the species.
        Assert.True(multiclassImportance.Skip(2).Max(metric => -metric.MicroAccuracy.Mean) > 0.05);
    }

    [Fact]
    public void TrainingIsDeterministicForASeed()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Diabetes(context);
        var options = new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 15, Seed = 7, MaximumDegreeOfParallelism = 1 };

        float[] first = MLNetData.Floats(context.Regression.Trainers.HopfCole(options).Fit(data).Transform(data), "Score");
        float[] second = MLNetData.Floats(context.Regression.Trainers.HopfCole(options).Fit(data).Transform(data), "Score");

        Assert.Equal(first, second);
    }

    [Fact]
    public void TrainerReadsFeatureNamesFromSlotNames()
    {
        var context = new MLContext(seed: 1);
        HopfColePredictionTransformer model = context.Regression.Trainers.HopfCole(numberOfSupportPoints: 2, maximumEpochs: 1).Fit(MLNetData.Diabetes(context));

        Assert.Equal(MLNetData.Header("diabetes.csv")[..^1], model.Model.FeatureNames);
    }

    [Fact]
    public void EstimatorOutputShapeAddsTheTasksPredictionColumns()
    {
        var context = new MLContext(seed: 1);
        IDataView cancer = MLNetData.BreastCancer(context);
        SchemaShape shape = SchemaShapeOf(cancer);

        SchemaShape output = context.BinaryClassification.Trainers.HopfCole().GetOutputSchema(shape);

        Assert.Contains(output, column => column.Name == "Score" && column.ItemType == NumberDataViewType.Single && column.Kind == SchemaShape.Column.VectorKind.Scalar);
        Assert.Contains(output, column => column.Name == "Probability" && column.ItemType == NumberDataViewType.Single);
        Assert.Contains(output, column => column.Name == "PredictedLabel" && column.ItemType == BooleanDataViewType.Instance);
    }

    [Fact]
    public void MissingFeatureColumnIsReportedByName()
    {
        var context = new MLContext(seed: 1);
        var trainer = context.Regression.Trainers.HopfCole(featureColumnName: "Inputs");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(MLNetData.Diabetes(context)));

        Assert.Contains("'Inputs'", error.Message);
    }

    [Fact]
    public void FloatLabelIsRejectedByTheMulticlassTrainerNamingTheColumn()
    {
        var context = new MLContext(seed: 1);
        IDataView iris = MLNetData.Load(context, "iris.csv", DataKind.Single);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => context.MulticlassClassification.Trainers.HopfCole().Fit(iris));

        Assert.Contains("'Label'", error.Message);
        Assert.Contains("MapValueToKey", error.Message);
    }

    [Fact]
    public void NaNFeatureIsRejectedNamingRowAndSlot()
    {
        var context = new MLContext(seed: 1);
        var rows = new[] { new RegressionRow { Features = [1, 2], Label = 1 }, new RegressionRow { Features = [float.NaN, 2], Label = 2 }, new RegressionRow { Features = [3, 1], Label = 0 } };
        IDataView data = context.Data.LoadFromEnumerable(rows);

        var error = Assert.Throws<ArgumentException>(() => context.Regression.Trainers.HopfCole(numberOfSupportPoints: 1).Fit(data));

        Assert.Contains("Row 2", error.Message);
        Assert.Contains("slot 0", error.Message);
    }

    [Fact]
    public void InvalidOptionIsRejectedWhenTheTrainerIsCreated()
    {
        var context = new MLContext(seed: 1);

        var error = Assert.Throws<ArgumentException>(() => context.BinaryClassification.Trainers.HopfCole(viscosity: -1));

        Assert.Contains("Viscosity", error.Message);
    }

    [Fact]
    public void FlowOptionsDefaultToTheEnginesAndReachTheTrainedModel()
    {
        var defaults = new HopfColeBinaryTrainer.Options();
        var engine = new HopfColeTrainerOptions();
        Assert.Equal(
            (engine.Depth, engine.FlowWidth, engine.FlowSupportPoints, engine.FlowHorizon, engine.FlowViscosity, engine.SharedFlowControls),
            (defaults.Depth, defaults.FlowWidth, defaults.FlowSupportPoints, defaults.FlowHorizon, defaults.FlowViscosity, defaults.SharedFlowControls));

        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Iris(context);
        var options = new HopfColeMulticlassTrainer.Options
        {
            NumberOfSupportPoints = 3,
            MaximumEpochs = 2,
            Depth = 3,
            FlowWidth = 6,
            FlowSupportPoints = 5,
            FlowHorizon = 0.5,
            FlowViscosity = 2,
            SharedFlowControls = true,
        };
        GibbsFlow flow = context.MulticlassClassification.Trainers.HopfCole(options).Fit(data).Model.Model.Flow!;
        Assert.Equal(new FlowShape(4, 6, 3, 5, Lifted: true, SharedControls: true), flow.Shape);
        Assert.Equal(0.5, flow.Horizon);
        Assert.Equal(2, flow.Viscosity);
    }

    [Fact]
    public void NegativeDepthIsRejectedWhenTheTrainerIsCreated()
    {
        var context = new MLContext(seed: 1);

        var error = Assert.Throws<ArgumentException>(() => context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { Depth = -1 }));

        Assert.Contains("Depth", error.Message);
    }

    // ML.NET keeps SchemaShape.Create(DataViewSchema) internal; tests call it to hand estimators a real input shape.
    private static SchemaShape SchemaShapeOf(IDataView data)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.Invoke(null, [data.Schema])!;

    public sealed class BreastCancerRow
    {
        [VectorType(30)]
        public float[] Features { get; set; } = [];
    }

    public sealed class BinaryPrediction
    {
        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    public sealed class RegressionRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }
}
