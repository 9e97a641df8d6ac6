using System.Globalization;
using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Tests.Support;
using Xunit.Abstractions;

namespace HjMl.Tests.Onnx;

/// <summary>
/// The explanation outputs (THEORY.md sections 3–6) computed by ONNX Runtime agree with HjMl's own layer methods
/// (GibbsWeights, Entropy, Decompose, Gradient, WeightDiameter) on the same standardised float32 rows.
/// </summary>
public sealed class OnnxExplanationTests(OnnxRuntimeFixture runtime, ITestOutputHelper log) : IClassFixture<OnnxRuntimeFixture>
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string, double> Cases => new()
    {
        { "iris", 0.1 },
        { "iris", 0.0 },
        { "breast_cancer", 0.3 },
        { "diabetes", 0.5 },
        { "digits", 0.5 },
        { "tiny-eps", 1e-30 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExplanationsMatchHjMlInOnnxRuntime(string name, double viscosity)
    {
        (HopfColeModel model, Dataset data) = Build(name, viscosity);
        Explained explained = Explain(model, data, top: 3);
        Reference expected = Reference.Of(model, explained.Rows);
        int rows = explained.Rows.Length;
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        int d = model.InputDimension;

        AssertClose(explained, OnnxExport.GibbsWeightsName, [rows, heads, pieces], expected.GibbsWeights);
        AssertClose(explained, OnnxExport.AttributionEntropyName, [rows, heads], expected.Entropies);
        AssertClose(explained, OnnxExport.FeatureContributionsName, [rows, heads, d], expected.Contributions);
        AssertClose(explained, OnnxExport.BiasTermsName, [rows, heads], expected.BiasTerms);
        AssertClose(explained, OnnxExport.SupportDistanceName, [rows], expected.SupportDistances);
        if (viscosity > 0)
        {
            // The score is the distance over the diffusion radius sqrt(2 eps t): compare it in distance units, since at
            // tiny eps 1/radius (about 6e14 at eps = 1e-30) magnifies the float32 rounding of a near-zero distance.
            double radius = Math.Sqrt(2 * viscosity * model.Time);
            radius = double.IsNaN(model.CoverageRadius) ? radius : Math.Max(radius, model.CoverageRadius);
            RuntimeTensor score = explained.Result.Outputs[OnnxExport.OutOfSupportScoreName];
            Assert.Equal([rows], score.Dims);
            for (int i = 0; i < rows; i++)
            {
                double distance = expected.SupportDistances[i];
                Assert.True(Math.Abs((score.Values[i] * radius) - distance) <= Tolerance * Math.Max(1, distance), $"row {i}: OutOfSupportScore {score.Values[i]} x radius {radius} is not the distance {distance}");
            }
        }
        else
        {
            Assert.DoesNotContain(OnnxExport.OutOfSupportScoreName, explained.Result.Outputs.Keys);
            Assert.DoesNotContain(OnnxExport.CertifiedRadiusName, explained.Result.Outputs.Keys);
        }

        if (viscosity > 0 && model.Kind != ModelKind.Regression)
        {
            AssertClose(explained, OnnxExport.CertifiedRadiusName, [rows], expected.Radii);
        }
        else if (model.Kind == ModelKind.Regression)
        {
            Assert.DoesNotContain(OnnxExport.CertifiedRadiusName, explained.Result.Outputs.Keys);
        }
    }

    [Theory]
    [Trait("Speed", "Slow")]
    [MemberData(nameof(Cases))]
    public void TopSupportPointsAreTheLargestGibbsWeights(string name, double viscosity)
    {
        (HopfColeModel model, Dataset data) = Build(name, viscosity);
        Explained explained = Explain(model, data, top: 3);
        Reference expected = Reference.Of(model, explained.Rows);
        int pieces = model.Layer.NumberOfPieces;
        double[] weights = explained.Result.Outputs[OnnxExport.TopSupportWeightsName].Values;
        double[] indices = explained.Result.Outputs[OnnxExport.TopSupportIndicesName].Values;
        Assert.Equal("int64", explained.Result.Outputs[OnnxExport.TopSupportIndicesName].Type);
        for (int block = 0; block < weights.Length / 3; block++)
        {
            double[] sorted = expected.GibbsWeights.Skip(block * pieces).Take(pieces).OrderDescending().Take(3).ToArray();
            var seen = new HashSet<int>();
            for (int rank = 0; rank < 3; rank++)
            {
                int piece = (int)indices[(block * 3) + rank];
                Assert.True(seen.Add(piece), $"block {block} lists piece {piece} twice");
                Assert.True(Math.Abs(weights[(block * 3) + rank] - sorted[rank]) <= Tolerance, $"block {block}, rank {rank}: weight {weights[(block * 3) + rank]}, HjMl's {sorted[rank]}");
                Assert.True(Math.Abs(expected.GibbsWeights[(block * pieces) + piece] - sorted[rank]) <= Tolerance, $"block {block}, rank {rank}: piece {piece} is not among the largest");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NearestSupportPointIsTheClosestAndNamesItsTrainingRow(string name, double viscosity)
    {
        (HopfColeModel model, Dataset data) = Build(name, viscosity);
        Explained explained = Explain(model, data, top: 1);
        Reference expected = Reference.Of(model, explained.Rows);
        double[] indices = explained.Result.Outputs[OnnxExport.NearestSupportIndexName].Values;
        double[] trainingRows = explained.Result.Outputs[OnnxExport.NearestSupportRowName].Values;
        for (int i = 0; i < indices.Length; i++)
        {
            int piece = (int)indices[i];
            double distance = Reference.SupportDistance(model, expected.Standardised[i], piece);
            Assert.True(Math.Abs(distance - expected.SupportDistances[i]) <= Tolerance * Math.Max(1, expected.SupportDistances[i]), $"row {i}: piece {piece} is {distance} away, the nearest {expected.SupportDistances[i]}");
            Assert.Equal(model.SupportRows[piece], (int)trainingRows[i]);
        }
    }

    [Theory]
    [Trait("Speed", "Slow")]
    [MemberData(nameof(Cases))]
    public void ContributionsBiasAndEntropySumToTheHeadScores(string name, double viscosity)
    {
        // THEORY.md section 4: f_k = sum_d c_kd + E_pi[b_k] + eps H(pi_k), checked on ONNX Runtime's own outputs.
        (HopfColeModel model, Dataset data) = Build(name, viscosity);
        Explained explained = Explain(model, data, top: 1);
        Reference expected = Reference.Of(model, explained.Rows);
        int heads = model.Layer.NumberOfHeads;
        int d = model.InputDimension;
        double[] contributions = explained.Result.Outputs[OnnxExport.FeatureContributionsName].Values;
        double[] biasTerms = explained.Result.Outputs[OnnxExport.BiasTermsName].Values;
        double[] entropies = explained.Result.Outputs[OnnxExport.AttributionEntropyName].Values;
        double worst = 0;
        for (int block = 0; block < biasTerms.Length; block++)
        {
            double sum = contributions.Skip(block * d).Take(d).Sum() + biasTerms[block] + (viscosity * entropies[block]);
            double headScore = expected.HeadScores[block];
            worst = Math.Max(worst, Math.Abs(sum - headScore) / Math.Max(1, Math.Abs(headScore)));
        }

        log.WriteLine($"decomposition: max relative gap {worst.ToString("0.00e+0", CultureInfo.InvariantCulture)} over {biasTerms.Length} heads x rows ({heads} heads)");
        Assert.True(worst <= Tolerance, $"the parts miss the head score by {worst} relative");
    }

    [Fact]
    public void TopSupportPointsOutsideOneToPiecesIsRejected()
    {
        (HopfColeModel model, _) = Build("iris", 0.1);
        var problem = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 11 }));
        Assert.Contains("TopSupportPoints is 11; it must lie in [1, 10]", problem.Message);
    }

    private static (HopfColeModel Model, Dataset Data) Build(string name, double viscosity)
    {
        switch (name)
        {
            case "diabetes":
                Dataset diabetes = TestData.Load("diabetes.csv");
                return (PrototypeModels.Regression(diabetes, pieces: 60, viscosity, time: 0.5), diabetes);
            case "tiny-eps":
                Dataset iris = TestData.Load("iris.csv");
                return (PrototypeModels.Classifier(iris, perClass: 10, viscosity, time: 1.5), iris);
            default:
                Dataset data = TestData.Load(name + ".csv");
                int perClass = name == "digits" ? 12 : name == "breast_cancer" ? 25 : 10;
                return (PrototypeModels.Classifier(data, perClass, viscosity, time: 1.5), data);
        }
    }

    private Explained Explain(HopfColeModel model, Dataset data, int top)
    {
        int d = data.Columns;
        var features = new float[data.Rows * d];
        var rows = new double[data.Rows][];
        for (int i = 0; i < data.Rows; i++)
        {
            rows[i] = new double[d];
            for (int k = 0; k < d; k++)
            {
                features[(i * d) + k] = (float)data.Row(i)[k];
                rows[i][k] = features[(i * d) + k];
            }
        }

        byte[] onnx = OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = top });
        return new Explained(runtime.Run(onnx, features, data.Rows, d), rows);
    }

    private void AssertClose(Explained explained, string name, long[] dims, IEnumerable<double> expected)
    {
        RuntimeTensor tensor = explained.Result.Outputs[name];
        Assert.Equal("float32", tensor.Type);
        Assert.Equal(dims, tensor.Dims);
        double[] wanted = expected.ToArray();
        double worst = 0;
        int worstIndex = 0;
        for (int i = 0; i < wanted.Length; i++)
        {
            double error = Math.Abs(tensor.Values[i] - wanted[i]) / Math.Max(1, Math.Abs(wanted[i]));
            if (!(error <= worst))
            {
                worst = error;
                worstIndex = i;
            }
        }

        log.WriteLine($"{name}: max relative difference {worst.ToString("0.00e+0", CultureInfo.InvariantCulture)} over {wanted.Length} values");
        Assert.True(worst <= Tolerance, $"{name}[{worstIndex}]: ONNX Runtime gave {tensor.Values[worstIndex]}, HjMl {wanted[worstIndex]}; relative difference {worst} > {Tolerance}.");
    }

    private sealed record Explained(RuntimeResult Result, double[][] Rows);

    /// <summary>HjMl's own values for the explanation outputs, from the layer's public methods, in double.</summary>
    private sealed record Reference(double[][] Standardised, double[] HeadScores, double[] GibbsWeights, double[] Entropies, double[] Contributions, double[] BiasTerms, double[] SupportDistances, double[] Radii)
    {
        public static Reference Of(HopfColeModel model, double[][] rows)
        {
            LseLayer<double> layer = model.Layer;
            int heads = layer.NumberOfHeads;
            int pieces = layer.NumberOfPieces;
            int d = model.InputDimension;
            var standardised = new double[rows.Length][];
            var headScores = new double[rows.Length * heads];
            var gibbs = new double[rows.Length * heads * pieces];
            var entropies = new double[rows.Length * heads];
            var contributions = new double[rows.Length * heads * d];
            var biasTerms = new double[rows.Length * heads];
            var distances = new double[rows.Length];
            var radii = new double[rows.Length];
            for (int i = 0; i < rows.Length; i++)
            {
                standardised[i] = new double[d];
                model.Scaling.Apply(rows[i], standardised[i]);
                for (int head = 0; head < heads; head++)
                {
                    int block = (i * heads) + head;
                    headScores[block] = layer.GibbsWeights(standardised[i], head, gibbs.AsSpan(block * pieces, pieces));
                    entropies[block] = layer.Entropy(standardised[i], head);
                    biasTerms[block] = layer.Decompose(standardised[i], head, contributions.AsSpan(block * d, d)).BiasTerm;
                }

                distances[i] = Enumerable.Range(0, heads * pieces).Min(piece => SupportDistance(model, standardised[i], piece));
                radii[i] = model.Kind == ModelKind.Regression || model.Viscosity == 0 ? double.NaN : Radius(model, standardised[i], headScores.AsSpan(i * heads, heads));
            }

            return new Reference(standardised, headScores, gibbs, entropies, contributions, biasTerms, distances, radii);
        }

        /// <summary>||z - y_j|| for the support point y_j = 2 t w_j of head-major piece j.</summary>
        public static double SupportDistance(HopfColeModel model, double[] standardised, int piece)
        {
            int d = model.InputDimension;
            ReadOnlySpan<double> weight = model.Layer.Weights.Slice(piece * d, d);
            double sum = 0;
            for (int k = 0; k < d; k++)
            {
                double difference = standardised[k] - (2 * model.Time * weight[k]);
                sum += difference * difference;
            }

            return Math.Sqrt(sum);
        }

        // THEORY.md section 5: min over c != p of (sqrt(g^2 + 2Km) - g) / K, in the cancellation-free form 2m / (sqrt(g^2 + 2Km) + g).
        private static double Radius(HopfColeModel model, double[] standardised, ReadOnlySpan<double> headScores)
        {
            LseLayer<double> layer = model.Layer;
            int d = model.InputDimension;
            int predicted = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(headScores);
            var predictedGradient = new double[d];
            var gradient = new double[d];
            layer.Gradient(standardised, predicted, predictedGradient);
            double radius = double.PositiveInfinity;
            for (int c = 0; c < layer.NumberOfHeads; c++)
            {
                if (c == predicted)
                {
                    continue;
                }

                layer.Gradient(standardised, c, gradient);
                double g = Math.Sqrt(predictedGradient.Zip(gradient, (a, b) => (a - b) * (a - b)).Sum());
                double margin = headScores[predicted] - headScores[c];
                double diameter = Math.Max(layer.WeightDiameter(predicted), layer.WeightDiameter(c));
                double curvature = diameter * diameter / (4 * model.Viscosity);
                double denominator = Math.Sqrt((g * g) + (2 * curvature * margin)) + g;
                radius = Math.Min(radius, denominator > 0 ? 2 * margin / denominator : 0);
            }

            return radius;
        }
    }
}
