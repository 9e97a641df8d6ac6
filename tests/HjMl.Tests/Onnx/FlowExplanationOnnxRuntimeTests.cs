using System.Globalization;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Tests.Support;
using HjMl.Training;
using Xunit.Abstractions;

namespace HjMl.Tests.Onnx;

/// <summary>
/// Models with a flow or a periodic feature embedding, trained on real data, export their explanations to graphs that
/// ONNX Runtime runs on every row to the engine's own ModelExplainer: the input-feature contributions through the flow,
/// the baseline they start from, and the read-out's Gibbs weights, entropy, certified radius and out-of-support score at
/// z_L; and the contributions sum to the score in the graph itself.
/// </summary>
public sealed class FlowExplanationOnnxRuntimeTests(OnnxRuntimeFixture runtime, ITestOutputHelper log) : IClassFixture<OnnxRuntimeFixture>
{
    // Float32 rounding, relative to the row's largest term (max(1, |value|) for single values): the graph computes every
    // quadrature node's state, co-state and Gibbs weights in float32 (about 1e-7 each) and sums 32 of them.
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 2, 0, false, false)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification, 2, 8, false, false)]
    [InlineData("diabetes.csv", ModelKind.Regression, 2, 16, true, false)]
    [InlineData("breast_cancer.csv", ModelKind.BinaryClassification, 0, 0, false, true)]
    [InlineData("diabetes.csv", ModelKind.Regression, 2, 0, true, true)]
    [InlineData("iris.csv", ModelKind.MulticlassClassification, 1, 0, false, true)]
    public void FlowExplanationsMatchTheEngineOnEveryRowAndSumToTheScoreInTheGraph(string file, ModelKind kind, int depth, int width, bool shared, bool embedded)
    {
        Dataset data = TestData.Load(file);
        HopfColeModel model = Train(data, kind, depth, width, shared, embedded);
        Assert.NotNull(model.Flow);
        Assert.Equal(embedded, model.Flow.Shape.Embedding is not null);
        int rows = data.Rows;
        int d = data.Columns;
        var features = new float[rows * d];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = (float)data.Features[i];
        }

        byte[] onnx = OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 2 });
        RuntimeResult result = runtime.Run(onnx, features, rows, d);
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        int m = model.Layer.InputDimension;
        double[] inputs = result.Outputs[OnnxExport.InputContributionsName].Values;
        double[] baselines = result.Outputs[OnnxExport.BaselineScoresName].Values;
        double[] gibbs = result.Outputs[OnnxExport.GibbsWeightsName].Values;
        double[] entropies = result.Outputs[OnnxExport.AttributionEntropyName].Values;
        double[] terminal = result.Outputs[OnnxExport.FeatureContributionsName].Values;
        double[] outOfSupport = result.Outputs[OnnxExport.OutOfSupportScoreName].Values;
        double[]? radii = kind == ModelKind.Regression ? null : result.Outputs[OnnxExport.CertifiedRadiusName].Values;
        double[] graphScores = HeadScores(result, model, rows);
        Assert.Equal([rows, heads, d], result.Outputs[OnnxExport.InputContributionsName].Dims);
        Assert.Equal([rows, heads, m], result.Outputs[OnnxExport.FeatureContributionsName].Dims);

        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top: 2);
        var row = new double[d];
        var worst = new Dictionary<string, double>(StringComparer.Ordinal);
        int refined = 0;
        void Record(string name, double difference, double scale, int index)
        {
            double relative = difference / Math.Max(1, scale);
            Assert.True(relative <= Tolerance, $"{name}, row {index}: difference {difference} relative to max(1, {scale}) is above {Tolerance}.");
            worst[name] = Math.Max(worst.GetValueOrDefault(name), difference);
        }

        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < d; k++)
            {
                row[k] = features[(i * d) + k];
            }

            explainer.Explain(row, explanation);
            int head = kind == ModelKind.MulticlassClassification ? explanation.TopSupport[0].Head : 0;
            InputDecomposition expected = kind == ModelKind.MulticlassClassification ? explanation.InputClass! : explanation.InputMargin!;
            double scale = kind == ModelKind.Regression ? model.LabelScale : 1;
            refined += expected.QuadratureNodes > ModelExplainer.PathQuadratureNodes ? 1 : 0;
            var actual = new double[d];
            double actualBaseline = kind == ModelKind.Regression ? model.LabelMean : 0;
            for (int k = 0; k < d; k++)
            {
                actual[k] = kind == ModelKind.MulticlassClassification
                    ? inputs[(((i * heads) + head) * d) + k]
                    : scale * (inputs[(i * heads * d) + k] - inputs[(((i * heads) + 1) * d) + k]);
            }

            actualBaseline += kind == ModelKind.MulticlassClassification ? baselines[(i * heads) + head] : scale * (baselines[i * heads] - baselines[(i * heads) + 1]);
            double largest = Math.Max(expected.FeatureContributions.Max(Math.Abs), Math.Abs(expected.Baseline));
            Record("input contributions", Enumerable.Range(0, d).Max(k => Math.Abs(actual[k] - expected.FeatureContributions[k])), largest, i);
            Record("baseline", Math.Abs(actualBaseline - expected.Baseline), Math.Abs(expected.Baseline), i);

            // The graph's own remainder: each head's score minus its baseline and its contributions.
            for (int h = 0; h < heads; h++)
            {
                double sum = baselines[(i * heads) + h];
                double termScale = Math.Abs(sum);
                for (int k = 0; k < d; k++)
                {
                    sum += inputs[(((i * heads) + h) * d) + k];
                    termScale = Math.Max(termScale, Math.Abs(inputs[(((i * heads) + h) * d) + k]));
                }

                Record("graph remainder", Math.Abs(graphScores[(i * heads) + h] - sum), termScale, i);
            }

            Record("Gibbs weights", Enumerable.Range(0, heads * pieces).Max(j => Math.Abs(gibbs[(i * heads * pieces) + j] - explanation.Weights[j])), 1, i);
            // The entropy is the predicted class's head's (head 0 for regression), which TopSupport lists.
            int classHead = kind == ModelKind.Regression ? 0 : explanation.TopSupport[0].Head;
            Record("entropy", Math.Abs(entropies[(i * heads) + classHead] - explanation.Entropy), explanation.Entropy, i);
            Decomposition readout = kind == ModelKind.MulticlassClassification ? explanation.Class : explanation.Margin;
            double terminalLargest = readout.FeatureContributions.Max(Math.Abs);
            Record("terminal contributions", Enumerable.Range(0, m).Max(k => Math.Abs(TerminalContribution(terminal, model, i, head, k) - readout.FeatureContributions[k])), terminalLargest, i);
            double coverage = explainer.Coverage(row).Score;
            Record("out-of-support score", Math.Abs(outOfSupport[i] - coverage), coverage, i);
            if (radii is not null)
            {
                double radius = explainer.Certify(row).Radius;
                Record("certified radius", Math.Abs(radii[i] - radius), radius, i);
            }
        }

        log.WriteLine($"{file}, depth {depth}, width {m}{(embedded ? ", embedded" : string.Empty)}: {onnx.Length} bytes; {refined} rows refined by the engine; max abs difference over {rows} rows: " + string.Join(", ", worst.Select(pair => $"{pair.Key} {pair.Value.ToString("0.0e+0", CultureInfo.InvariantCulture)}")));
    }

    [Fact]
    public void FlowExplanationGraphRunsAnEmptyBatch()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = Train(data, ModelKind.MulticlassClassification, 2, 8, false, false);
        RuntimeResult result = runtime.Run(OnnxExport.ToBytes(model, new OnnxExportOptions { IncludeExplanations = true }), [], 0, data.Columns);
        Assert.Equal([0, model.Layer.NumberOfHeads, data.Columns], result.Outputs[OnnxExport.InputContributionsName].Dims);
    }

    // The read-out's terminal-coordinate decomposition of the explained value: the class head's, or the margin's.
    private static double TerminalContribution(double[] terminal, HopfColeModel model, int row, int head, int coordinate)
    {
        int heads = model.Layer.NumberOfHeads;
        int m = model.Layer.InputDimension;
        double Of(int h) => terminal[(((row * heads) + h) * m) + coordinate];
        return model.Kind switch
        {
            ModelKind.MulticlassClassification => Of(head),
            ModelKind.Regression => model.LabelScale * (Of(0) - Of(1)),
            _ => Of(0) - Of(1),
        };
    }

    // Every head's score as the graph computed it: ClassScores for multiclass; for two heads, f_1 + margin with f_1 from
    // the read-out's own decomposition (contributions + bias + eps H), since the graph outputs only their difference.
    private static double[] HeadScores(RuntimeResult result, HopfColeModel model, int rows)
    {
        if (model.Kind == ModelKind.MulticlassClassification)
        {
            return result.Outputs[OnnxExport.ClassScoresName].Values;
        }

        int m = model.Layer.InputDimension;
        double[] terminal = result.Outputs[OnnxExport.FeatureContributionsName].Values;
        double[] biases = result.Outputs[OnnxExport.BiasTermsName].Values;
        double[] entropies = result.Outputs[OnnxExport.AttributionEntropyName].Values;
        double[] scores = result.Outputs[OnnxExport.ScoreName].Values;
        var heads = new double[rows * 2];
        for (int i = 0; i < rows; i++)
        {
            double second = biases[(i * 2) + 1] + (model.Viscosity * entropies[(i * 2) + 1]);
            for (int k = 0; k < m; k++)
            {
                second += terminal[(((i * 2) + 1) * m) + k];
            }

            double margin = model.Kind == ModelKind.Regression ? (scores[i] - model.LabelMean) / model.LabelScale : scores[i];
            heads[(i * 2) + 1] = second;
            heads[i * 2] = second + margin;
        }

        return heads;
    }

    private static HopfColeModel Train(Dataset data, ModelKind kind, int depth, int width, bool shared, bool embedded) => new HopfColeTrainer(new HopfColeTrainerOptions
    {
        Kind = kind,
        NumberOfSupportPoints = 8,
        Depth = depth,
        FlowWidth = width,
        FlowSupportPoints = 8,
        SharedFlowControls = shared,
        FeatureEmbedding = embedded ? FeatureEmbedding.Periodic : FeatureEmbedding.None,
        EmbeddingFrequencies = 8,
        EmbeddingWidth = 8,
        MaximumEpochs = 10,
        Seed = 7,
        MaximumDegreeOfParallelism = 1,
    }).Fit(data);
}
