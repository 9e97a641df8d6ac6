using HjMl.MLNet.Relaxation;
using HjMl.MLNet.Tests.Support;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Loading;

public sealed class AdrFeaturizerLoadingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-adr-load-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    public static TheoryData<bool, string> Featurizers => new()
    {
        { true, "Adr" },
        { false, "Adr" },
        { true, "Features" },
    };

    [Theory]
    [MemberData(nameof(Featurizers))]
    public void LoadWithHopfColeGivesBackTheInMemoryFeaturizerWritingTheSameFloatsOnDigits(bool heterogeneous, string outputColumn)
    {
        var context = new MLContext(seed: 1);
        IDataView digits = MLNetData.Load(context, "digits.csv", DataKind.Single);
        var options = new AdrFeaturizerEstimator.Options { OutputColumnName = outputColumn, GridHeight = 8, Heterogeneous = heterogeneous, Depth = 3, RelaxationFactor = 1.25, Epochs = 2, Seed = 4 };
        ITransformer model = context.Transforms.AdrFeaturizer(options).Append(context.Transforms.NormalizeMinMax(outputColumn)).Fit(digits);
        string path = Path.Combine(folder, "adr.zip");
        context.Model.Save(model, digits.Schema, path);

        ITransformer loaded = new MLContext(seed: 2).Model.LoadWithHopfCole(path, out DataViewSchema schema);

        AdrFeaturizerTransformer trained = Stages(model).OfType<AdrFeaturizerTransformer>().Single();
        AdrFeaturizerTransformer rebound = Stages(loaded).OfType<AdrFeaturizerTransformer>().Single();
        Assert.DoesNotContain(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        Assert.Equal(trained.Network.Parameters.ToArray(), rebound.Network.Parameters.ToArray());
        Assert.Equal(trained.Network.Shape.Description, rebound.Network.Shape.Description);
        Assert.Equal(new GridShape(8, 8), rebound.Network.Shape.Grid);
        Assert.Equal((trained.Network.Activation, trained.Network.Viscosity, trained.Network.RelaxationFactor), (rebound.Network.Activation, rebound.Network.Viscosity, rebound.Network.RelaxationFactor));
        Assert.Equal((trained.InputColumnName, trained.OutputColumnName), (rebound.InputColumnName, rebound.OutputColumnName));
        Assert.Equal(Visible(model.GetOutputSchema(digits.Schema)), Visible(loaded.GetOutputSchema(schema)));
        Assert.Equal(Column(model.Transform(digits), outputColumn), Column(loaded.Transform(digits), outputColumn));
    }

    [Fact]
    public void PlainModelLoadStillGivesTheOnnxStageWithinFloat32OfTheInMemoryFeaturizer()
    {
        var context = new MLContext(seed: 1);
        IDataView digits = MLNetData.Load(context, "digits.csv", DataKind.Single);
        AdrFeaturizerTransformer featurizer = context.Transforms.AdrFeaturizer(new AdrFeaturizerEstimator.Options { OutputColumnName = "Adr", GridHeight = 8, Epochs = 2, Seed = 4 }).Fit(digits);
        string path = Path.Combine(folder, "adr.zip");
        context.Model.Save(featurizer, digits.Schema, path);

        ITransformer loaded = new MLContext(seed: 2).Model.Load(path, out _);

        Assert.DoesNotContain(Stages(loaded), stage => stage is AdrFeaturizerTransformer);
        Assert.Contains(Stages(loaded), stage => stage.GetType().Name == "OnnxTransformer");
        float[][] live = Column(featurizer.Transform(digits), "Adr");
        float[][] saved = Column(loaded.Transform(digits), "Adr");
        for (int row = 0; row < live.Length; row++)
        {
            for (int q = 0; q < live[row].Length; q++)
            {
                Assert.True(Math.Abs(saved[row][q] - live[row][q]) <= 1e-4 * Math.Max(1, Math.Abs(live[row][q])), $"row {row}, site {q}: saved {saved[row][q]}, live {live[row][q]}");
            }
        }
    }

    private static float[][] Column(IDataView data, string name) => [.. data.GetColumn<float[]>(name)];

    private static IEnumerable<ITransformer> Stages(ITransformer transformer)
        => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Stages) : [transformer];

    private static string[] Visible(DataViewSchema schema)
        => [.. schema.Where(column => !column.IsHidden).Select(column => $"{column.Name}: {column.Type}")];
}
