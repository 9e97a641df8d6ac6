using HjMl.Data;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Tests.Support;

namespace HjMl.Tests.Evaluation;

public class ModelMetricsTests
{
    // -log(1e-15): what ModelMetrics charges a row whose true class has probability (nearly) 0.
    private const double LogLossCap = 34.538776394910684;

    [Fact]
    public void BinaryMetricsMatchValuesWorkedOutByHand()
    {
        // Margins (positive iff > 0) against labels; negative class 2, positive class 7.
        // Predicted 7, 7, 7, 2, 2 against 7, 2, 7, 2, 2: four right; TP 2, FP 1, FN 0 so F1 = 4 / 5.
        // Per class: 2 is right on 2 of 3 rows, 7 on 2 of 2, so macro accuracy (2/3 + 1) / 2 = 5/6.
        // AUC: positives {2, 0.5} against negatives {1, -1, -3}; 0.5 loses only to 1, so 5 of 6 pairs are ordered.
        // Log-loss: mean of log(1 + e^-m) over positives and log(1 + e^m) over negatives:
        // (log(1+e^-2) + log(1+e^1) + log(1+e^-0.5) + log(1+e^-1) + log(1+e^-3)) / 5 = 0.45522314436665334.
        ModelMetrics metrics = ModelMetrics.FromScores(ModelKind.BinaryClassification, [2, 7], [2.0, 1.0, 0.5, -1.0, -3.0], [7, 2, 7, 2, 2]);

        Assert.Equal(ModelKind.BinaryClassification, metrics.Kind);
        Assert.Equal(5, metrics.Rows);
        Assert.Equal(0.8, metrics.Accuracy, 1e-15);
        Assert.Equal(5.0 / 6, metrics.MacroAccuracy, 1e-15);
        Assert.Equal(5.0 / 6, metrics.AreaUnderRocCurve, 1e-15);
        Assert.Equal(0.8, metrics.F1Score, 1e-15);
        Assert.Equal(0.45522314436665334, metrics.LogLoss, 1e-14);
        Assert.True(double.IsNaN(metrics.RSquared) && double.IsNaN(metrics.RootMeanSquaredError) && double.IsNaN(metrics.MeanAbsoluteError));
        Assert.Equal(metrics.Accuracy, metrics.Primary);
        Assert.Equal("accuracy", metrics.PrimaryName);
    }

    [Fact]
    public void MulticlassMetricsMatchValuesWorkedOutByHand()
    {
        // Predicted 0, 1, 0 (the first of a tie), 2, 2 against 0, 1, 2, 1, 2: three of five right.
        // Per class: 0 is 1/1, 1 is 1/2, 2 is 1/2, so macro accuracy 2/3.
        // Log-loss: mean of log sum_k e^(s_k) - s_truth = (log(1+e^-1+e^-2) + log(1+2e^-3) + log(2+e^-1) + log(2+e^5)
        // + log(1+2e^-1)) / 5 = 1.3858708681154186.
        double[] scores = [2, 1, 0, 0, 3, 0, 1, 0, 1, 0, 0, 5, 0, 0, 1];
        ModelMetrics metrics = ModelMetrics.FromScores(ModelKind.MulticlassClassification, [0, 1, 2], scores, [0, 1, 2, 1, 2]);

        Assert.Equal(0.6, metrics.Accuracy, 1e-15);
        Assert.Equal(2.0 / 3, metrics.MacroAccuracy, 1e-15);
        Assert.Equal(1.3858708681154186, metrics.LogLoss, 1e-14);
        Assert.True(double.IsNaN(metrics.AreaUnderRocCurve) && double.IsNaN(metrics.F1Score), "AUC and F1 are binary metrics");
        Assert.True(double.IsNaN(metrics.RSquared));
    }

