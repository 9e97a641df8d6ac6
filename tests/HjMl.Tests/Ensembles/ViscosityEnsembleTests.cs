using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Ensembles;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Ensembles;

/// <summary>Five members trained on 60% of a data set (widths, viscosities and seeds varied), 20% to choose eps on, 20% held out.</summary>
public sealed record EnsembleCase(string File, Dataset Training, Dataset Validation, Dataset Test, IReadOnlyList<EnsembleMember> Members)
{
    private static readonly Dictionary<string, Lazy<EnsembleCase>> Cache = new()
    {
        ["breast_cancer.csv"] = new(() => Build("breast_cancer.csv", ModelKind.BinaryClassification, 8, 0.5)),
        ["digits.csv"] = new(() => Build("digits.csv", ModelKind.MulticlassClassification, 8, 0.5)),
        ["diabetes.csv"] = new(() => Build("diabetes.csv", ModelKind.Regression, 16, 2)),
    };

    public static TheoryData<string> Files => [.. Cache.Keys];

    public static EnsembleCase Of(string file) => Cache[file].Value;

    public double Tolerance => Members[0].Kind == ModelKind.Regression ? 0.03 : 0.02;

    private static EnsembleCase Build(string file, ModelKind kind, int width, double viscosity)
    {
        Dataset data = TestData.Load(file);
        int[] order = data.ShuffledRows(0);
        int training = data.Rows * 3 / 5, validation = data.Rows * 4 / 5;
        Dataset trainingRows = data.Subset(order[..training]);
        var options = new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = width, Viscosity = viscosity, Seed = 1, MaximumDegreeOfParallelism = 2 };
        return new EnsembleCase(file, trainingRows, data.Subset(order[training..validation]), data.Subset(order[validation..]), EnsembleTraining.TrainMembers(trainingRows, options, 5));
    }
}

public class ViscosityEnsembleTests
{
    public static TheoryData<string, EnsembleCombination> FilesAndCombinations
    {
        get
        {
            var data = new TheoryData<string, EnsembleCombination>();
            foreach (string file in EnsembleCase.Files)
            {
                data.Add(file, EnsembleCombination.GibbsWeights);
                data.Add(file, EnsembleCombination.LogSumExpPooling);
            }

            return data;
        }
    }

    public static TheoryData<string> Files => EnsembleCase.Files;

    [Theory]
    [MemberData(nameof(FilesAndCombinations))]
    public void ValidationMetricIsAtLeastTheBestMembersLessATolerance(string file, EnsembleCombination combination)
    {
        EnsembleCase data = EnsembleCase.Of(file);
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, combination);
        double best = data.Members.Max(member => ModelMetrics.Evaluate(member.Model!, data.Validation).Primary);
        double metric = ensemble.Evaluate(data.Validation).Primary;
        Assert.Equal(metric, ensemble.ValidationMetric, 12);
        Assert.True(metric >= best - data.Tolerance, $"{file} {combination}: ensemble {metric:F4} at eps {ensemble.Viscosity:G3}, best member {best:F4}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void GibbsWeightsNeverLoseToTheBestMemberOnValidationLoss(string file)
    {
        EnsembleCase data = EnsembleCase.Of(file);
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, EnsembleCombination.GibbsWeights);
        double bestLoss = ensemble.ValidationLosses.Min();
        Assert.Equal(bestLoss, ensemble.ValidationLosses[ensemble.BestMember]);
        Assert.True(ensemble.ValidationLoss <= bestLoss, $"{file}: ensemble loss {ensemble.ValidationLoss} above the best member's {bestLoss}");
        Assert.Equal(bestLoss, ensemble.Search[0].ValidationLoss, 12); // eps = 0 is in the grid and is the best member
    }

    [Fact]
    public void EnsembleOftenBeatsTheBestMember()
    {
        // Strictly lower validation loss on most data sets, and on the held-out rows no worse than the best member (by
        // validation loss) less a tolerance: eps is chosen on rows the test never sees.
        int better = 0;
        var report = new List<string>();
        foreach (string file in new[] { "breast_cancer.csv", "digits.csv", "diabetes.csv" })
        {
            EnsembleCase data = EnsembleCase.Of(file);
            ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation);
            better += ensemble.ValidationLoss < ensemble.ValidationLosses.Min() ? 1 : 0;
            double test = ensemble.Evaluate(data.Test).Primary;
            double bestTest = ModelMetrics.Evaluate(data.Members[ensemble.BestMember].Model!, data.Test).Primary;
            report.Add($"{file}: {ensemble.Combination} eps {ensemble.Viscosity:G3}, test {test:F4} vs best member {bestTest:F4}");
            Assert.True(test >= bestTest - (2 * data.Tolerance), string.Join("; ", report));
        }

