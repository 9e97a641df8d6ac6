using BenchmarkDotNet.Attributes;
using HjMl.Models;

namespace HjMl.Benchmarks;

/// <summary>
/// Issue 15's scoring bar, HjMl's side: the depth-4 mnist flow (<see cref="FlowCase.ScoringModel"/>: 784 features, 4
/// steps of 32 support points, 10 class heads of 8 pieces) scoring one row through Score and 10000 rows through
/// ScoreBatch, in float32 (the flow in float32 through SinglePrecisionFlow) and in double (GibbsFlow's transport and
/// the double read-out). Two jobs: the default parallelism and one thread (<see cref="FlowSingleThreadConfig"/>).
/// The rows are the float32 rows ONNX Runtime scores (<see cref="FlowOnnxRuntimeBenchmarks"/>), widened for the double path.
/// </summary>
[Config(typeof(FlowSingleThreadConfig))]
public class FlowScoringBenchmarks
{
    private HopfColeModel model = null!;
    private float[] singleFeatures = null!;
    private double[] features = null!;
    private float[] singleScores = null!;
    private double[] scores = null!;

    [Params(1, FlowCase.ScoringRows)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        model = FlowCase.ScoringModel;
        singleFeatures = FlowCase.SingleFeatures.AsSpan(0, Batch * model.InputDimension).ToArray();
        features = Array.ConvertAll(singleFeatures, value => (double)value);
        singleScores = new float[Batch * model.OutputLength];
        scores = new double[Batch * model.OutputLength];
    }

    /// <summary>Float32: one row through Score, or the batch through ScoreBatch.</summary>
    [Benchmark]
    public float Float32()
    {
        if (Batch == 1)
        {
            model.Score(singleFeatures, singleScores);
        }
        else
        {
            model.ScoreBatch(singleFeatures, singleScores);
        }

        return singleScores[0];
    }

    /// <summary>Double: one row through Score, or the batch through ScoreBatch.</summary>
    [Benchmark]
    public double Float64()
    {
        if (Batch == 1)
        {
            model.Score(features, scores);
        }
        else
        {
            model.ScoreBatch(features, scores);
        }

        return scores[0];
    }
}
