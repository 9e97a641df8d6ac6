using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Onnx;

/// <summary>A trained model's exported explanations agree with the engine's own ModelExplainer in a real runtime.</summary>
public sealed class OnnxTrainedExplanationTests(OnnxRuntimeFixture runtime) : IClassFixture<OnnxRuntimeFixture>
{
    [Theory]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification)]
    public void CertifiedRadiusAndOutOfSupportScoreMatchTheEngine(string file, ModelKind kind)
    {
        Dataset data = TestData.Load(file);
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = kind, NumberOfSupportPoints = 6, MaximumEpochs = 20, Seed = 3 }).Fit(data);
        Assert.False(double.IsNaN(model.CoverageRadius));
        byte[] onnx = OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 2 });
        int rows = data.Rows;
        float[] features = new float[rows * data.Columns];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = (float)data.Features[i];
        }

        RuntimeResult result = runtime.Run(onnx, features, rows, data.Columns);
        double[] radii = result.Outputs[OnnxExport.CertifiedRadiusName].Values;
        double[] scores = result.Outputs[OnnxExport.OutOfSupportScoreName].Values;
        var explainer = new ModelExplainer(model);
        double[] row = new double[data.Columns];
        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < row.Length; k++)
            {
                row[k] = features[(i * data.Columns) + k];
            }

            Certificate certificate = explainer.Certify(row);
            SupportCoverage coverage = explainer.Coverage(row);
            Assert.True(Math.Abs(radii[i] - certificate.Radius) <= 1e-4 * Math.Max(1, certificate.Radius), $"row {i}: ONNX r* {radii[i]}, engine {certificate.Radius}");
            Assert.True(Math.Abs(scores[i] - coverage.Score) <= 1e-4 * Math.Max(1, coverage.Score), $"row {i}: ONNX out-of-support score {scores[i]}, engine {coverage.Score}");
            if (Math.Abs(coverage.Score - 1) > 1e-4)
            {
                // Rows within float32 rounding of the boundary may fall either way.
                Assert.Equal(coverage.IsOutOfSupport, scores[i] > 1);
            }
        }
    }
}
