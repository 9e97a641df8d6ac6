using HjMl.Onnx;
using HjMl.Relaxation;
using HjMl.Tests.Onnx;

namespace HjMl.Tests.Relaxation;

public sealed class RelaxationOnnxTests(OnnxRuntimeFixture runtime) : IClassFixture<OnnxRuntimeFixture>
{
    public static TheoryData<RelaxationMixing, RelaxationActivation, RelaxationReadout, int, int> Cases => new()
    {
        { RelaxationMixing.HomogeneousAdr, RelaxationActivation.Softplus, RelaxationReadout.Softmax, 1, 0 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Tanh, RelaxationReadout.Linear, 4, 1 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Relu, RelaxationReadout.State, 3, 2 },
        { RelaxationMixing.HeterogeneousAdr, RelaxationActivation.Logistic, RelaxationReadout.Softmax, 1, 3 },
        { RelaxationMixing.Dense, RelaxationActivation.Identity, RelaxationReadout.Linear, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExportedNetworkMatchesHjMlInOnnxRuntime(RelaxationMixing mixing, RelaxationActivation activation, RelaxationReadout readout, int height, int tile)
    {
        // Random moments far from the identity, so every stencil weight and the row ends of a 2-D grid matter.
        var random = new Random(3);
        const int n = 24, rows = 40;
        GridShape grid = height == 1 ? GridShape.Line(n) : new GridShape(height, n / height);
        var shape = new RelaxationShape(n, 3, mixing, grid, Math.Max(1, tile), readout, 4);
        double[] parameters = Enumerable.Range(0, shape.ParameterCount).Select(_ => random.NextDouble() - 0.5).ToArray();
        var network = new RelaxationNetwork(shape, activation, 0.3, 1.2, parameters);
        float[] features = Enumerable.Range(0, rows * n).Select(_ => (float)((4 * random.NextDouble()) - 2)).ToArray();
        double[] widened = features.Select(value => (double)value).ToArray();
        var expected = new double[rows * network.OutputDimension];
        network.PredictBatch(widened, expected);
        var states = new double[n];

        RuntimeResult result = runtime.Run(RelaxationOnnxExport.ToBytes(network), features, rows, n);

        for (int row = 0; row < rows; row++)
        {
            network.Transport(widened.AsSpan(row * n, n), states);
            for (int site = 0; site < n; site++)
            {
                double value = result.Outputs[RelaxationOnnxExport.StateName].Values[(row * n) + site];
                Assert.True(Math.Abs(value - states[site]) <= 1e-5 * Math.Max(1, Math.Abs(states[site])), $"row {row}, site {site}: ONNX {value}, HjMl {states[site]}");
            }
        }

        if (readout != RelaxationReadout.State)
        {
            double[] scores = result.Outputs[RelaxationOnnxExport.ScoreName].Values;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(scores[i] - expected[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"output {i}: ONNX {scores[i]}, HjMl {expected[i]}");
            }
        }
    }
}