        Assert.True(better >= 2, $"only {better} of 3 data sets improved: {string.Join("; ", report)}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ZeroViscosityReproducesTheBestMemberExactly(string file)
    {
        EnsembleCase data = EnsembleCase.Of(file);
        ViscosityEnsemble fitted = ViscosityEnsemble.Fit(data.Members, data.Validation, EnsembleCombination.GibbsWeights);
        HopfColeModel best = data.Members[fitted.BestMember].Model!;
        int outputs = best.OutputLength;
        var expected = new double[data.Test.Rows * outputs];
        best.ScoreBatch(data.Test.Features, expected);
        foreach (double viscosity in new[] { 0, 1e-12 })
        {
            ViscosityEnsemble ensemble = fitted.WithViscosity(viscosity);
            var scores = new double[expected.Length];
            var weights = new double[data.Test.Rows * data.Members.Count];
            ensemble.ScoreBatch(data.Test.Features, scores, weights);
            Assert.Equal(expected, scores);
            for (int row = 0; row < data.Test.Rows; row++)
            {
                Assert.Equal(best.Predict(data.Test.Row(row)), ensemble.Predict(data.Test.Row(row)));
                Assert.Equal(1.0, weights[(row * data.Members.Count) + fitted.BestMember]);
            }
        }
    }

    [Theory]
    [Trait("Speed", "Slow")]
    [MemberData(nameof(FilesAndCombinations))]
    public void LargeViscosityReproducesUniformAveraging(string file, EnsembleCombination combination)
    {
        EnsembleCase data = EnsembleCase.Of(file);
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, combination).WithViscosity(1e7);
        int count = data.Members.Count, outputs = ensemble.OutputLength;
        var memberScores = new double[count][];
        for (int k = 0; k < count; k++)
        {
            memberScores[k] = new double[data.Test.Rows * outputs];
            data.Members[k].Model!.ScoreBatch(data.Test.Features, memberScores[k]);
        }

        var scores = new double[data.Test.Rows * outputs];
        var weights = new double[data.Test.Rows * count];
        ensemble.ScoreBatch(data.Test.Features, scores, weights);
        Assert.All(weights, weight => Assert.Equal(1.0 / count, weight, 1e-6));
        var mean = new double[outputs];
        var ensembleProbabilities = new double[Math.Max(1, outputs)];
        var uniformProbabilities = new double[Math.Max(1, outputs)];
        for (int row = 0; row < data.Test.Rows; row++)
        {
            Array.Clear(mean);
            for (int k = 0; k < count; k++)
            {
                TensorPrimitives.Add(mean, memberScores[k].AsSpan(row * outputs, outputs), mean);
            }

            TensorPrimitives.Divide(mean, count, mean);
            ReadOnlySpan<double> ensembleRow = scores.AsSpan(row * outputs, outputs);
            if (ensemble.Kind == ModelKind.MulticlassClassification)
            {
                // The mean of class scores and the mean of log-probabilities differ by a constant per row: compare probabilities.
                ensemble.Interpret(ensembleRow, ensembleProbabilities);
                ensemble.Interpret(mean, uniformProbabilities);
                for (int c = 0; c < outputs; c++)
                {
                    Assert.Equal(uniformProbabilities[c], ensembleProbabilities[c], 1e-5);
                }
            }
            else
            {
                Assert.Equal(mean[0], ensembleRow[0], 1e-5 * Math.Max(1, Math.Abs(mean[0])));
            }
        }
    }

    [Theory]
    [MemberData(nameof(FilesAndCombinations))]
    public void MemberWeightsSumToOneOnEveryRow(string file, EnsembleCombination combination)
    {
        EnsembleCase data = EnsembleCase.Of(file);
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, combination, [0, 0.01, 0.1, 1]);
        int count = data.Members.Count;
        var weights = new double[data.Test.Rows * count];
        var scores = new double[data.Test.Rows * ensemble.OutputLength];
        ensemble.ScoreBatch(data.Test.Features, scores, weights);
        var single = new double[count];
        var singleScores = new double[ensemble.OutputLength];
        for (int row = 0; row < data.Test.Rows; row++)
        {
            ReadOnlySpan<double> rowWeights = weights.AsSpan(row * count, count);
            Assert.Equal(1.0, TensorPrimitives.Sum(rowWeights), 1e-12);
            Assert.True(TensorPrimitives.Min(rowWeights) >= 0);
            // A model scores a single row and a batch with different products, equal to rounding.
            ensemble.Score(data.Test.Row(row), singleScores, single);
            for (int k = 0; k < count; k++)
            {
                Assert.Equal(rowWeights[k], single[k], 1e-9);
            }

            for (int c = 0; c < ensemble.OutputLength; c++)
            {
                double batch = scores[(row * ensemble.OutputLength) + c];
                Assert.Equal(batch, singleScores[c], 1e-12 * Math.Max(1, Math.Abs(batch)));
            }
        }

