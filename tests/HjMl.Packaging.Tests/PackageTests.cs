using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace HjMl.Packaging.Tests;

/// <summary>
/// Packs HjMl and HjMl.MLNet into a folder feed, checks what a NuGet user gets (dependency ranges, readme, license,
/// repository, THEORY.md, symbols), then builds, with warnings as errors, and runs each package's PACKAGE.md sample as a
/// consumer app that references only the packages, and compares its output with the one PACKAGE.md shows.
/// </summary>
/// <remarks>
/// The consumers restore into a packages folder of their own (so a package of the same version from an earlier run is
/// never reused), with this machine's packages folder as a fallback, so Microsoft.ML and ONNX Runtime are not copied.
/// </remarks>
public sealed class PackageTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly TimeSpan CommandLimit = TimeSpan.FromMinutes(5);

    private readonly string root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"hjml-packaging-{Guid.NewGuid():N}")).FullName;

    // A version no earlier run used, so nothing cached stands in for the packages packed here.
    private readonly string version = $"1.0.0-packagingtest.{DateTime.UtcNow:yyyyMMddHHmmssfff}";

    [Fact]
    [Trait("Speed", "Slow")]
    public void PackagesCarryWhatNuGetUsersExpectAndTheirSamplesRunAsDocumented()
    {
        string feed = Path.Combine(root, "feed");
        foreach (string project in new[] { "src/HjMl/HjMl.csproj", "src/HjMl.MLNet/HjMl.MLNet.csproj" })
        {
            Dotnet(RepositoryRoot, $"pack \"{Path.Combine(RepositoryRoot, project)}\" -c {Configuration} --no-build -o \"{feed}\" -p:PackageVersion={version}");
        }

        XElement engine = Nuspec(feed, "HjMl", out string[] engineFiles);
        XElement plugin = Nuspec(feed, "HjMl.MLNet", out string[] pluginFiles);
        foreach ((string id, XElement metadata, string[] files) in new[] { ("HjMl", engine, engineFiles), ("HjMl.MLNet", plugin, pluginFiles) })
        {
            Assert.Equal("MIT", Element(metadata, "license").Value);
            Assert.Equal("expression", Element(metadata, "license").Attribute("type")?.Value);
            Assert.Equal("PACKAGE.md", Element(metadata, "readme").Value);
            Assert.Equal("git", Element(metadata, "repository").Attribute("type")?.Value);
            Assert.Contains("PACKAGE.md", files);
            Assert.Contains("LICENSE", files);
            Assert.Contains("THEORY.md", files);
            Assert.Contains($"lib/net10.0/{id}.dll", files);
            Assert.Contains($"lib/net10.0/{id}.xml", files);
            Assert.Contains($"lib/net10.0/{id}.pdb", SymbolFiles(feed, id));
        }

        Dictionary<string, string> dependencies = Element(plugin, "dependencies").Descendants().Where(element => element.Name.LocalName == "dependency")
            .ToDictionary(element => element.Attribute("id")!.Value, element => element.Attribute("version")!.Value.Replace(" ", string.Empty, StringComparison.Ordinal));
        string mlRange = Property("MicrosoftMLPackageRange"), runtimeRange = Property("MicrosoftMLOnnxRuntimePackageRange");
        Assert.Equal(mlRange, dependencies["Microsoft.ML"]);
        Assert.Equal(mlRange, dependencies["Microsoft.ML.OnnxTransformer"]);
        Assert.Equal(runtimeRange, dependencies["Microsoft.ML.OnnxRuntime"]);
        Assert.Equal(version, dependencies["HjMl"]);

        WriteNuGetConfig();
        RunSample("engine", Path.Combine(RepositoryRoot, "src/HjMl/PACKAGE.md"), $"<PackageReference Include=\"HjMl\" Version=\"{version}\" />");
        RunSample("mlnet", Path.Combine(RepositoryRoot, "src/HjMl.MLNet/PACKAGE.md"), $"<PackageReference Include=\"HjMl.MLNet\" Version=\"{version}\" />\n    <PackageReference Include=\"Microsoft.ML\" Version=\"{Property("MicrosoftMLVersion")}\" />");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover folder in the temp directory is not worth hiding the test's own outcome.
        }
    }

    private static string RepositoryRoot { get; } = FindRepositoryRoot();

    // Writes a consumer project holding the first C# block of the readme, builds it with warnings as errors, runs it,
    // and compares its output with the readme's text block.
    private void RunSample(string name, string readme, string references)
    {
        string text = File.ReadAllText(readme);
        string program = Block(text, "csharp", readme);
        string expected = Block(text, "text", readme);
        string folder = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
        File.WriteAllText(Path.Combine(folder, "Program.cs"), program);
        File.WriteAllText(Path.Combine(folder, $"{name}.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                {references}
              </ItemGroup>
            </Project>
            """);

        Dotnet(folder, "build -c Release");
        string output = Dotnet(folder, "run -c Release --no-build");

        Assert.True(Lines(expected).SequenceEqual(Lines(output)), $"{readme} shows as its sample's output:\n{expected}\nbut the sample printed:\n{output}");
    }

    private void WriteNuGetConfig()
    {
        string machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } given
            ? given
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="packages" />
              </config>
              <packageSources>
                <add key="hjml-packaging-test" value="feed" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    private XElement Nuspec(string feed, string id, out string[] files)
    {
        using ZipArchive package = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
        files = [.. package.Entries.Select(entry => entry.FullName)];
        using Stream nuspec = package.GetEntry($"{id}.nuspec")!.Open();
        return Element(XDocument.Load(nuspec).Root!, "metadata");
    }

    private string[] SymbolFiles(string feed, string id)
    {
        using ZipArchive symbols = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.snupkg"));
        return [.. symbols.Entries.Select(entry => entry.FullName)];
    }

    private static XElement Element(XElement parent, string name)
        => parent.Elements().FirstOrDefault(element => element.Name.LocalName == name) ?? throw new InvalidOperationException($"The nuspec has no <{name}> in <{parent.Name.LocalName}>.");

    // A property of Directory.Packages.props, without spaces.
    private static string Property(string name)
    {
        XElement? property = XDocument.Load(Path.Combine(RepositoryRoot, "Directory.Packages.props")).Descendants(name).FirstOrDefault();
        return property?.Value.Replace(" ", string.Empty, StringComparison.Ordinal) ?? throw new InvalidOperationException($"Directory.Packages.props has no {name}.");
    }

    private static string Block(string markdown, string language, string source)
    {
        Match block = Regex.Match(markdown, $"```{language}\\n(.*?)```", RegexOptions.Singleline);
        return block.Success ? block.Groups[1].Value : throw new InvalidOperationException($"{source} has no ```{language} block.");
    }

    private static string[] Lines(string text) => [.. text.ReplaceLineEndings("\n").Trim().Split('\n').Select(line => line.TrimEnd())];

    // Runs dotnet without build servers (nothing outlives the test) and returns its output, or fails with it.
    private static string Dotnet(string folder, string arguments)
    {
        var start = new ProcessStartInfo("dotnet", $"{arguments} --disable-build-servers -nologo")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // The test host's MSBuild and NuGet settings belong to the build that runs the tests, not to the consumer's.
        foreach (string variable in start.Environment.Keys.Where(key => key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key is "NUGET_PACKAGES" or "DOTNET_HOST_PATH").ToArray())
        {
            start.Environment.Remove(variable);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandLimit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {arguments} in {folder} did not finish within {CommandLimit}.");
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {arguments} in {folder} exited with {process.ExitCode}:\n{output.Result}\n{error.Result}");
        return output.Result;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above the test assembly ({AppContext.BaseDirectory}) holds HjMl.sln.");
    }
}