    [Fact]
    public void RegressionMetricsMatchScikitLearnsDocumentedExample()
    {
        // scikit-learn's r2_score, mean_squared_error and mean_absolute_error documentation example:
        // y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8] gives R^2 = 0.948..., MSE = 0.375, MAE = 0.5.
        ModelMetrics metrics = ModelMetrics.FromScores(ModelKind.Regression, [], [2.5, 0.0, 2, 8], [3, -0.5, 2, 7]);

        Assert.Equal(0.9486081370449679, metrics.RSquared, 1e-15);
        Assert.Equal(Math.Sqrt(0.375), metrics.RootMeanSquaredError, 1e-15);
        Assert.Equal(0.5, metrics.MeanAbsoluteError, 1e-15);
        Assert.True(double.IsNaN(metrics.Accuracy) && double.IsNaN(metrics.MacroAccuracy) && double.IsNaN(metrics.LogLoss) && double.IsNaN(metrics.AreaUnderRocCurve) && double.IsNaN(metrics.F1Score));
        Assert.Equal(metrics.RSquared, metrics.Primary);
        Assert.Equal("R²", metrics.PrimaryName);
    }

    [Fact]
    public void RSquaredIsUndefinedForConstantLabelsWhileTheErrorsAreStillMeasured()
    {
        ModelMetrics constant = ModelMetrics.FromScores(ModelKind.Regression, [], [3, 4, 6], [4, 4, 4]);
        Assert.True(double.IsNaN(constant.RSquared), $"R^2 = {constant.RSquared} for labels with no variance");
        Assert.Equal(Math.Sqrt(5.0 / 3), constant.RootMeanSquaredError, 1e-15);
        Assert.Equal(1, constant.MeanAbsoluteError, 1e-15);

        ModelMetrics oneRow = ModelMetrics.FromScores(ModelKind.Regression, [], [1.5], [-0.5]);
        Assert.True(double.IsNaN(oneRow.RSquared));
        Assert.Equal(2, oneRow.RootMeanSquaredError);
        Assert.Equal(2, oneRow.MeanAbsoluteError);
    }

    [Fact]
    public void PredictingTheLabelMeanScoresRSquaredZeroAndPredictingTheLabelsScoresOne()
    {
        double[] labels = TestData.Load("diabetes.csv").Labels.ToArray();
        double mean = labels.Average();

        ModelMetrics atMean = ModelMetrics.FromScores(ModelKind.Regression, [], Enumerable.Repeat(mean, labels.Length).ToArray(), labels);
        ModelMetrics exact = ModelMetrics.FromScores(ModelKind.Regression, [], labels, labels);

        Assert.Equal(0, atMean.RSquared, 1e-12);
        Assert.Equal((1.0, 0.0, 0.0), (exact.RSquared, exact.RootMeanSquaredError, exact.MeanAbsoluteError));
    }

    [Fact]
    public void AreaUnderTheCurveCountsTiedPairsAsHalfAndDependsOnlyOnTheOrderOfTheScores()
    {
        // Pairs (positive, negative): (1, 1) is a tie worth 1/2, (1, 0) is ordered: (1/2 + 1) / 2.
        Assert.Equal(0.75, ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [1, 1, 0], [1, 0, 0]).AreaUnderRocCurve, 1e-15);

        Dataset data = TestData.Load("breast_cancer.csv");
        double[] scores = MarginScores(PrototypeModels.Classifier(data, perClass: 5, viscosity: 1), data);
        double[] labels = data.Labels.ToArray();
        double area = Area(scores);

        Assert.Equal(area, Area([.. scores.Select(s => (3 * s * s * s) - 40)]), 1e-15);
        Assert.Equal(1 - area, Area([.. scores.Select(s => -s)]), 1e-12);
        Assert.Equal(1, Area(labels), 1e-15);

