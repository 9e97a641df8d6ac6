using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace HjMl.Service.Tests.Support;

/// <summary>Posting JSON to the service and reading what it answers.</summary>
public static class Http
{
    /// <summary>POSTs <paramref name="body"/> (raw text) to <paramref name="path"/>.</summary>
    public static async Task<Answer> Post(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await client.PostAsync(new Uri(path, UriKind.Relative), content);
        string text = await response.Content.ReadAsStringAsync();
        string? version = response.Headers.TryGetValues("X-Model-Version", out IEnumerable<string>? values) ? values.Single() : null;
        return new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, version);
    }

    /// <summary>POSTs <paramref name="body"/> as JSON to <paramref name="path"/>.</summary>
    public static Task<Answer> Post(HttpClient client, string path, JsonNode body) => Post(client, path, body.ToJsonString());

    /// <summary>GETs <paramref name="path"/>.</summary>
    public static async Task<JsonObject> Get(HttpClient client, string path)
        => JsonNode.Parse(await client.GetStringAsync(new Uri(path, UriKind.Relative)))!.AsObject();
}

/// <summary>A response: status, media type, body and the model version that answered.</summary>
public sealed record Answer(HttpStatusCode Status, string? MediaType, string Body, string? ModelVersion)
{
    /// <summary>The body as JSON.</summary>
    public JsonNode Json => JsonNode.Parse(Body)!;

    /// <summary>A problem-details body's field, or null.</summary>
    public string? Field => Json["field"]?.GetValue<string>();

    /// <summary>A problem-details body's detail.</summary>
    public string Detail => Json["detail"]!.GetValue<string>();
}
