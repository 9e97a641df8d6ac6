using BenchmarkDotNet.Attributes;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 15's training-speed bar, HjMl's side: one epoch of the depth-4 flow on mnist-10000's 8000 training rows
/// (<see cref="FlowCase"/>; 63 mini-batches of 128 rows, all cores), from the same initial parameters every time, with
/// the gradients in float32 (what HopfColeTrainer runs under Adam) and in float64 (the path before, which L-BFGS keeps). The set-up (reading and standardising the data, the flow's initial controls, the read-out's k-means++ support
/// points) is done once, outside the timing; see <see cref="FlowEpoch"/> for what one epoch includes. The PyTorch peer
/// (scripts/peers/flow_torch.py) times the same epoch in the same run of scripts/flow-benchmarks.
/// </summary>
[Config(typeof(FlowConfig))]
public class FlowTrainingBenchmarks
{
    private FlowEpoch epoch = null!;

    /// <summary>The gradients' precision: "float32" or "float64".</summary>
    [Params("float32", "float64")]
    public string Precision { get; set; } = "float32";

    [GlobalSetup]
    public void Setup() => epoch = FlowEpoch.Create(FlowCase.Train, FlowCase.Options(1), Precision == "float32");

    /// <summary>One epoch: shuffle, 63 x (gather, forward, loss and gradient, adjoint, Adam update), end of epoch.</summary>
    [Benchmark]
    public double Epoch() => epoch.Run();
}
