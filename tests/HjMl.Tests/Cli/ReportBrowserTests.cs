using System.Diagnostics;
using System.Text.RegularExpressions;
using HjMl.Cli.Report;
using HjMl.Data;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Cli;

/// <summary>
/// The report in a real browser: headless Chromium (Debian package <c>chromium</c>, which .ci/run installs) loads the
/// page, runs its script with no error, and every chart draws. A missing Chromium fails these tests; on a developer's
/// machine without it, <c>HJML_SKIP_BROWSER_TESTS=1</c> skips them (ignored when <c>CI</c> is set).
/// </summary>
public sealed partial class ReportBrowserTests : IDisposable
{
    private static readonly Lazy<string> Page = new(BuildPage);

    private readonly string folder = Directory.CreateTempSubdirectory("hjml-browser-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [BrowserFact]
    public void ChromiumLoadsTheReportWithoutScriptErrorsAndDrawsEveryChart()
    {
        string html = Path.Combine(folder, "report.html");
        File.WriteAllText(html, Page.Value);
        int charts = Regex.Count(Page.Value, "<figure class=\"chart\">");
        (string dom, string log) = RunChromium(folder, "--dump-dom", new Uri(html).AbsoluteUri);

        Match rendered = ChartsRendered().Match(dom);
        Assert.True(rendered.Success, "the page's script did not run to the end (it records the charts it drew); Chromium's log:\n" + log);
        Assert.Equal($"{charts}/{charts}", rendered.Groups[1].Value);
        Assert.True(charts >= 8, $"{charts} charts");
        Assert.DoesNotContain("Uncaught", log);
        Assert.DoesNotContain(":CONSOLE", log);
    }

    [BrowserFact]
    public void ChromiumTakesAScreenshotOfTheReport()
    {
        string html = Path.Combine(folder, "report.html");
        string png = Path.Combine(folder, "report.png");
        File.WriteAllText(html, Page.Value);
        RunChromium(folder, $"--screenshot={png}", "--window-size=1280,1600", new Uri(html).AbsoluteUri);

        byte[] image = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, image[..4]);
        Assert.True(image.Length > 50_000, $"a {image.Length}-byte screenshot is too small to show the report");
    }

    /// <summary>The Chromium to run: HJML_CHROMIUM, else chromium, chromium-browser or google-chrome on the PATH.</summary>
    internal static string? FindChromium()
    {
        string? given = Environment.GetEnvironmentVariable("HJML_CHROMIUM");
        if (!string.IsNullOrEmpty(given))
        {
            return given;
        }

        string[] folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser", "google-chrome" }.SelectMany(name => folders.Select(folder => Path.Combine(folder, name))).FirstOrDefault(File.Exists);
    }

    private static string BuildPage()
    {
        Dataset data = TestData.Load("iris.csv");
        TrainingResult trained = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, MaximumEpochs = 20, Seed = 1 }).Train(data);
        var settings = new ReportSettings(BudgetSteps: 5, LandscapeGrid: 21, LandscapeSteps: 5);
        return ReportBuilder.Build(new ReportInputs(trained.Model, data, "iris.csv", "iris.hjml", trained.History, new Dictionary<string, string>()) { Settings = settings }).Html;
    }

    // Runs headless Chromium with its own profile in the test's folder; returns its standard output and its log.
    private static (string Output, string Log) RunChromium(string folder, params string[] arguments)
    {
        string chromium = FindChromium() ?? throw new InvalidOperationException("Chromium is not installed (Debian: apt-get install chromium; or set HJML_CHROMIUM to its path). Set HJML_SKIP_BROWSER_TESTS=1 to skip the browser tests on a machine without it.");
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", $"--user-data-dir={Path.Combine(folder, "profile")}", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{chromium} did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> log = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{chromium} did not finish within 2 minutes.");
        }

        Assert.True(process.ExitCode == 0, $"{chromium} exited with {process.ExitCode}:\n{log.Result}");
        return (output.Result, log.Result);
    }

    [GeneratedRegex("data-charts-rendered=\"([0-9]+/[0-9]+)\"")]
    private static partial Regex ChartsRendered();
}

/// <summary>
/// A test that needs headless Chromium. It runs everywhere and fails where Chromium is missing, except that on a
/// developer's machine (no CI variable) HJML_SKIP_BROWSER_TESTS=1 skips it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Skips the test only where asked to and not under CI.</summary>
    public BrowserFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("HJML_SKIP_BROWSER_TESTS") == "1" && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Skip = "HJML_SKIP_BROWSER_TESTS=1: the headless-Chromium tests of the report are skipped on this machine.";
        }
    }
}
