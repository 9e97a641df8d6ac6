using System.Net;
using System.Text.Json.Nodes;
using HjMl.Service.Tests.Support;

namespace HjMl.Service.Tests.Scoring;

/// <summary>Every refused request is answered with problem details whose detail and field name what is wrong.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ValidationTests(ServiceFixture fixture)
{
    [Theory]
    [InlineData("/predict", "{\"age\": 39,", "not valid JSON")]
    [InlineData("/explain", "{\"age\": 39 \"sex\": \"Male\"}", "not valid JSON")]
    [InlineData("/predict", "[{\"age\": 3x9}]", "not valid JSON")]
    [InlineData("/predict", "", "empty")]
    [InlineData("/predict", "42", "a number")]
    [InlineData("/predict", "[1, 2]", "Row 0 is a number")]
    public async Task MalformedBodiesAre400(string path, string body, string expected)
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        Answer answer = await Http.Post(client, path, body);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.Contains(expected, answer.Detail, StringComparison.Ordinal);
        Assert.Equal(400, answer.Json["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnUnknownColumnIs400NamingIt()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject row = fixture.RowAt(0);
        row["agee"] = 39;
        Answer answer = await Http.Post(client, "/predict", row);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("agee", answer.Field);
        Assert.Contains("Unknown column 'agee' in row 0", answer.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingColumnIs400NamingItAndItsRow()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject row = fixture.RowAt(1);
        row.Remove("occupation");
        JsonArray batch = [fixture.RowAt(0), row];
        Answer answer = await Http.Post(client, "/explain", batch);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("occupation", answer.Field);
        Assert.Equal(1, answer.Json["row"]!.GetValue<int>());
        Assert.Contains("Missing column 'occupation' in row 1", answer.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("age", "\"thirty\"", "must be a number; it is the string \"thirty\"")]
    [InlineData("age", "true", "must be a number; it is a Boolean")]
    [InlineData("age", "null", "must be a number; it is null")]
    [InlineData("age", "[39]", "must be a number; it is an array")]
    [InlineData("workclass", "5", "must be a string; it is a number")]
    [InlineData("sex", "{\"value\": \"Male\"}", "must be a string; it is an object")]
    public async Task AValueOfTheWrongTypeIs400NamingTheColumn(string column, string json, string expected)
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject row = fixture.RowAt(2);
        row[column] = JsonNode.Parse(json);
        Answer answer = await Http.Post(client, "/predict", row);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(column, answer.Field);
        Assert.Contains($"Column '{column}' in row 0 {expected}", answer.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"NaN\"", "is NaN: NaN and infinite features are refused")]
    [InlineData("\"Infinity\"", "is Infinity: NaN and infinite features are refused")]
    [InlineData("\"-Infinity\"", "is -Infinity: NaN and infinite features are refused")]
    [InlineData("1e39", "is 1e39, beyond the float32 range")]
    public async Task NaNInfinityAndOverflowAre400NamingTheColumn(string json, string expected)
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        JsonObject row = fixture.RowAt(4);
        row["hours_per_week"] = JsonNode.Parse(json);
        foreach (string path in new[] { "/predict", "/explain" })
        {
            Answer answer = await Http.Post(client, path, row);
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Equal("hours_per_week", answer.Field);
            Assert.Contains(expected, answer.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ADuplicatedColumnIs400()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath);
        using HttpClient client = service.CreateClient();
        string body = fixture.Rows[0].ToJsonString()[..^1] + ",\"age\":40}";
        Answer answer = await Http.Post(client, "/predict", body);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("age", answer.Field);
        Assert.Contains("appears twice", answer.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOversizedBodyIs413()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath, ("HjMl:MaxRequestBytes", "4096"));
        using HttpClient client = service.CreateClient();
        JsonArray batch = [.. fixture.Rows.Take(60).Select(row => row.DeepClone())];
        Answer answer = await Http.Post(client, "/predict", batch);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.Equal("body", answer.Field);
        Assert.Contains("at most 4096 are accepted", answer.Detail, StringComparison.Ordinal);

        // A body sent without a length (chunked) is cut off at the limit as well.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, new Uri("/predict", UriKind.Relative))
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(batch.ToJsonString()))),
        };
        chunked.Headers.TransferEncodingChunked = true;
        using HttpResponseMessage response = await client.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.Post(client, "/predict", fixture.Rows[0])).Status);
    }

    [Fact]
    public async Task ABatchOverTheRowLimitIs413()
    {
        using var service = ServiceFixture.Start(fixture.ModelPath, ("HjMl:MaxBatchRows", "10"));
        using HttpClient client = service.CreateClient();
        Answer answer = await Http.Post(client, "/explain", new JsonArray([.. fixture.Rows.Take(11).Select(row => row.DeepClone())]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.Equal("rows", answer.Field);
        Assert.Contains("more than 10 rows", answer.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Http.Post(client, "/explain", new JsonArray([.. fixture.Rows.Take(10).Select(row => row.DeepClone())]))).Status);
    }
}