        double Area(double[] values) => ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], values, labels).AreaUnderRocCurve;
    }

    [Fact]
    public void BinaryMetricsOfAModelOnRealDataMatchAnIndependentCount()
    {
        Dataset data = TestData.Load("breast_cancer.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 5, viscosity: 1);
        double[] margins = MarginScores(model, data);
        double positive = model.ClassLabels[1];

        int correct = 0, truePositive = 0, falsePositive = 0, falseNegative = 0;
        double logLoss = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            bool isPositive = data.Labels[row] == positive, saysPositive = margins[row] > 0;
            correct += isPositive == saysPositive ? 1 : 0;
            truePositive += isPositive && saysPositive ? 1 : 0;
            falsePositive += !isPositive && saysPositive ? 1 : 0;
            falseNegative += isPositive && !saysPositive ? 1 : 0;
            logLoss += Math.Min(Softplus(isPositive ? -margins[row] : margins[row]), LogLossCap);
        }

        // AUC by counting every (positive, negative) pair, ties a half.
        double ordered = 0;
        int pairs = 0;
        for (int p = 0; p < data.Rows; p++)
        {
            for (int n = 0; n < data.Rows; n++)
            {
                if (data.Labels[p] == positive && data.Labels[n] != positive)
                {
                    pairs++;
                    ordered += margins[p] > margins[n] ? 1 : margins[p] == margins[n] ? 0.5 : 0;
                }
            }
        }

        ModelMetrics metrics = ModelMetrics.Evaluate(model, data);

        Assert.Equal(data.Rows, metrics.Rows);
        Assert.Equal(correct / (double)data.Rows, metrics.Accuracy, 1e-15);
        Assert.Equal(2.0 * truePositive / ((2.0 * truePositive) + falsePositive + falseNegative), metrics.F1Score, 1e-15);
        Assert.Equal(ordered / pairs, metrics.AreaUnderRocCurve, 1e-15);
        Assert.Equal(logLoss / data.Rows, metrics.LogLoss, 1e-9 * Math.Max(1, logLoss / data.Rows));
        Assert.InRange(metrics.Accuracy, 0.8, 1);
    }

    [Fact]
    public void MulticlassMetricsOfAModelOnRealDataMatchAnIndependentCount()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = PrototypeModels.Classifier(data, perClass: 4, viscosity: 0.5);
        var scores = new double[model.NumberOfClasses];
        var perClass = new Dictionary<double, (int Rows, int Right)>();
        int correct = 0;
        double logLoss = 0;
        for (int row = 0; row < data.Rows; row++)
        {
            model.Score(data.Row(row), scores);
            double label = data.Labels[row];
            bool right = model.ClassLabels[Array.IndexOf(scores, scores.Max())] == label;
            correct += right ? 1 : 0;
            (int rows, int rights) = perClass.GetValueOrDefault(label);
            perClass[label] = (rows + 1, rights + (right ? 1 : 0));
            double maximum = scores.Max();
            logLoss += maximum + Math.Log(scores.Sum(s => Math.Exp(s - maximum))) - scores[model.ClassIndexOf(label)];
        }

        ModelMetrics metrics = ModelMetrics.Evaluate(model, data);

        Assert.Equal(correct / (double)data.Rows, metrics.Accuracy, 1e-15);
        Assert.Equal(perClass.Values.Average(c => c.Right / (double)c.Rows), metrics.MacroAccuracy, 1e-15);
        Assert.Equal(logLoss / data.Rows, metrics.LogLoss, 1e-12 * Math.Max(1, logLoss / data.Rows));
        Assert.InRange(metrics.Accuracy, 0.8, 1);
    }

    [Fact]
    public void RegressionMetricsOfAModelOnRealDataMatchTheirDefinitions()
    {
        Dataset data = TestData.Load("diabetes.csv");
        HopfColeModel model = PrototypeModels.Regression(data, pieces: 40, viscosity: 1);
        double[] predictions = [.. Enumerable.Range(0, data.Rows).Select(row => model.Score(data.Row(row)))];
        double[] labels = data.Labels.ToArray();
        double mean = labels.Average();
        double squared = predictions.Zip(labels, (p, y) => (p - y) * (p - y)).Sum();

        ModelMetrics metrics = ModelMetrics.Evaluate(model, data);

        Assert.Equal(1 - (squared / labels.Sum(y => (y - mean) * (y - mean))), metrics.RSquared, 1e-12);
        Assert.Equal(Math.Sqrt(squared / data.Rows), metrics.RootMeanSquaredError, 1e-12 * metrics.RootMeanSquaredError);
        Assert.Equal(predictions.Zip(labels, (p, y) => Math.Abs(p - y)).Average(), metrics.MeanAbsoluteError, 1e-12 * metrics.MeanAbsoluteError);
    }

    [Fact]
    public void LabelsOfOneClassLeaveTheAreaUndefinedAndMacroAccuracyToThatClass()
    {
        ModelMetrics onlyPositive = ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [1.5, -0.5, 2, 0.25], [1, 1, 1, 1]);
        Assert.True(double.IsNaN(onlyPositive.AreaUnderRocCurve), "AUC needs a positive and a negative row");
        Assert.Equal(0.75, onlyPositive.Accuracy, 1e-15);
        Assert.Equal(0.75, onlyPositive.MacroAccuracy, 1e-15);
        Assert.Equal(6.0 / 7, onlyPositive.F1Score, 1e-15);

        // No positive row and none predicted: F1 is 0/0, reported as 0 (scikit-learn's zero_division default).
        ModelMetrics onlyNegative = ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [-1, -2], [0, 0]);
        Assert.True(double.IsNaN(onlyNegative.AreaUnderRocCurve));
        Assert.Equal((1.0, 1.0, 0.0), (onlyNegative.Accuracy, onlyNegative.MacroAccuracy, onlyNegative.F1Score));

        // A class no label belongs to does not enter the macro average: (1/1 + 1/2) / 2, not / 3.
        ModelMetrics twoOfThree = ModelMetrics.FromScores(ModelKind.MulticlassClassification, [0, 1, 2], [5, 0, 0, 0, 5, 0, 5, 0, 0], [0, 1, 1]);
        Assert.Equal(0.75, twoOfThree.MacroAccuracy, 1e-15);
    }

    [Fact]
    public void AConfidentlyWrongRowCostsTheLogLossCapNotInfinity()
    {
        Assert.Equal(LogLossCap, ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [-1000], [1]).LogLoss, 1e-12);
        Assert.Equal(LogLossCap, ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [1000], [0]).LogLoss, 1e-12);
        Assert.Equal(LogLossCap, ModelMetrics.FromScores(ModelKind.MulticlassClassification, [0, 1, 2], [0, 1000, 0], [0]).LogLoss, 1e-12);
        Assert.Equal(0, ModelMetrics.FromScores(ModelKind.BinaryClassification, [0, 1], [1000], [1]).LogLoss);
    }

    [Fact]
    public void EmptyOrMismatchedInputIsRejectedNamingTheArgument()
    {
        ArgumentException empty = Assert.Throws<ArgumentException>(() => ModelMetrics.FromScores(ModelKind.Regression, [], [], []));
        Assert.Equal("labels", empty.ParamName);
        Assert.Contains("labels is empty", empty.Message);

        ArgumentException mismatch = Assert.Throws<ArgumentException>(() => ModelMetrics.FromScores(ModelKind.MulticlassClassification, [0, 1, 2], [1, 2, 3, 4], [0, 1]));
        Assert.Equal("scores", mismatch.ParamName);
        Assert.Contains("scores has length 4 but 2 rows of a MulticlassClassification scorer need 6", mismatch.Message);

        Dataset iris = TestData.Load("iris.csv");
        HopfColeModel model = PrototypeModels.Classifier(TestData.Load("breast_cancer.csv"), perClass: 2, viscosity: 1);
        ArgumentException columns = Assert.Throws<ArgumentException>(() => ModelMetrics.Evaluate(model, iris));
        Assert.Equal("data", columns.ParamName);
        Assert.Contains("The data has 4 feature columns but the model takes 30", columns.Message);

        Assert.Throws<ArgumentNullException>(() => ModelMetrics.Evaluate(null!, iris));
        Assert.Throws<ArgumentNullException>(() => ModelMetrics.Evaluate(model, null!));
        Assert.Throws<ArgumentNullException>(() => ModelMetrics.FromScores(ModelKind.Regression, null!, [1], [1]));
    }

    private static double[] MarginScores(HopfColeModel model, Dataset data) => [.. Enumerable.Range(0, data.Rows).Select(row => model.Score(data.Row(row)))];

    // log(1 + e^x), without overflow.
    private static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));
}
