using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace HjMl.Benchmarks;

/// <summary>
/// The short job the grid runs with, so that the whole suite regenerates in minutes on two cores: in process (one
/// build, no process per case, and the grid's models and rows are made once), one warm-up and five measured
/// iterations of about 0.2 s each (a case slower than that runs once per iteration), the memory diagnoser, and the
/// full JSON export scripts/benchmarks reads (BenchmarkDotNet's default exporters add the markdown and CSV tables).
/// </summary>
public sealed class GridConfig : ManualConfig
{
    public GridConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(200))
            .WithId("grid"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddExporter(JsonExporter.Full);
    }
}
