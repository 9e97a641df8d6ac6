// The accuracy table of docs/accuracy.md: HjMl's Hopf–Cole trainers through the ML.NET plug-in and ML.NET's LightGbm,
// FastTree and linear trainers, trained in one run on the same folds with the same featurisation. scripts/accuracy
// builds and runs it; --help lists the options.
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using HjMl.Accuracy;
using Microsoft.ML;

Settings settings;
try
{
    settings = Settings.Parse(args);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 2;
}

if (settings.Help)
{
    Console.WriteLine(Settings.Usage);
    return 0;
}

string root = RepositoryRoot();
IReadOnlyList<string> folders = settings.DataFolders.Count > 0
    ? settings.DataFolders
    : [Path.GetFullPath(Path.Combine(root, "..", "shared", "data")), Path.Combine(root, "data")];

var runs = new List<(DataSet DataSet, string Path)>();
var skipped = new List<string>();
foreach (DataSet dataSet in DataSet.All.Where(set => settings.DataSets.Count == 0 || settings.DataSets.Contains(set.Name)))
{
    // A CSV may also stand compressed beside it (the repository's data/ ships adult.csv as adult.csv.gz).
    string? path = folders.SelectMany(folder => new[] { Path.Combine(folder, dataSet.FileName), Path.Combine(folder, dataSet.FileName + ".gz") })
        .FirstOrDefault(File.Exists);
    if (path is not null)
    {
        runs.Add((dataSet, path));
    }
    else if (settings.DataSets.Count > 0)
    {
        Console.Error.WriteLine($"{dataSet.FileName} is in none of {string.Join(", ", folders)}.");
        return 2;
    }
    else
    {
        skipped.Add($"{dataSet.Name} ({dataSet.FileName} is in none of the data folders)");
    }
}

if (settings.DataSets.Count > 0)
{
    skipped.AddRange(DataSet.All.Where(set => !settings.DataSets.Contains(set.Name)).Select(set => $"{set.Name} (not selected with --datasets)"));
}

Learner[] learners = [.. Learner.Peers.Where(peer => settings.Peers.Contains(peer.Name)), .. settings.Configurations.Select(Learner.HjMl)];

// The plug-in validates its options when a trainer is created: fail here, not after an hour of peers.
try
{
    foreach (Learner learner in learners.Where(l => l.IsHjMl))
    {
        foreach (LearningTask task in runs.Select(run => run.DataSet.Task).Distinct())
        {
            _ = learner.Create(new MLContext(settings.Seed), task);
        }
    }
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"--hjml: {exception.Message}");
    return 2;
}

DateTime started = DateTime.UtcNow;
string loadAtStart = LoadAverage();
var clock = Stopwatch.StartNew();
var results = new List<DataSetResult>();
foreach ((DataSet dataSet, string path) in runs)
{
    results.Add(CrossValidation.Run(dataSet, path, learners, settings.Folds, settings.Seed, Console.Out));
}

double wall = clock.Elapsed.TotalSeconds;
string mlVersion = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
List<string> machine =
[
    $"Machine: {CpuModel()}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, Microsoft.ML {mlVersion}.",
    $"Load average (1, 5, 15 min) at the start {loadAtStart}, at the end {LoadAverage()}: other work shares the cores, so times are indicative and ratios in one run are the comparable figures.",
    .. settings.Machine,
];
var info = new RunInfo(
    settings.Command ?? "dotnet tests/HjMl.Accuracy/bin/Release/net10.0/HjMl.Accuracy.dll " + string.Join(' ', args),
    started,
    wall,
    machine,
    settings.Folds,
    settings.Seed,
    settings.Configurations,
    skipped);

var table = new StringBuilder();
Report.AppendTable(table, results);
Console.WriteLine();
Console.Write(table);
Console.WriteLine($"Wall time: {wall / 60:F1} minutes.");
if (settings.Output is not null)
{
    File.WriteAllText(settings.Output, Report.Markdown(info, results));
    Console.WriteLine($"Wrote {settings.Output}.");
}

return 0;

static string RepositoryRoot()
{
    for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
    {
        if (File.Exists(Path.Combine(folder.FullName, "HjMl.sln")))
        {
            return folder.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}

static string CpuModel()
{
    const string cpuInfo = "/proc/cpuinfo";
    string? line = File.Exists(cpuInfo) ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
    return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
}

static string LoadAverage()
{
    const string loadAverage = "/proc/loadavg";
    return File.Exists(loadAverage) ? string.Join(", ", File.ReadAllText(loadAverage).Split(' ').Take(3)) : "?";
}
