using System.Net;
using System.Text.Json.Nodes;
using HjMl.Service.Tests.Support;

namespace HjMl.Service.Tests.Endpoints;

[Collection(ServiceCollection.Name)]
public sealed class PredictTests(ServiceFixture fixture)
{
    [Fact]
    public async Task PredictAnswersLabelScoreAndProbabilityOfOneRow()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        Answer answer = await Http.Post(client, "/predict", fixture.Rows[0]);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.MediaType);
        Assert.Equal(ServiceFixture.VersionOf(fixture.ModelPath), answer.ModelVersion);
        JsonObject prediction = answer.Json.AsObject();
        float score = prediction["score"]!.GetValue<float>();
        Assert.Equal(score > 0, prediction["label"]!.GetValue<bool>());
        Assert.Equal(1 / (1 + Math.Exp(-score)), prediction["probability"]!.GetValue<double>(), 1e-6);
        Assert.Equal(["label", "score", "probability"], prediction.Select(property => property.Key));
    }

    [Fact]
    public async Task PredictAnswersABatchRowForRowAsSingleRequestsDo()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonArray batch = [.. fixture.Rows.Take(25).Select(row => row.DeepClone())];
        Answer answer = await Http.Post(client, "/predict", batch);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        JsonArray predictions = answer.Json.AsArray();
        Assert.Equal(25, predictions.Count);
        for (int i = 0; i < 25; i += 6)
        {
            Answer single = await Http.Post(client, "/predict", fixture.Rows[i]);
            Assert.Equal(single.Json.ToJsonString(), predictions[i]!.ToJsonString());
        }

        Assert.Equal("[]", (await Http.Post(client, "/predict", "[]")).Body);
    }

    [Fact]
    public async Task PredictAcceptsAndIgnoresTheLabelColumnOfTheSavedSchema()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject labelled = fixture.RowAt(3);
        labelled["Label"] = true;
        Answer plain = await Http.Post(client, "/predict", fixture.Rows[3]);
        Answer withLabel = await Http.Post(client, "/predict", labelled);
        Assert.Equal(HttpStatusCode.OK, withLabel.Status);
        Assert.Equal(plain.Body, withLabel.Body);
    }

    [Fact]
    public async Task HealthAndModelSayWhatIsServed()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject health = await Http.Get(client, "/health");
        Assert.Equal("serving", health["status"]!.GetValue<string>());
        Assert.Equal(ServiceFixture.VersionOf(fixture.ModelPath), health["model"]!.GetValue<string>());

        JsonObject model = await Http.Get(client, "/model");
        Assert.Equal(ServiceFixture.VersionOf(fixture.ModelPath), model["version"]!.GetValue<string>());
        Assert.Equal("BinaryClassification", model["task"]!.GetValue<string>());
        Assert.Equal(0.5, model["viscosity"]!.GetValue<double>());
        Assert.Equal(0, model["depth"]!.GetValue<int>());
        Assert.Equal(16, model["supportPointsPerHead"]!.GetValue<int>());
        Assert.Equal(3, model["topSupportPoints"]!.GetValue<int>());
        Assert.Contains("re-created", model["explainedWith"]!.GetValue<string>(), StringComparison.Ordinal);
        JsonArray input = model["input"]!.AsArray();
        Assert.Equal(ServiceFixture.Header, input.Select(column => column!["name"]!.GetValue<string>()));
        Assert.All(input.Take(14), column => Assert.True(column!["required"]!.GetValue<bool>()));
        Assert.False(input[14]!["required"]!.GetValue<bool>());
        Assert.Equal("a string", input.Single(column => column!["name"]!.GetValue<string>() == "workclass")!["json"]!.GetValue<string>());
        double accuracy = model["training"]!["accuracy"]!.GetValue<double>();
        Assert.InRange(accuracy, 0.7, 1.0);
        Assert.Equal("adult-1200.csv", model["training"]!["dataset"]!.GetValue<string>());
    }
}
