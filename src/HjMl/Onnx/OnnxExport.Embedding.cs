using HjMl.Embeddings;
using static HjMl.Onnx.OnnxGraphBuilder;

namespace HjMl.Onnx;

// The periodic feature embedding that starts an embedded flow (EmbeddingShape, PeriodicEmbedding.Forward).
public static partial class OnnxExport
{
    /// <summary>
    /// z_0 of an embedded flow from the standardised features x, float32 [N, d] -&gt; [N, m]: the passed-through columns
    /// (Gather), then per embedded feature f v_f = max(0, L_f [sin(2 pi c_f x_f), cos(2 pi c_f x_f)] + b_f), feature by
    /// feature. The n embedded columns are gathered and transposed to [n, N, 1], so that Mul by 2 pi c ([n, 1, K]), Sin,
    /// Cos and Concat give [n, N, 2K] and one batched MatMul with L^T ([n, 2K, e]) maps every feature's block at once;
    /// Add b ([n, 1, e]), Relu, Transpose to [N, n, e] and Reshape to [N, n e].
    /// </summary>
    /// <remarks>
    /// 2 pi c is formed in double and rounded once. In float32 the phase 2 pi c x carries an absolute error of a few ulps
    /// of itself (the standardisation's and the product's roundings), about 1e-7 |2 pi c x|, which Sin and Cos pass on
    /// and L (rows of norm about 1) carries into the state. Trained models on the shared data sets stay within the 1e-5
    /// relative to max(1, |score|) that flows without an embedding meet (tests: at most 3e-6), but the bound grows with
    /// the phase: at |c| = 10 and |x| = 10 standard deviations it is 6e-5 rad, so such rows may need 1e-4.
    /// A non-finite feature gives a NaN phase; Relu alone may map NaN to 0 (its NaN handling is unspecified), so
    /// pre - pre (0, or NaN) is added to keep the row's scores NaN, as the saved pipelines' guard needs.
    /// </remarks>
    private static string EmbeddingGraph(OnnxGraphBuilder graph, EmbeddingShape embedding, ReadOnlySpan<double> parameters, IReadOnlyList<string> featureNames, string standardised)
    {
        int n = embedding.Features.Count;
        int k = embedding.Frequencies;
        int e = embedding.Width;
        var frequencies = new float[n * k];
        var weights = new float[n * 2 * k * e];
        var biases = new float[n * e];
        for (int slot = 0; slot < n; slot++)
        {
            string feature = $"feature '{featureNames[embedding.Features[slot]]}'";
            ReadOnlySpan<double> c = parameters.Slice(embedding.FrequenciesOffset(slot), k);
            ReadOnlySpan<double> map = parameters.Slice(embedding.WeightsOffset(slot), 2 * k * e);
            ReadOnlySpan<double> b = parameters.Slice(embedding.BiasOffset(slot), e);
            for (int f = 0; f < k; f++)
            {
                frequencies[(slot * k) + f] = Single(2 * Math.PI * c[f], $"2 pi times the embedding's frequency {f} of {feature}");
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
        string columns = graph.Node("Gather", "embedding_inputs", [standardised, graph.Int64s("embedding_features", embedded, n)], Integer("axis", 1));
        string byFeature = graph.Node("Transpose", "embedding_inputs_by_feature", [columns], Integers("perm", 1, 0));
        string column = graph.Node("Unsqueeze", "embedding_input_columns", [byFeature, graph.Int64s("embedding_column_axis", [2], 1)]);
        string phases = graph.Node("Mul", "embedding_phases", [column, graph.Floats("embedding_frequencies", frequencies, n, 1, k)]);
        string sines = graph.Node("Sin", "embedding_sines", [phases]);
        string cosines = graph.Node("Cos", "embedding_cosines", [phases]);
        string periodic = graph.Node("Concat", "embedding_periodic", [sines, cosines], Integer("axis", 2));
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
