using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;

namespace HjMl.Benchmarks;

/// <summary>
/// The job issue 15's flow benchmarks run with: a process of their own per case (so that a case's thread settings
/// apply to the whole process), two warm-up and ten measured iterations, and the full JSON export scripts/flow-benchmarks
/// reads. <see cref="FlowSingleThreadConfig"/> adds the same job with HjMl on one thread.
/// </summary>
public class FlowConfig : ManualConfig
{
    /// <summary>The job's id in BenchmarkDotNet's reports for the default parallelism.</summary>
    public const string DefaultJob = "default-threads";

    /// <summary>The job's id for one thread.</summary>
    public const string SingleThreadJob = "one-thread";

    public FlowConfig()
    {
        AddJob(Measured.WithId(DefaultJob));
        AddExporter(JsonExporter.Full);
    }

    /// <summary>The measured job, without an id.</summary>
    protected static Job Measured { get; } = Job.Default
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(10);
}

/// <summary>
/// <see cref="FlowConfig"/> plus the same job on one thread: DOTNET_PROCESSOR_COUNT=1 (HjMl's scoring threads and
/// Environment.ProcessorCount follow it) and MKL_NUM_THREADS, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS at 1 (the
/// flow's matrix products).
/// </summary>
public sealed class FlowSingleThreadConfig : FlowConfig
{
    public FlowSingleThreadConfig()
    {
        AddJob(Measured
            .WithEnvironmentVariables(
                new EnvironmentVariable("DOTNET_PROCESSOR_COUNT", "1"),
                new EnvironmentVariable("MKL_NUM_THREADS", "1"),
                new EnvironmentVariable("OPENBLAS_NUM_THREADS", "1"),
                new EnvironmentVariable("OMP_NUM_THREADS", "1"))
            .WithId(SingleThreadJob));
    }
}
