using FsCheck;
using TestData = HjMl.Tests.Support.TestData;
using FsCheck.Fluent;
using HjMl.Models;
using HjMl.Tests.Attribution;
using HjMl.Tests.Support;

namespace HjMl.Tests.Models;

/// <summary>
/// Score and ScoreBatch agree on every finite input, extremes included (issue 19, item 2): for each drawn row both
/// give the same finite scores bit for bit, or both refuse it with the same message (the batch's naming the row), and
/// a batch names the first row that Score refuses. Drawn over binary, multiclass, regression and flow models at
/// viscosities from 0 to 1e300, in double and in float32.
/// </summary>
public class ScoreAgreementPropertyTests
{
    // Values a hostile row holds: zeros, subnormals, the largest doubles, powers across the range and ordinary ones.
    private static readonly double[] Extremes =
    [
        0, -0.0, double.Epsilon, -double.Epsilon, 2.2250738585072014E-308, 1e-300, -1e-200, 1e-10, 0.5, -3, 42, 1e10, -1e38,
        3.5e38, 1e100, -1e200, 1e300, 1e307, -1e308, 1.7976931348623157E308, double.MinValue,
    ];

    private static readonly Lazy<HopfColeModel[]> Models = new(() =>
    [
        PrototypeModels.Classifier(TestData.Load("breast_cancer.csv"), perClass: 4, viscosity: 0.5),
        PrototypeModels.Classifier(TestData.Load("iris.csv"), perClass: 3, viscosity: 0.2),
        PrototypeModels.Regression(TestData.Load("diabetes.csv"), pieces: 6, viscosity: 2),
        FlowModels.Iris.Model,
    ]);

    private static readonly double[] Viscosities = [0, 1e-300, 1e-12, 1, 1e12, 1e300];

    public static Arbitrary<(int Seed, int Model, int Viscosity)> Cases { get; } =
        (from seed in Gen.Choose(0, 1_000_000)
         from model in Gen.Choose(0, 3)
         from viscosity in Gen.Choose(0, Viscosities.Length - 1)
         select (seed, model, viscosity)).ToArbitrary();

    [Fact]
    public void ScoreAndScoreBatchAgreeOnEveryFiniteRowIncludingExtremes()
    {
        Properties.Hold(Cases, c =>
        {
            HopfColeModel model = Model(c.Model, c.Viscosity);
            var random = new Random(c.Seed);
            double[][] rows = [.. Enumerable.Range(0, 5).Select(_ => Row(model, random))];
            for (int i = 0; i < rows.Length; i++)
            {
                AssertAgree(Single(model, rows[i]), Batch(model, [rows[i]]), 0, model);
                float[] narrow = Narrow(rows[i]);
                AssertAgree(Single(model, narrow), Batch(model, [narrow]), 0, model);
            }

            // A batch gives every row's scores or the first refused row's own error.
            AssertBatch(rows.Select(row => Single(model, row)).ToArray(), Batch(model, rows), model);
            AssertBatch(rows.Select(row => Single(model, Narrow(row))).ToArray(), Batch(model, rows.Select(Narrow).ToArray()), model);
        }, count: 200);
    }

    [Fact]
    public void RowsThatScoreAreFiniteAndRowsThatDoNotAreNamedByTheirFeature()
    {
        HopfColeModel model = Model(0, 3);
        double[] ordinary = model.Scaling.Means.ToArray();
        double[] huge = [.. ordinary];
        huge[4] = 1e308;
        Outcome alone = Single(model, huge), batch = Batch(model, [ordinary, huge]);
        Assert.Null(Single(model, ordinary).Error);
        Assert.StartsWith("The row cannot be scored: feature ", alone.Error);
        Assert.Contains($"'{model.FeatureNames[4]}' is 1E+308", alone.Error);
        Assert.Equal(alone.Error!.Replace("The row", "Row 2", StringComparison.Ordinal), batch.Error);
    }

    private static HopfColeModel Model(int model, int viscosity)
    {
        HopfColeModel chosen = Models.Value[model];
        return chosen.Flow is null ? chosen.WithViscosity(Viscosities[viscosity]) : chosen;
    }

