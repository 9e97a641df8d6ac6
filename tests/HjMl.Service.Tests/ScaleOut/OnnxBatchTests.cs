using System.Net;
using System.Text.Json.Nodes;
using HjMl.MLNet;
using HjMl.MLNet.Prediction;
using HjMl.Onnx;
using HjMl.Service.Tests.Support;
using HjMl.Service.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace HjMl.Service.Tests.ScaleOut;

/// <summary>
/// Scale-out (docs/service.md): the served model exported with HjMl's <c>OnnxExport</c> has a dynamic batch dimension N,
/// so one ONNX Runtime session (what Triton, SynapseML's ONNXModel or any ORT server runs) scores batches of any size,
/// and gives the service's own scores and explanations.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class OnnxBatchTests(ServiceFixture fixture)
{
    [Fact]
    public async Task TheExportedGraphScoresBatchesOfAnySizeAsTheServiceDoes()
    {
        var context = new MLContext(seed: 1);
        ITransformer loaded = context.Model.LoadWithHopfCole(fixture.ModelPath, out _);
        ITransformer[] stages = [.. Stages(loaded)];
        int model = Array.FindIndex(stages, stage => stage is HopfColePredictionTransformer);
        var prediction = (HopfColePredictionTransformer)stages[model];

        // The graph's input is the model's feature vector: the output of the pipeline's featurisers (one-hot, normalise).
        var featurisers = new TransformerChain<ITransformer>(stages[..model]);
        IDataView raw = context.Data.LoadFromTextFile(ServiceFixture.DataPath, TrainCommand.Columns(ServiceFixture.DataPath).Columns, separatorChar: ',', hasHeader: true);
        float[][] features = [.. featurisers.Transform(raw).GetColumn<float[]>("Features").Take(300)];
        int d = features[0].Length;
        Assert.Equal(prediction.Model.Model.InputDimension, d);

        // GET /model/onnx serves the graph OnnxExport writes for the loaded model, explanation outputs included.
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        byte[] graph = await client.GetByteArrayAsync(new Uri("/model/onnx", UriKind.Relative));
        Assert.Equal(OnnxExport.ToBytes(prediction.Model.Model, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 3 }), graph);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(graph, options);
        Assert.Equal("N", session.InputMetadata[OnnxExport.FeaturesName].SymbolicDimensions[0]);
        Answer answer = await Http.Post(client, "/explain", new JsonArray([.. fixture.Rows.Take(300).Select(row => row.DeepClone())]));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        JsonArray expected = answer.Json.AsArray();

        foreach (int size in new[] { 0, 1, 2, 7, 64, 300 })
        {
            float[] batch = [.. features.Take(size).SelectMany(row => row)];
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(batch, [size, d]);
            using var run = new RunOptions();
            string[] outputs = [OnnxExport.ScoreName, OnnxExport.ProbabilityName, "FeatureContributions", "BiasTerms", "AttributionEntropy", "TopSupportWeights"];
            using IDisposableReadOnlyCollection<OrtValue> values = session.Run(run, [OnnxExport.FeaturesName], [input], outputs);
            float[] scores = values[0].GetTensorDataAsSpan<float>().ToArray();
            float[] probabilities = values[1].GetTensorDataAsSpan<float>().ToArray();
            Assert.Equal([size], values[0].GetTensorTypeAndShape().Shape);
            Assert.Equal([size, 2, d], values[2].GetTensorTypeAndShape().Shape);
            Assert.Equal([size, 2, 3], values[5].GetTensorTypeAndShape().Shape);
            float[] contributions = values[2].GetTensorDataAsSpan<float>().ToArray();
            for (int i = 0; i < size; i++)
            {
                double score = expected[i]!["score"]!.GetValue<double>();
                double tolerance = 1e-5 * Math.Max(1, Math.Abs(score));
                Assert.Equal(score, scores[i], tolerance);
                Assert.Equal(expected[i]!["probability"]!.GetValue<double>(), probabilities[i], 1e-5);

                // Binary: the margin's contribution of feature k is head 0's minus head 1's, as the service reports it.
                JsonObject served = expected[i]!["explanation"]!["featureContributions"]!.AsObject();
                for (int k = 0; k < d; k++)
                {
                    double margin = contributions[(i * 2 * d) + k] - contributions[(i * 2 * d) + d + k];
                    Assert.Equal(served[prediction.Model.FeatureNames[k]]!.GetValue<double>(), margin, tolerance);
                }
            }
        }
    }

    private static IEnumerable<ITransformer> Stages(ITransformer transformer)
        => transformer is TransformerChain<ITransformer> chain ? chain.SelectMany(Stages) : [transformer];
}
