using HjMl.MLNet.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Persistence;

public class SaveAtomicallyTests
{
    [Fact]
    public void SaveAtomicallyWritesAModelThatLoads()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, "regression");
        ITransformer model = pipeline.Fit(data);
        string folder = Folder();
        try
        {
            string path = Path.Combine(folder, "model.zip");
            context.Model.SaveAtomically(model, data.Schema, path);

            ITransformer loaded = context.Model.Load(path, out _);

            Assert.Equal(model.Transform(data).GetColumn<float>("Score").Count(), loaded.Transform(data).GetColumn<float>("Score").Count());
            Assert.Equal(["model.zip"], Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FailedSaveLeavesThePreviousFileAsItWasAndNoPartialFile()
    {
        var context = new MLContext(seed: 1);
        (IDataView data, IEstimator<ITransformer> pipeline) = SaveAndLoadTests.Pipeline(context, "regression");
        ITransformer model = pipeline.Fit(data);
        string folder = Folder();
        try
        {
            string path = Path.Combine(folder, "model.zip");
            context.Model.SaveAtomically(model, data.Schema, path);
            byte[] before = File.ReadAllBytes(path);

            // The failure comes after the first stages were written into the zip, as a real one would.
            var failing = new TransformerChain<ITransformer>(model, new FailingTransformer());
            var refusal = Assert.Throws<InvalidOperationException>(() => context.Model.SaveAtomically(failing, data.Schema, path));

            Assert.Equal("This transformer cannot be saved.", refusal.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal(["model.zip"], Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FailedFirstSaveLeavesNoFile()
    {
        var context = new MLContext(seed: 1);
        IDataView data = MLNetData.Diabetes(context);
        string folder = Folder();
        try
        {
            string path = Path.Combine(folder, "model.zip");

            Assert.Throws<InvalidOperationException>(() => context.Model.SaveAtomically(new FailingTransformer(), data.Schema, path));

            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Folder() => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"hjml-atomic-{Guid.NewGuid():N}")).FullName;

    /// <summary>A pass-through transformer whose Save throws, to make a save fail part way.</summary>
    private sealed class FailingTransformer : ITransformer
    {
        public bool IsRowToRowMapper => false;

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();

        public void Save(ModelSaveContext ctx) => throw new InvalidOperationException("This transformer cannot be saved.");

        public IDataView Transform(IDataView input) => input;
    }
}
