using HjMl.Data;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Tests.Training;

public class TrainingBlockTests
{
    [Fact]
    public void GatherCopiesExactlyTheChosenRowsWithTheirTargetsWeightsAndSources()
    {
        var random = new Random(9);
        const int rows = 300, d = 7;
        double[] features = [.. Enumerable.Range(0, rows * d).Select(_ => random.NextDouble())];
        double[] labels = [.. Enumerable.Range(0, rows).Select(i => (double)(i % 3))];
        double[] weights = [.. Enumerable.Range(0, rows).Select(_ => 0.5 + random.NextDouble())];
        var data = new Dataset(features, labels, [.. Enumerable.Range(0, d).Select(i => $"x{i}")]);
        int[] sources = [.. Enumerable.Range(0, rows).Select(i => rows - 1 - i)];
        TrainingBlock block = TrainingBlock.Create(data, LabelEncoding.Fit(data, ModelKind.MulticlassClassification), FeatureScaling.Fit(data), [.. weights.Reverse()], sources);
        int[] chosen = [.. Enumerable.Range(0, rows).OrderBy(_ => random.Next()).Take(128)];
        TrainingBlock buffer = TrainingBlock.Buffer(128, d, weighted: true);

        buffer.Gather(block, chosen);

        Assert.Equal(chosen.Length, buffer.Rows);
        for (int i = 0; i < chosen.Length; i++)
        {
            Assert.Equal(block.Inputs.AsSpan(chosen[i] * (d + 1), d + 1).ToArray(), buffer.Inputs.AsSpan(i * (d + 1), d + 1).ToArray());
            Assert.Equal(block.Targets[chosen[i]], buffer.Targets[i]);
            Assert.Equal(block.Weights![chosen[i]], buffer.Weights![i]);
            Assert.Equal(block.SourceRows[chosen[i]], buffer.SourceRows[i]);
        }
    }
}
