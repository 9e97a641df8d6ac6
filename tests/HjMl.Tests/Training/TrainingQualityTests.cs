using HjMl.Cli.Commands;
using HjMl.Tests.Support;

namespace HjMl.Tests.Training;

public class TrainingQualityTests
{
    public static TheoryData<string> Cases => [.. QualityCommand.Cases.Select(c => c.File)];

    [Theory]
    [Trait("Speed", "Slow")]
    [MemberData(nameof(Cases))]
    public void CrossValidatedMetricClearsTheIssuesBar(string file)
    {
        QualityCase quality = QualityCommand.Cases.Single(c => c.File == file);
        (double mean, double[] values) = quality.Evaluate(TestData.Folder);
        Assert.True(mean >= quality.Target, $"{file}: {quality.Metric} {mean:F4} (folds {string.Join(", ", values.Select(v => v.ToString("F3")))}) is below {quality.Target}");
    }
}
