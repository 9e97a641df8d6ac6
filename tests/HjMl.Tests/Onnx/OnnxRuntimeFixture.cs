using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HjMl.Tests.Support;

namespace HjMl.Tests.Onnx;

/// <summary>
/// A real ONNX runtime for the tests: onnxruntime-node, installed into tests/onnx-runtime/node_modules by
/// <c>npm install</c> the first time it is missing, and driven through tests/onnx-runtime/run.js. Without Node.js and
/// npm every test that uses it fails with a message saying so; nothing is skipped silently.
/// </summary>
public sealed class OnnxRuntimeFixture
{
    /// <summary>The onnxruntime-node version tests/onnx-runtime/package.json pins.</summary>
    public const string PinnedVersion = "1.30.0";

    private static readonly object InstallLock = new();
    private static string? installedFolder;

    public OnnxRuntimeFixture()
    {
        Folder = EnsureInstalled();
        string threads = Environment.GetEnvironmentVariable("HJML_ORT_THREADS") ?? "1";
        IntraOpThreads = int.TryParse(threads, NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) ? count : 1;
    }

    /// <summary>tests/onnx-runtime.</summary>
    public string Folder { get; }

    /// <summary>ONNX Runtime's intra-op threads (HJML_ORT_THREADS, default 1: the test machines have 2 cores and run builds alongside).</summary>
    public int IntraOpThreads { get; }

    /// <summary>Runs <paramref name="onnx"/> on float32 <paramref name="features"/> (rows x columns) and returns every output.</summary>
    public RuntimeResult Run(byte[] onnx, float[] features, int rows, int columns, int? intraOpThreads = null)
    {
        string work = Directory.CreateTempSubdirectory("hjml-onnx-run-").FullName;
        try
        {
            string modelPath = Path.Combine(work, "model.onnx");
            string inputPath = Path.Combine(work, "inputs.json");
            string outputPath = Path.Combine(work, "outputs.json");
            File.WriteAllBytes(modelPath, onnx);
            var inputs = new Dictionary<string, object>
            {
                ["Features"] = new { type = "float32", dims = new[] { rows, columns }, data = features.Select(value => (double)value) },
            };
            File.WriteAllText(inputPath, JsonSerializer.Serialize(inputs));
            string threads = (intraOpThreads ?? IntraOpThreads).ToString(CultureInfo.InvariantCulture);
            Execute("node", [Path.Combine(Folder, "run.js"), modelPath, inputPath, outputPath, "--threads", threads], Folder, TimeSpan.FromMinutes(2));
            return RuntimeResult.Parse(File.ReadAllText(outputPath));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string EnsureInstalled()
    {
        lock (InstallLock)
        {
            if (installedFolder is not null)
            {
                return installedFolder;
            }

            string folder = Path.Combine(TestData.RepositoryRoot, "tests", "onnx-runtime");
            string node = Execute("node", ["--version"], folder, TimeSpan.FromMinutes(1)).Trim();
            if (!IsInstalled(folder))
            {
                // Another test process (a second test run on the same tree) may be installing too: serialise on a lock file.
                string lockName = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..16];
                using FileStream held = AcquireFileLock(Path.Combine(Path.GetTempPath(), $"hjml-onnx-runtime-{lockName}.lock"));
                if (!IsInstalled(folder))
                {
                    Execute(OperatingSystem.IsWindows() ? "npm.cmd" : "npm", ["install", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(10));
                }

                if (!IsInstalled(folder))
                {
                    throw new InvalidOperationException($"npm install in {folder} finished but node_modules/onnxruntime-node is not version {PinnedVersion} (node {node}).");
                }
            }

            installedFolder = folder;
            return folder;
        }
    }

    private static bool IsInstalled(string folder)
    {
        string manifest = Path.Combine(folder, "node_modules", "onnxruntime-node", "package.json");
        if (!File.Exists(manifest))
        {
            return false;
        }

        using JsonDocument package = JsonDocument.Parse(File.ReadAllText(manifest));
        return package.RootElement.TryGetProperty("version", out JsonElement version) && version.GetString() == PinnedVersion;
    }

    private static FileStream AcquireFileLock(string path)
    {
        DateTime giveUp = DateTime.UtcNow.AddMinutes(12);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (DateTime.UtcNow < giveUp)
            {
                Thread.Sleep(500);
            }
        }
    }

    /// <summary>Runs a program to completion and returns its standard output; any failure names the command and shows its output.</summary>
    internal static string Execute(string program, string[] arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // onnxruntime-node's install step would download CUDA libraries; the CPU runtime is inside the package.
        start.Environment["ONNXRUNTIME_NODE_INSTALL"] = "skip";
        string command = $"{program} {string.Join(' ', arguments)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{command}'.");
        }
        catch (Win32Exception missing)
        {
            throw new InvalidOperationException(
                $"'{program}' could not be started ({missing.Message}). The ONNX tests run every exported graph in ONNX Runtime through " +
                $"the npm package onnxruntime-node {PinnedVersion}, so they need Node.js (18 or newer) and npm on PATH.", missing);
        }

        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"'{command}' in {workingDirectory} did not finish within {timeout}.");
            }

            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"'{command}' in {workingDirectory} exited with {process.ExitCode}.\nstdout:\n{output.Result}\nstderr:\n{error.Result}");
            }

            return output.Result;
        }
    }
}

/// <summary>What run.js reports: the runtime version and every output tensor.</summary>
public sealed record RuntimeResult(string RuntimeVersion, IReadOnlyList<string> InputNames, IReadOnlyDictionary<string, RuntimeTensor> Outputs)
{
    public static RuntimeResult Parse(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        var outputs = new Dictionary<string, RuntimeTensor>(StringComparer.Ordinal);
        foreach (JsonProperty output in root.GetProperty("outputs").EnumerateObject())
        {
            string type = output.Value.GetProperty("type").GetString()!;
            long[] dims = output.Value.GetProperty("dims").EnumerateArray().Select(dim => dim.GetInt64()).ToArray();
            double[] values = output.Value.GetProperty("data").EnumerateArray()
                .Select(value => value.ValueKind switch
                {
                    JsonValueKind.True => 1.0,
                    JsonValueKind.False => 0.0,
                    _ => value.GetDouble(),
                })
                .ToArray();
            outputs[output.Name] = new RuntimeTensor(type, dims, values);
        }

        string[] inputNames = root.GetProperty("inputNames").EnumerateArray().Select(name => name.GetString()!).ToArray();
        return new RuntimeResult(root.GetProperty("runtime").GetString()!, inputNames, outputs);
    }
}

/// <summary>One output tensor: its ONNX Runtime type name (float32, int64, bool), shape and values (bool as 0/1).</summary>
public sealed record RuntimeTensor(string Type, long[] Dims, double[] Values);
