using HjMl.MLNet.Trainers;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Trainers;

public class TrainingDataTests
{
    private const int Features = 300;

    [Fact]
    public void ReadingKeepsEveryRowValueLabelAndWeightWhetherTheViewKnowsItsRowCountOrNot()
    {
        // 700 rows of 300 slots: several of the reader's blocks of rows when the view does not know its count.
        var context = new MLContext(seed: 1);
        var random = new Random(11);
        Row[] rows = [.. Enumerable.Range(0, 700).Select(i => new Row
        {
            Features = [.. Enumerable.Range(0, Features).Select(_ => (float)(random.NextDouble() - 0.5))],
            Label = i % 3 == 0,
            Weight = (float)(0.5 + random.NextDouble()),
        })];
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Features);
        IDataView loaded = context.Data.LoadFromEnumerable(rows, definition);
        IDataView cached = context.Data.Cache(loaded);
        IDataView filtered = context.Data.FilterRowsByColumn(loaded, nameof(Row.Weight), lowerBound: 0, upperBound: 10);
        Assert.Null(filtered.GetRowCount());
        Assert.Equal(rows.Length, cached.GetRowCount());

        var options = new HopfColeBinaryTrainer.Options { ExampleWeightColumnName = nameof(Row.Weight) };
        foreach (IDataView view in new[] { loaded, cached, filtered })
        {
            TrainingData data = TrainingData.Read(view, options, ModelKind.BinaryClassification);
            Assert.Equal(rows.Length, data.Dataset.Rows);
            Assert.Equal(rows.SelectMany(row => row.Features.Select(value => (double)value)), data.Dataset.Features.ToArray());
            Assert.Equal(rows.Select(row => row.Label ? 1.0 : 0.0), data.Dataset.Labels.ToArray());
            Assert.Equal(rows.Select(row => (double)row.Weight), data.Weights!);
        }
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; }
    }
}
