using HjMl.Data;

namespace HjMl.Tests.Data;

public class CsvDatasetTests
{
    [Fact]
    public void MissingLabelColumnIsNamedWithTheColumnsThereAre()
    {
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader("a,b\n1,2\n"), "Label", "x.csv"));
        Assert.Contains("x.csv: there is no label column 'Label'; the columns are a, b", problem.Message);
    }

    [Theory]
    [InlineData("1,abc,0", "row 2, column 'b' is 'abc', which is not a number")]
    [InlineData("1,,0", "row 2, column 'b' is empty")]
    [InlineData("1,NaN,0", "row 2, column 'b' is NaN")]
    [InlineData("1,2,NaN", "row 2, column 'Label' is NaN")]
    [InlineData("1,2", "row 2 has 2 fields but the header has 3")]
    public void BadCellsAreNamedByRowAndColumn(string badLine, string expected)
    {
        string text = "a,b,Label\n1,2,0\n" + badLine + "\n";
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader(text), "Label", "x.csv"));
        Assert.Contains(expected, problem.Message);
    }

    [Fact]
    public void HeaderWithoutRowsIsEmptyData()
    {
        var problem = Assert.Throws<InvalidDataException>(() => CsvDataset.Read(new StringReader("a,Label\n"), "Label"));
        Assert.Contains("no data rows", problem.Message);
    }

    [Fact]
    public void FeatureTableFindsColumnsByNameAndIgnoresTheRest()
    {
        FeatureTable table = FeatureTable.Read(new StringReader("Label,b,a\n9,2,1\n8,4,3\n"), ["a", "b"]);
        Assert.Equal([1.0, 2, 3, 4], table.Features.ToArray());
        var problem = Assert.Throws<InvalidDataException>(() => FeatureTable.Read(new StringReader("a\n1\n"), ["a", "zz"], "p.csv"));
        Assert.Contains("p.csv: the model needs a column 'zz'", problem.Message);
    }
}
