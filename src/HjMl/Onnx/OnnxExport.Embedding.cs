using HjMl.Embeddings;
using HjMl.Models;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Onnx;

// The periodic feature embedding that starts an embedded flow (EmbeddingShape, PeriodicEmbedding.Forward).
public static partial class OnnxExport
{
    /// <summary>
    /// z_0 of an embedded flow, float32 [N, m]: the passed-through columns of the standardised features (Gather), then per
    /// embedded feature f v_f = max(0, L_f [sin(2 pi c_f x_f), cos(2 pi c_f x_f)] + b_f), feature by feature. The n
    /// embedded raw columns are gathered, standardised in double and transposed to [n, N, 1], so that Mul by 2 pi c
    /// ([n, 1, K]), Sin, Cos and Concat give [n, N, 2K]; Cast to float32, then one batched MatMul with L^T ([n, 2K, e])
    /// maps every feature's block at once; Add b ([n, 1, e]), Relu, Transpose to [N, n, e] and Reshape to [N, n e].
    /// </summary>
    /// <remarks>
    /// The phases are the one place the graph computes in double. In float32, x_f (rounded by the standardisation) and
    /// the product carry an absolute error of about 1e-7 |2 pi c x|, which Sin and Cos pass on unchanged: 6e-5 rad at
    /// |c| = 10 and |x| = 10 standard deviations, and on adult (capital gain reaches 13 standard deviations) scores that
    /// differ by 2e-5 relative to max(1, |score|) from the double model, where every other exported model keeps 1e-5,
    /// with the error growing with |x| without bound. In double the phase is exact to 1e-16 of itself, and the sines,
    /// rounded once to float32, are as accurate as any other float32 input of the flow.
    /// A non-finite feature gives a NaN phase; Relu alone may map NaN to 0 (the operator leaves NaN unspecified), so
    /// pre - pre (0, or NaN) is added to keep the row's scores NaN, as the saved pipelines' guard needs.
    /// </remarks>
    private static string EmbeddingGraph(OnnxGraphBuilder graph, EmbeddingShape embedding, ReadOnlySpan<double> parameters, HopfColeModel model, string standardised)
    {
        IReadOnlyList<string> featureNames = model.FeatureNames;
        int n = embedding.Features.Count;
        int k = embedding.Frequencies;
        int e = embedding.Width;
        var means = new double[n];
        var scales = new double[n];
        var frequencies = new double[n * k];
        var weights = new float[n * 2 * k * e];
        var biases = new float[n * e];
        for (int slot = 0; slot < n; slot++)
        {
            int index = embedding.Features[slot];
            string feature = $"feature '{featureNames[index]}'";
            means[slot] = model.Scaling.Means[index];
            scales[slot] = model.Scaling.Scales[index];
            ReadOnlySpan<double> c = parameters.Slice(embedding.FrequenciesOffset(slot), k);
            ReadOnlySpan<double> map = parameters.Slice(embedding.WeightsOffset(slot), 2 * k * e);
            ReadOnlySpan<double> b = parameters.Slice(embedding.BiasOffset(slot), e);
            for (int f = 0; f < k; f++)
            {
                frequencies[(slot * k) + f] = 2 * Math.PI * c[f];
            }

            // L_f is e rows of 2K; MatMul wants its transpose, [2K, e].
            for (int j = 0; j < e; j++)
            {
                for (int t = 0; t < 2 * k; t++)
                {
                    weights[(slot * 2 * k * e) + (t * e) + j] = Single(map[(j * 2 * k) + t], $"the embedding's weight ({j}, {t}) of {feature}");
                }

                biases[(slot * e) + j] = Single(b[j], $"the embedding's bias {j} of {feature}");
            }
        }

        long[] embedded = [.. embedding.Features.Select(feature => (long)feature)];
        string raw = graph.Node("Gather", "embedding_raw_inputs", [FeaturesName, graph.Int64s("embedding_features", embedded, n)], Integer("axis", 1));
        string wide = graph.Node("Cast", "embedding_raw_inputs_double", [raw], Integer("to", (long)DataType.Double));
        string centred = graph.Node("Sub", "embedding_centred_inputs", [wide, graph.Doubles("embedding_means", means, n)]);
        string columns = graph.Node("Div", "embedding_inputs", [centred, graph.Doubles("embedding_scales", scales, n)]);
        string byFeature = graph.Node("Transpose", "embedding_inputs_by_feature", [columns], Integers("perm", 1, 0));
        string column = graph.Node("Unsqueeze", "embedding_input_columns", [byFeature, graph.Int64s("embedding_column_axis", [2], 1)]);
        string phases = graph.Node("Mul", "embedding_phases", [column, graph.Doubles("embedding_frequencies", frequencies, n, 1, k)]);
        string sines = graph.Node("Sin", "embedding_sines", [phases]);
        string cosines = graph.Node("Cos", "embedding_cosines", [phases]);
        string periodicWide = graph.Node("Concat", "embedding_periodic_double", [sines, cosines], Integer("axis", 2));
        string periodic = graph.Node("Cast", "embedding_periodic", [periodicWide], Integer("to", (long)DataType.Float));
        string mapped = graph.Node("MatMul", "embedding_products", [periodic, graph.Floats("embedding_weights", weights, n, 2 * k, e)]);
        string before = graph.Node("Add", "embedding_preactivations", [mapped, graph.Floats("embedding_biases", biases, n, 1, e)]);
        string active = graph.Node("Relu", "embedding_rectified", [before]);
        string nonFinite = graph.Node("Sub", "embedding_nonfinite_marks", [before, before]);
        string values = graph.Node("Add", "embedding_values", [active, nonFinite]);
        string byRow = graph.Node("Transpose", "embedding_values_by_row", [values], Integers("perm", 1, 0, 2));

        // Shape [0, n e]: 0 copies the batch size (allowzero = 0), so an empty batch reshapes too.
        string flat = graph.Node("Reshape", "embedding_state", [byRow, graph.Int64s("embedding_state_shape", [0, (long)n * e], 2)]);
        if (embedding.PassedThrough.Count == 0)
        {
            return flat;
        }

        long[] passed = [.. embedding.PassedThrough.Select(feature => (long)feature)];
        string kept = graph.Node("Gather", "embedding_passed_through", [standardised, graph.Int64s("passed_through_features", passed, passed.Length)], Integer("axis", 1));
        return graph.Node("Concat", "flow_state_0", [kept, flat], Integer("axis", 1));
    }
}