    // Each feature from the extremes (signs flipped at random), a training-range value, or a random power of ten.
    private static double[] Row(HopfColeModel model, Random random)
    {
        var row = new double[model.InputDimension];
        for (int k = 0; k < row.Length; k++)
        {
            row[k] = random.Next(4) switch
            {
                0 => Extremes[random.Next(Extremes.Length)] * (random.Next(2) == 0 ? 1 : -1),
                1 => Math.Pow(10, (random.NextDouble() * 600) - 300) * (random.Next(2) == 0 ? 1 : -1),
                _ => model.Scaling.Means[k] + (model.Scaling.Scales[k] * ((random.NextDouble() * 6) - 3)),
            };
        }

        return row;
    }

    // The same row in float32, finite: values beyond float32's range become its largest.
    private static float[] Narrow(double[] row) => [.. row.Select(v => (float)Math.Clamp(v, float.MinValue, float.MaxValue))];

    private static Outcome Single<T>(HopfColeModel model, T[] row)
        where T : unmanaged
    {
        var scores = new T[model.OutputLength];
        return Capture(() => ScoreOne(model, row, scores), scores);
    }

    private static Outcome Batch<T>(HopfColeModel model, T[][] rows)
        where T : unmanaged
    {
        var scores = new T[rows.Length * model.OutputLength];
        T[] features = [.. rows.SelectMany(row => row)];
        return Capture(() => ScoreMany(model, features, scores), scores);
    }

    private static void ScoreOne<T>(HopfColeModel model, T[] row, T[] scores)
    {
        if (row is double[] wide)
        {
            model.Score(wide, (double[])(object)scores);
        }
        else
        {
            model.Score((float[])(object)row, (float[])(object)scores);
        }
    }

    private static void ScoreMany<T>(HopfColeModel model, T[] rows, T[] scores)
    {
        if (rows is double[] wide)
        {
            model.ScoreBatch(wide, (double[])(object)scores);
        }
        else
        {
            model.ScoreBatch((float[])(object)rows, (float[])(object)scores);
        }
    }

    private static Outcome Capture<T>(Action score, T[] scores)
    {
        try
        {
            score();
            return new Outcome(scores.Select(v => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(), null);
        }
        catch (ArgumentException refused)
        {
            return new Outcome(null, refused.Message);
        }
    }

    private static void AssertAgree(Outcome single, Outcome batch, int row, HopfColeModel model)
    {
        if (single.Error is null)
        {
            Assert.Null(batch.Error);
            Assert.All(single.Scores!, score => Assert.True(double.IsFinite(score), $"a score is {score}"));
            AssertSameScores(single.Scores!, batch.Scores!, model);
        }
        else
        {
            Assert.Equal(Named(single.Error, row), batch.Error);
        }
    }

    private static void AssertBatch(Outcome[] singles, Outcome batch, HopfColeModel model)
    {
        int refused = Array.FindIndex(singles, outcome => outcome.Error is not null);
        if (refused < 0)
        {
            Assert.Null(batch.Error);
            AssertSameScores(singles.SelectMany(outcome => outcome.Scores!).ToArray(), batch.Scores!, model);
        }
        else
        {
            Assert.Equal(Named(singles[refused].Error!, refused), batch.Error);
        }
    }

    // A single layer scores a row bit for bit alike alone and in a batch; a flow's batch transport runs in matrix products,
    // whose sums may round in another order (within 1e-12 relative).
    private static void AssertSameScores(double[] single, double[] batch, HopfColeModel model)
    {
        if (model.Flow is null)
        {
            Assert.Equal(single, batch);
            return;
        }

        Assert.Equal(single.Length, batch.Length);
        for (int i = 0; i < single.Length; i++)
        {
            Assert.True(Math.Abs(single[i] - batch[i]) <= 1e-12 * Math.Max(1, Math.Abs(single[i])), $"score {i}: {single[i]} alone, {batch[i]} in the batch");
        }
    }

    // Score's message for a row, as a batch words it: "The row ..." becomes "Row i ...", "Feature ..." "Row i, feature ...".
    private static string Named(string message, int row)
        => message.StartsWith("The row", StringComparison.Ordinal)
            ? $"Row {row + 1}{message["The row".Length..]}"
            : $"Row {row + 1}, f{message[1..]}";

    private sealed record Outcome(double[]? Scores, string? Error);
}
