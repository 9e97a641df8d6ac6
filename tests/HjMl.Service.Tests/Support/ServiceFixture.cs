using System.Security.Cryptography;
using System.Text.Json.Nodes;
using HjMl.Service.Training;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace HjMl.Service.Tests.Support;

/// <summary>
/// Two models trained once for all the service tests with the sample's own <c>train</c> code, on the first 1,200 rows of
/// adult (Data/adult-1200.csv: six numeric and eight text columns): the one served, and a second (another seed and eps)
/// to reload. Each test starts its own in-memory service (<see cref="Start"/>).
/// </summary>
public sealed class ServiceFixture : IDisposable
{
    public ServiceFixture()
    {
        Folder = Directory.CreateTempSubdirectory("hjml-service-tests-").FullName;
        ModelPath = Path.Combine(Folder, "adult.zip");
        OtherModelPath = Path.Combine(Folder, "adult-other.zip");
        TrainCommand.Train(new TrainingSettings(DataPath, ModelPath, SupportPoints: 16, Epochs: 40, Top: 3, Seed: 1));
        TrainCommand.Train(new TrainingSettings(DataPath, OtherModelPath, SupportPoints: 12, Viscosity: 0.3, Epochs: 40, Top: 3, Seed: 2));
        Rows = [.. File.ReadLines(DataPath).Skip(1).Select(line => Row(Header, line.Split(',')))];
    }

    /// <summary>Data/adult-1200.csv beside the test assembly.</summary>
    public static string DataPath { get; } = Path.Combine(AppContext.BaseDirectory, "Data", "adult-1200.csv");

    /// <summary>The CSV's header: 14 input columns, then Label.</summary>
    public static string[] Header { get; } = File.ReadLines(DataPath).First().Split(',');

    /// <summary>The columns read as text.</summary>
    public static string[] TextColumns { get; } = ["workclass", "education", "marital_status", "occupation", "relationship", "ethnicity", "sex", "native_country"];

    /// <summary>A temporary folder, deleted with the fixture.</summary>
    public string Folder { get; }

    /// <summary>The model the tests serve (seed 1, eps 0.5, 16 support points per head).</summary>
    public string ModelPath { get; }

    /// <summary>Another model of the same data (seed 2, eps 0.3, 12 support points), to reload.</summary>
    public string OtherModelPath { get; }

    /// <summary>Every row of the CSV as the JSON object a client sends (Label left out).</summary>
    public IReadOnlyList<JsonObject> Rows { get; }

    /// <summary>A copy of row <paramref name="index"/>, to edit.</summary>
    public JsonObject RowAt(int index) => (JsonObject)Rows[index].DeepClone();

    /// <summary>Starts the service on <paramref name="modelPath"/> with <paramref name="settings"/> (configuration keys and values).</summary>
    public static WebApplicationFactory<Program> Start(string modelPath, params (string Key, string Value)[] settings)
        => new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("HjMl:ModelPath", modelPath);
            foreach ((string key, string value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.ClearProviders());
        });

    /// <summary>What the service reports as the version of the model file at <paramref name="path"/>.</summary>
    public static string VersionOf(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..16];

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static JsonObject Row(string[] header, string[] cells)
    {
        var row = new JsonObject();
        for (int i = 0; i < header.Length - 1; i++)
        {
            row[header[i]] = TextColumns.Contains(header[i]) ? JsonValue.Create(cells[i]) : JsonValue.Create(double.Parse(cells[i], System.Globalization.CultureInfo.InvariantCulture));
        }

        return row;
    }
}

/// <summary>The service tests share one <see cref="ServiceFixture"/> (models are trained once).</summary>
[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "Service";
}