        Assert.Equal(1.0, ensemble.GlobalWeights.Sum(), 1e-12);
        if (combination == EnsembleCombination.LogSumExpPooling && ensemble.Viscosity < 1)
        {
            // Per-row weights: different rows are carried by different members.
            Assert.Contains(Enumerable.Range(1, data.Test.Rows - 1), row => !weights.AsSpan(row * count, count).SequenceEqual(weights.AsSpan(0, count)));
        }
    }

    [Fact]
    public void UserScoringFunctionWorksAsAMember()
    {
        EnsembleCase data = EnsembleCase.Of("breast_cancer.csv");
        HopfColeModel first = data.Members[0].Model!;

        // The same model behind a delegate scores and loses exactly as the model member does.
        EnsembleMember wrapped = EnsembleMember.FromFunction("first model as a function", ModelKind.BinaryClassification, first.InputDimension, first.ClassLabels, first.Score);

        // A nearest-centroid rule on standardised features: margin = |x - c_neg|^2 - |x - c_pos|^2, scaled.
        EnsembleMember centroid = NearestCentroid(data.Training);
        EnsembleMember[] members = [data.Members[0], wrapped, centroid, data.Members[1]];
        foreach (EnsembleCombination combination in new[] { EnsembleCombination.GibbsWeights, EnsembleCombination.LogSumExpPooling })
        {
            ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(members, data.Validation, combination);
            Assert.Equal(ensemble.ValidationLosses[0], ensemble.ValidationLosses[1]);
            Assert.True(ensemble.Evaluate(data.Validation).Accuracy > 0.9);
            var weights = new double[4];
            Prediction prediction = ensemble.Predict(data.Test.Row(0), weights);
            Assert.Equal(1.0, weights.Sum(), 1e-12);
            Assert.Equal(weights[0], weights[1], 12); // the same scores carry the same weight
            Assert.InRange(prediction.ClassIndex, 0, 1);
        }

        double centroidAccuracy = ModelMetrics.FromScores(ModelKind.BinaryClassification, first.ClassLabels, ScoreAll(centroid, data.Validation), data.Validation.Labels).Accuracy;
        Assert.True(centroidAccuracy > 0.85, $"the nearest-centroid member is a real classifier (accuracy {centroidAccuracy:F3})");
    }

    [Fact]
    public void SearchIsDeterministicSortedAndKeepsTheLeastLoss()
    {
        EnsembleCase data = EnsembleCase.Of("digits.csv");
        ViscosityEnsemble first = ViscosityEnsemble.Fit(data.Members, data.Validation, EnsembleCombination.LogSumExpPooling);
        ViscosityEnsemble second = ViscosityEnsemble.Fit(data.Members, data.Validation, EnsembleCombination.LogSumExpPooling);
        Assert.Equal(first.Search, second.Search);
        Assert.Equal(first.Viscosity, second.Viscosity);
        Assert.Equal(first.Search.OrderBy(candidate => candidate.Viscosity), first.Search);
        Assert.Equal(0, first.Search[0].Viscosity);
        Assert.Equal(first.Search.Min(candidate => candidate.ValidationLoss), first.ValidationLoss);
        Assert.Equal(32, first.Search.Count);
    }

    [Fact]
    public void SingleRowScoringAllocatesNothing()
    {
        EnsembleCase data = EnsembleCase.Of("digits.csv");
        foreach (EnsembleCombination combination in new[] { EnsembleCombination.GibbsWeights, EnsembleCombination.LogSumExpPooling })
        {
            ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, combination, [0.1]);
            var scores = new double[ensemble.OutputLength];
            var weights = new double[ensemble.NumberOfMembers];
            var probabilities = new double[ensemble.OutputLength];
            Assert.Equal(0, Allocations.Fewest(() =>
            {
                for (int row = 0; row < 50; row++)
                {
                    ensemble.Score(data.Test.Row(row), scores, weights);
                    ensemble.Predict(data.Test.Row(row), weights, probabilities);
                }
            }));
        }
    }

    [Fact]
    public void ParallelScoringAgreesWithSequential()
    {
        EnsembleCase data = EnsembleCase.Of("breast_cancer.csv");
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(data.Members, data.Validation, EnsembleCombination.LogSumExpPooling, [0.05]);
        int count = ensemble.NumberOfMembers;
        var sequential = new double[data.Test.Rows * (1 + count)];
        for (int row = 0; row < data.Test.Rows; row++)
        {
            sequential[row * (1 + count)] = ensemble.Score(data.Test.Row(row), sequential.AsSpan((row * (1 + count)) + 1, count));
        }

        var parallel = new double[sequential.Length];
        Parallel.For(0, data.Test.Rows, row => parallel[row * (1 + count)] = ensemble.Score(data.Test.Row(row), parallel.AsSpan((row * (1 + count)) + 1, count)));
        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void BadInputIsRejectedNamingTheProblem()
    {
        EnsembleCase binary = EnsembleCase.Of("breast_cancer.csv");
        EnsembleCase regression = EnsembleCase.Of("diabetes.csv");
        EnsembleCase multiclass = EnsembleCase.Of("digits.csv");
        Dataset validation = binary.Validation;

        Assert.Contains("members is empty", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit([], validation, EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("all members must predict the same kind", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit([binary.Members[0], regression.Members[0]], validation, EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("reads 10 features but members[0]", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(
            [binary.Members[0], EnsembleMember.FromFunction("ten", ModelKind.BinaryClassification, 10, [0, 1], (_, scores) => scores[0] = 0)], validation, EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("has class labels [1, 0]", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(
            [binary.Members[0], EnsembleMember.FromFunction("swapped", ModelKind.BinaryClassification, 30, [1, 0], (_, scores) => scores[0] = 0)], validation, EnsembleCombination.GibbsWeights)).Message);

        Assert.Contains("viscosities[1] is -1", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(binary.Members, validation, EnsembleCombination.GibbsWeights, [0.1, -1])).Message);
        Assert.Contains("viscosities[0] is NaN", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(binary.Members, validation, EnsembleCombination.LogSumExpPooling, [double.NaN])).Message);
        ViscosityEnsemble ensemble = ViscosityEnsemble.Fit(binary.Members, validation, EnsembleCombination.GibbsWeights, [0.1]);
        Assert.Contains("viscosity is -0.5", Assert.Throws<ArgumentException>(() => ensemble.WithViscosity(-0.5)).Message);
        Assert.Contains("viscosity is NaN", Assert.Throws<ArgumentException>(() => ensemble.WithViscosity(double.NaN)).Message);

        Assert.Contains("validation data are empty", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(binary.Members, ReadOnlySpan<double>.Empty, ReadOnlySpan<double>.Empty, EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("Validation row 1 has label 7", Assert.Throws<ArgumentException>(() => ViscosityEnsemble.Fit(binary.Members, validation.Row(0), [7.0], EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("features has length 29", Assert.Throws<ArgumentException>(() => ensemble.Score(new double[29], new double[1])).Message);
        Assert.Contains("multiclass ensemble has one score per class", Assert.Throws<InvalidOperationException>(() => ViscosityEnsemble.Fit(multiclass.Members, multiclass.Validation, EnsembleCombination.GibbsWeights, [1]).Score(multiclass.Test.Row(0))).Message);

        EnsembleMember broken = EnsembleMember.FromFunction("broken", ModelKind.BinaryClassification, 30, [0, 1], (_, scores) => scores[0] = double.NaN);
        Assert.Contains("Member 'broken' wrote score 0 = NaN", Assert.Throws<InvalidOperationException>(() => ViscosityEnsemble.Fit([binary.Members[0], broken], validation, EnsembleCombination.GibbsWeights)).Message);
        Assert.Contains("needs 2 distinct", Assert.Throws<ArgumentException>(() => EnsembleMember.FromFunction("three", ModelKind.BinaryClassification, 30, [0, 1, 2], (_, _) => { })).Message);
    }

    private static double[] ScoreAll(EnsembleMember member, Dataset data)
    {
        var scores = new double[data.Rows * member.OutputLength];
        for (int row = 0; row < data.Rows; row++)
        {
            member.Score(data.Row(row), scores.AsSpan(row * member.OutputLength, member.OutputLength));
        }

        return scores;
    }

    private static EnsembleMember NearestCentroid(Dataset training)
    {
        var scaling = FeatureScaling.Fit(training);
        int d = training.Columns;
        var negative = new double[d];
        var positive = new double[d];
        int negatives = 0, positives = 0;
        var standardised = new double[d];
        for (int row = 0; row < training.Rows; row++)
        {
            scaling.Apply(training.Row(row), standardised);
            bool isPositive = training.Labels[row] == 1;
            TensorPrimitives.Add(isPositive ? positive : negative, standardised, isPositive ? positive : negative);
            positives += isPositive ? 1 : 0;
            negatives += isPositive ? 0 : 1;
        }

        TensorPrimitives.Divide(negative, negatives, negative);
        TensorPrimitives.Divide(positive, positives, positive);
        return EnsembleMember.FromFunction("nearest centroid", ModelKind.BinaryClassification, d, [0, 1], (features, scores) =>
        {
            Span<double> x = stackalloc double[features.Length];
            scaling.Apply(features, x);
            scores[0] = 0.1 * (TensorPrimitives.Distance(x, negative) * TensorPrimitives.Distance(x, negative) - (TensorPrimitives.Distance(x, positive) * TensorPrimitives.Distance(x, positive)));
        });
    }
}
