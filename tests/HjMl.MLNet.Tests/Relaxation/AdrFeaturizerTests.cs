using HjMl.MLNet.Relaxation;
using HjMl.MLNet.Tests.Support;
using HjMl.Relaxation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Relaxation;

public sealed class AdrFeaturizerTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-adr-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void TerminalStatesAreTheNetworksAndASavedPipelineReproducesThemThroughOnnx()
    {
        var context = new MLContext(seed: 1);
        IDataView digits = MLNetData.Load(context, "digits.csv", DataKind.Single);
        AdrFeaturizerTransformer featurizer = context.Transforms.AdrFeaturizer(new AdrFeaturizerEstimator.Options { OutputColumnName = "Adr", GridHeight = 8, Heterogeneous = true, Epochs = 2, Seed = 3 }).Fit(digits);
        Assert.Equal(new GridShape(8, 8), featurizer.Network.Shape.Grid);
        IDataView featurized = featurizer.Transform(digits);
        float[][] live = featurized.GetColumn<float[]>("Adr").Take(50).ToArray();
        float[][] inputs = digits.GetColumn<float[]>("Features").Take(50).ToArray();
        var terminal = new double[64];
        for (int row = 0; row < live.Length; row++)
        {
            featurizer.Network.Transport(inputs[row].Select(value => (double)value).ToArray(), terminal);
            Assert.Equal(terminal.Select(value => (float)value), live[row]);
        }

        string path = Path.Combine(folder, "adr.zip");
        context.Model.Save(featurizer, digits.Schema, path);
        foreach (ITransformer loaded in new[] { context.Model.Load(path, out _), context.Model.LoadWithHopfCole(path, out _) })
        {
            float[][] saved = loaded.Transform(digits).GetColumn<float[]>("Adr").Take(50).ToArray();
            for (int row = 0; row < live.Length; row++)
            {
                for (int q = 0; q < 64; q++)
                {
                    Assert.True(Math.Abs(saved[row][q] - live[row][q]) <= 1e-4 * Math.Max(1, Math.Abs(live[row][q])), $"row {row}, site {q}: saved {saved[row][q]}, live {live[row][q]}");
                }
            }
        }
    }

    [Fact]
    public void TheGridComesFromAnImageColumnsDimensions()
    {
        var context = new MLContext(seed: 1);
        var random = new Random(2);
        IDataView images = context.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i => new Image { Pixels = Enumerable.Range(0, 12).Select(_ => (float)random.NextDouble()).ToArray(), Label = i % 2 }));
        AdrFeaturizerTransformer featurizer = context.Transforms.AdrFeaturizer(inputColumnName: "Pixels", epochs: 1).Fit(images);
        Assert.Equal(new GridShape(3, 4), featurizer.Network.Shape.Grid);
        Assert.Equal(5, featurizer.Network.Shape.LayerLength);
    }

    [Fact]
    public void ANaNPixelIsRefusedNamingTheRowAndColumn()
    {
        var context = new MLContext(seed: 1);
        var random = new Random(5);
        Image[] rows = [.. Enumerable.Range(0, 20).Select(i => new Image { Pixels = Enumerable.Range(0, 12).Select(_ => (float)random.NextDouble()).ToArray(), Label = i % 2 })];
        AdrFeaturizerTransformer featurizer = context.Transforms.AdrFeaturizer(inputColumnName: "Pixels", epochs: 1).Fit(context.Data.LoadFromEnumerable(rows));
        rows[1].Pixels[4] = float.NaN;
        var problem = Assert.Throws<InvalidOperationException>(() => featurizer.Transform(context.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("AdrFeatures").ToArray());
        Assert.Contains("Row 2, column 'Pixels'", problem.Message);
        Assert.Contains("NaN", problem.Message);
    }

    [Fact]
    public void AGridThatDoesNotMatchTheVectorLengthIsRefusedNamingTheOption()
    {
        var context = new MLContext(seed: 1);
        IDataView digits = MLNetData.Load(context, "digits.csv", DataKind.Single);
        var problem = Assert.Throws<ArgumentException>(() => context.Transforms.AdrFeaturizer(new AdrFeaturizerEstimator.Options { GridHeight = 7, GridWidth = 8, Epochs = 1 }).Fit(digits));
        Assert.Contains("Option GridHeight x GridWidth = 7 x 8 = 56 does not fit column 'Features', which has 64 values", problem.Message);
        Assert.Equal("GridHeight", problem.ParamName);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    public void ARelaxationFactorThatIsNotPositiveIsRefusedNamingTheOption(double omega)
    {
        var problem = Assert.Throws<ArgumentException>(() => new MLContext().Transforms.AdrFeaturizer(relaxationFactor: omega));
        Assert.Contains("Option RelaxationFactor", problem.Message);
    }

    [Fact]
    public void ATwoDimensionalGridOnAnUnorderedColumnSetIsRefusedNamingTheOptions()
    {
        // breast_cancer's 30 features are named measurements, not pixels: 5 x 6 would be a lattice of nothing.
        var context = new MLContext(seed: 1);
        IDataView cancer = MLNetData.Load(context, "breast_cancer.csv", DataKind.Boolean);
        var problem = Assert.Throws<ArgumentException>(() => context.Transforms.AdrFeaturizer(new AdrFeaturizerEstimator.Options { GridHeight = 5, GridWidth = 6, Epochs = 1 }).Fit(cancer));
        Assert.Contains("Option GridHeight x GridWidth asks for a 5 x 6 grid on column 'Features', but its values are named columns with no lattice order ('mean_radius'", problem.Message);
    }

    private sealed class Image
    {
        [VectorType(3, 4)]
        public float[] Pixels { get; set; } = [];

        public float Label { get; set; }
    }
}
