using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class EnsemblePoolingTests
{
    private static readonly Dataset Iris = TestData.Load("iris.csv");

    private static HopfColeTrainerOptions Multiclass => new()
    {
        Kind = ModelKind.MulticlassClassification,
        NumberOfSupportPoints = 4,
        MaximumEpochs = 20,
        Seed = 5,
        MaximumDegreeOfParallelism = 2,
    };

    [Fact]
    public void PooledHeadScoreIsEpsLogOfTheMeanOfExpMemberScores()
    {
        const int heads = 2, pieces = 3, d = 4;
        const double eps = 0.7;
        var random = new Random(11);
        (double[], int[])[] members = Enumerable.Range(0, 3)
            .Select(_ => (Enumerable.Range(0, heads * pieces * (d + 1)).Select(_ => random.NextDouble() - 0.5).ToArray(), new int[heads * pieces]))
            .ToArray();
        (double[] pooled, int[] rows) = EnsemblePooling.Pool(members, heads, pieces, d, eps);
        Assert.Equal(heads * pieces * 3, rows.Length);

        var layer = new LseLayer<double>(pooled.AsSpan(0, heads * pieces * 3 * d), pooled.AsSpan(heads * pieces * 3 * d), d, eps, heads);
        LseLayer<double>[] memberLayers = members
            .Select(m => new LseLayer<double>(m.Item1.AsSpan(0, heads * pieces * d), m.Item1.AsSpan(heads * pieces * d), d, eps, heads))
            .ToArray();
        double[] x = [0.3, -1.2, 0.8, 2.0];
        for (int head = 0; head < heads; head++)
        {
            double expected = eps * Math.Log(memberLayers.Average(member => Math.Exp(member.Evaluate(x, head) / eps)));
            Assert.Equal(expected, layer.Evaluate(x, head), 1e-12);
        }
    }

    [Fact]
    public void FirstPooledMemberIsTheSingleRunBitForBitAndPoolingIsDeterministic()
    {
        HopfColeModel single = new HopfColeTrainer(Multiclass with { EnsembleMembers = 1 }).Fit(Iris);
        HopfColeModel pooled = new HopfColeTrainer(Multiclass with { EnsembleMembers = 3 }).Fit(Iris);
        Assert.Equal(3 * single.Layer.NumberOfPieces, pooled.Layer.NumberOfPieces);
        double shift = single.Layer.Viscosity * Math.Log(3);
        for (int head = 0; head < 3; head++)
        {
            Assert.Equal(single.Layer.HeadWeights(head).ToArray(), pooled.Layer.HeadWeights(head)[..single.Layer.HeadWeights(head).Length].ToArray());
            double[] expected = single.Layer.HeadBiases(head).ToArray().Select(b => b - shift).ToArray();
            Assert.Equal(expected, pooled.Layer.HeadBiases(head)[..4].ToArray());
        }

        Assert.All(pooled.SupportRows, row => Assert.InRange(row, 0, Iris.Rows - 1));
        HopfColeModel again = new HopfColeTrainer(Multiclass with { EnsembleMembers = 3 }).Fit(Iris);
        Assert.Equal(pooled.Layer.Weights.ToArray(), again.Layer.Weights.ToArray());
        Assert.Equal(pooled.Layer.Biases.ToArray(), again.Layer.Biases.ToArray());
    }

    [Fact]
    public void MembersTrainedAtOnceUnderAdamPoolTheSingleRunsOfTheirSeedsOnAnyThreadCount()
    {
        // Adam's members train concurrently on a share of the threads each; the first must still be the single run.
        HopfColeTrainerOptions adam = Multiclass with { Optimizer = Optimizer.Adam, BatchSize = 32 };
        HopfColeModel single = new HopfColeTrainer(adam with { EnsembleMembers = 1 }).Fit(Iris);
        HopfColeModel pooled = new HopfColeTrainer(adam with { EnsembleMembers = 3 }).Fit(Iris);
        HopfColeModel onOneThread = new HopfColeTrainer(adam with { EnsembleMembers = 3, MaximumDegreeOfParallelism = 1 }).Fit(Iris);
        for (int head = 0; head < 3; head++)
        {
            Assert.Equal(single.Layer.HeadWeights(head).ToArray(), pooled.Layer.HeadWeights(head)[..single.Layer.HeadWeights(head).Length].ToArray());
        }

        Assert.Equal(onOneThread.Layer.Weights.ToArray(), pooled.Layer.Weights.ToArray());
        Assert.Equal(onOneThread.Layer.Biases.ToArray(), pooled.Layer.Biases.ToArray());
        Assert.Equal(onOneThread.SupportRows, pooled.SupportRows);
    }

    [Fact]
    public void MembersPoolOnlyWhereThePoolingIsExact()
    {
        Assert.True(HopfColeTrainer.CanPoolMembers(Multiclass));
        Assert.True(HopfColeTrainer.CanPoolMembers(Multiclass with { ViscosityMode = ViscosityMode.WidthScaling }));
        Assert.False(HopfColeTrainer.CanPoolMembers(Multiclass with { Depth = 2 }));
        Assert.False(HopfColeTrainer.CanPoolMembers(Multiclass with { ViscosityMode = ViscosityMode.Learned }));
        Assert.Equal(4, new HopfColeTrainer(Multiclass).Fit(Iris).Layer.NumberOfPieces);
        Assert.Equal(3 * 4, new HopfColeTrainer(Multiclass with { EnsembleMembers = 3 }).Fit(Iris).Layer.NumberOfPieces);
    }

    [Fact]
    public void MembersThatCannotPoolExactlyAreRefusedNamingTheOption()
    {
        Assert.Contains("EnsembleMembers", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Multiclass with { EnsembleMembers = -1 })).Message);
        string flow = Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Multiclass with { EnsembleMembers = 2, Depth = 2 })).Message;
        Assert.Contains("EnsembleMembers", flow);
        Assert.Contains("Depth 0 (now 2", flow);
        Assert.Contains("Annealed", Assert.Throws<ArgumentException>(() => new HopfColeTrainer(Multiclass with { EnsembleMembers = 2, ViscosityMode = ViscosityMode.Annealed })).Message);
    }
}
