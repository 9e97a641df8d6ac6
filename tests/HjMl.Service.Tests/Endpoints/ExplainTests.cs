using System.Net;
using System.Text.Json.Nodes;
using HjMl.Service.Tests.Support;

namespace HjMl.Service.Tests.Endpoints;

[Collection(ServiceCollection.Name)]
public sealed class ExplainTests(ServiceFixture fixture)
{
    [Fact]
    public async Task ExplainedContributionsAndScoreTermsSumToTheScore()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonArray batch = [.. fixture.Rows.Take(40).Select(row => row.DeepClone())];
        Answer answer = await Http.Post(client, "/explain", batch);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        int dimension = (await Http.Get(client, "/model"))["features"]!.GetValue<int>();
        foreach (JsonNode? row in answer.Json.AsArray())
        {
            JsonObject explanation = row!["explanation"]!.AsObject();
            double score = row["score"]!.GetValue<double>();
            double[] contributions = [.. explanation["featureContributions"]!.AsObject().Select(item => item.Value!.GetValue<double>())];
            double[] terms = [.. explanation["scoreTerms"]!.AsObject().Select(term => term.Value!.GetValue<double>())];
            double scale = contributions.Sum(Math.Abs) + terms.Sum(Math.Abs);
            Assert.Equal(score, explanation["explainedScore"]!.GetValue<double>(), 1e-6 * Math.Max(1, Math.Abs(score)));
            Assert.Equal(score, contributions.Sum() + terms.Sum(), 1e-6 * scale);

            // Largest contributions first, all of the model's features named once.
            Assert.Equal(contributions.OrderByDescending(Math.Abs), contributions);
            Assert.Equal(["baseline", "bias", "entropy", "remainder"], explanation["scoreTerms"]!.AsObject().Select(term => term.Key));
            string[] features = [.. explanation["featureContributions"]!.AsObject().Select(item => item.Key)];
            Assert.Equal(dimension, features.Length);
            Assert.Contains("age", features);
            Assert.Contains(features, feature => feature.StartsWith("workclass.", StringComparison.Ordinal));

            JsonArray support = explanation["topSupportRows"]!.AsArray();
            Assert.Equal(3, support.Count);
            double[] weights = [.. support.Select(item => item!["weight"]!.GetValue<double>())];
            Assert.Equal(weights.OrderByDescending(weight => weight), weights);
            Assert.All(weights, weight => Assert.InRange(weight, 0, 1));
            Assert.All(support, item => Assert.InRange(item!["row"]!.GetValue<long>(), 0, 1200));
            double entropy = explanation["attributionEntropy"]!.GetValue<double>();
            Assert.InRange(entropy, 0, Math.Log(16) + 1e-6);
            Assert.Equal(Math.Exp(entropy), explanation["effectiveSupportPoints"]!.GetValue<double>(), 1e-4);
            Assert.True(explanation["certifiedRadius"]!.GetValue<double>() >= 0);
            Assert.Equal(explanation["outOfSupportScore"]!.GetValue<double>() > 1, explanation["outOfSupport"]!.GetValue<bool>());
        }
    }

    [Fact]
    public async Task ExplainPredictsWhatPredictDoes()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonArray batch = [.. fixture.Rows.Skip(100).Take(20).Select(row => row.DeepClone())];
        JsonArray predictions = (await Http.Post(client, "/predict", batch)).Json.AsArray();
        JsonArray explanations = (await Http.Post(client, "/explain", batch)).Json.AsArray();
        for (int i = 0; i < predictions.Count; i++)
        {
            JsonObject explained = explanations[i]!.AsObject().DeepClone().AsObject();
            explained.Remove("explanation");
            Assert.Equal(predictions[i]!.ToJsonString(), explained.ToJsonString());
        }
    }

    [Fact]
    public async Task NativeExplanationsMatchTheSavedAttributionStage()
    {
        // The default explains with GibbsAttribution re-created from the loaded model (HjMl's kernels, double); the saved
        // pipeline's own attribution stage runs its ONNX graph in float32. Same explanation, to float rounding.
        using var native = ServiceFixture.Start(fixture.ModelPath);
        using var saved = ServiceFixture.Start(fixture.ModelPath, ("HjMl:ExplainWith", "Saved"));
        using HttpClient nativeClient = native.CreateClient();
        using HttpClient savedClient = saved.CreateClient();
        Assert.Contains("OnnxTransformer", (await Http.Get(savedClient, "/model"))["explainedWith"]!.GetValue<string>(), StringComparison.Ordinal);
        JsonArray batch = [.. fixture.Rows.Skip(200).Take(30).Select(row => row.DeepClone())];
        JsonArray fromNative = (await Http.Post(nativeClient, "/explain", batch)).Json.AsArray();
        JsonArray fromSaved = (await Http.Post(savedClient, "/explain", batch)).Json.AsArray();
        for (int i = 0; i < fromNative.Count; i++)
        {
            JsonNode a = fromNative[i]!["explanation"]!, b = fromSaved[i]!["explanation"]!;
            double scale = Math.Max(1, Math.Abs(a["explainedScore"]!.GetValue<double>()));
            Assert.Equal(a["explainedScore"]!.GetValue<double>(), b["explainedScore"]!.GetValue<double>(), 1e-5 * scale);
            JsonObject contributions = b["featureContributions"]!.AsObject();
            Assert.Equal(a["featureContributions"]!.AsObject().Count, contributions.Count);
            foreach ((string feature, JsonNode? value) in a["featureContributions"]!.AsObject())
            {
                Assert.Equal(value!.GetValue<double>(), contributions[feature]!.GetValue<double>(), 1e-5 * scale);
            }

            Assert.Equal(a["topSupportRows"]![0]!["row"]!.GetValue<long>(), b["topSupportRows"]![0]!["row"]!.GetValue<long>());
            Assert.Equal(a["outOfSupport"]!.GetValue<bool>(), b["outOfSupport"]!.GetValue<bool>());
        }
    }
}
