using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using HjMl.Service.Tests.Support;

namespace HjMl.Service.Tests.Models;

/// <summary>Hot reload: the model file is replaced while requests run, and none of them fails.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ReloadTests(ServiceFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AReplacedModelFileIsSwappedInUnderConcurrentRequestsWithNoFailedRequest()
    {
        string folder = Directory.CreateTempSubdirectory("hjml-reload-").FullName;
        try
        {
            string served = Path.Combine(folder, "model.zip");
            File.Copy(fixture.ModelPath, served);
            string first = ServiceFixture.VersionOf(fixture.ModelPath), second = ServiceFixture.VersionOf(fixture.OtherModelPath);
            using var service = ServiceFixture.Start(served, ("HjMl:ReloadPollMilliseconds", "200"), ("HjMl:ReloadSettleMilliseconds", "50"));
            using HttpClient client = service.CreateClient();

            // Each answer with the time its request was sent: one sent after /health showed the new model gets the new model.
            var answers = new ConcurrentBag<(string Path, HttpStatusCode Status, string? Version, long SentAt)>();
            using var stop = new CancellationTokenSource();
            Task[] load = [.. Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    string path = (worker + i) % 2 == 0 ? "/predict" : "/explain";
                    long sentAt = Stopwatch.GetTimestamp();
                    Answer answer = await Http.Post(client, path, fixture.Rows[(worker * 97 + i) % fixture.Rows.Count]);
                    answers.Add((path, answer.Status, answer.ModelVersion, sentAt));
                }
            }))];

            await Task.Delay(300);

            // As SaveAtomically does: the record first, then the zip written beside the target and moved over it.
            File.Copy(fixture.OtherModelPath + ".json", served + ".json", overwrite: true);
            File.Copy(fixture.OtherModelPath, served + ".tmp");
            File.Move(served + ".tmp", served, overwrite: true);
            long swappedAt = await Until(client, second);
            await Task.Delay(300);
            stop.Cancel();
            await Task.WhenAll(load);

            Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
            Assert.Contains(answers, answer => answer.Version == first);
            Assert.Contains(answers, answer => answer.Version == second && answer.Path == "/explain");
            Assert.All(answers.Where(answer => answer.SentAt > swappedAt), answer => Assert.Equal(second, answer.Version));
            JsonObject model = await Http.Get(client, "/model");
            Assert.Equal(2, model["generation"]!.GetValue<int>());
            Assert.Equal(12, model["supportPointsPerHead"]!.GetValue<int>());
            Assert.Equal(2, model["training"]!["seed"]!.GetValue<int>());

            // A damaged file is refused: the model keeps serving and /health says the reload failed.
            await File.WriteAllTextAsync(served + ".tmp", "not a zip");
            File.Move(served + ".tmp", served, overwrite: true);
            JsonObject health = await UntilHealth(client, health => health["lastReloadError"] is not null);
            Assert.Equal(second, health["model"]!.GetValue<string>());
            Assert.Contains("failed", health["status"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await Http.Post(client, "/explain", fixture.Rows[5])).Status);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        static async Task<long> Until(HttpClient client, string version)
        {
            var waited = Stopwatch.StartNew();
            while ((await Http.Get(client, "/health"))["model"]!.GetValue<string>() != version)
            {
                Assert.True(waited.Elapsed < Patience, $"The service did not reload version {version} within {Patience.TotalSeconds} s.");
                await Task.Delay(50);
            }

            return Stopwatch.GetTimestamp();
        }
    }

    private static async Task<JsonObject> UntilHealth(HttpClient client, Func<JsonObject, bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            JsonObject health = await Http.Get(client, "/health");
            if (condition(health))
            {
                return health;
            }

            Assert.True(waited.Elapsed < Patience, $"/health did not change within {Patience.TotalSeconds} s: {health.ToJsonString()}");
            await Task.Delay(50);
        }
    }
}
