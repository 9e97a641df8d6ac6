using HjMl.Data;

namespace HjMl.Tests.Data;

/// <summary>
/// Training reads columns by position and scoring by name, so a name given twice would make them read different
/// columns (issue 19, item 1): every entry point refuses repeated and empty names, naming the name and its columns.
/// </summary>
public class DuplicateColumnTests
{
    [Fact]
    public void ACsvHeaderThatRepeatsANameIsRefusedNamingBothColumns()
    {
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader("a,b,a,Label\n1,2,3,0\n"), "Label", "dup.csv"));
        Assert.Equal("dup.csv: the header names column 'a' twice (columns 1 and 3); column names must be distinct, since models find their columns by name.", problem.Message);
    }

    [Fact]
    public void ARepeatedLabelColumnIsRefusedToo()
    {
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader("Label,a,Label\n0,2,1\n"), "Label", "dup.csv"));
        Assert.Contains("'Label' twice (columns 1 and 3)", problem.Message);
    }

    [Fact]
    public void ACsvHeaderWithAnEmptyNameIsRefused()
    {
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader("a, ,Label\n1,2,0\n"), "Label", "empty.csv"));
        Assert.Contains("empty.csv: column 2 of the header has no name", problem.Message);
    }

    [Fact]
    public void ScoringRowsRefusesAFileThatRepeatsAName()
    {
        var problem = Assert.Throws<InvalidDataException>(() => FeatureTable.Read(new StringReader("b,a,b\n1,2,3\n"), ["a", "b"], "score.csv"));
        Assert.Contains("'b' twice (columns 1 and 3)", problem.Message);
    }

    [Fact]
    public void ScoringRowsRefusesRepeatedRequestedNames()
    {
        var problem = Assert.Throws<ArgumentException>(() => FeatureTable.Read(new StringReader("a,b\n1,2\n"), ["a", "a"]));
        Assert.Contains("'a' twice (columns 1 and 2)", problem.Message);
    }

    [Theory]
    [InlineData(new[] { "x", "y", "x" }, "Label", "featureNames names 'x' twice (columns 1 and 3)")]
    [InlineData(new[] { "x", "" }, "Label", "featureNames[1] is empty")]
    [InlineData(new[] { "x", "Label" }, "Label", "Feature column 2 is named 'Label', as the label column is")]
    public void TheDatasetConstructorRefusesRepeatedEmptyOrLabelNames(string[] names, string label, string expected)
    {
        var problem = Assert.Throws<ArgumentException>(() => new Dataset(new double[names.Length], [0.0], names, label));
        Assert.Contains(expected, problem.Message);
    }
}
