using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>What <see cref="HopfColeFeatureContributionTransformer"/> saves in its place (see <see cref="OnnxPipeline"/>).</summary>
internal static class FeatureContributionSaveChain
{
    private const string Prefix = OnnxPipeline.Prefix;

    /// <summary>
    /// OnnxTransformer running HjMl's graph with explanation outputs, reduced in the graph to the explained quantity's
    /// feature contributions (as GibbsAttribution's) and then to ML.NET's kept and scaled values (see <see cref="Sparsified"/>),
    /// copied to FeatureContributions.
    /// </summary>
    public static TransformerChain<ITransformer> For(HopfColeFeatureContributionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        DataViewSchema schema = transformer.FitSchema ?? OnnxPipeline.FeaturesOnly(transformer.FeatureColumnName, model.InputDimension).Schema;
        var chain = new SaveChain(new EmptyDataView(schema));
        MLContext context = chain.Context;
        var exportOptions = new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = 1 };
        chain.Add(OnnxPipeline.Apply(context, model, exportOptions, transformer.FeatureColumnName, [GibbsAttributionTransformer.FeatureContributionsColumnName], chain.Current, out _, graph => Sparsified(graph, model, transformer)));
        chain.Fit(context.Transforms.CopyColumns(GibbsAttributionTransformer.FeatureContributionsColumnName, Prefix + GibbsAttributionTransformer.FeatureContributionsColumnName));
        chain.Fit(context.Transforms.DropColumns(Prefix + GibbsAttributionTransformer.FeatureContributionsColumnName));
        return chain.ToChain();
    }

    /// <summary>
    /// Replaces the graph's outputs by the contributions ML.NET's calculator keeps, after the guard that refuses a row
    /// with a non-finite feature as the live transformer does: the k largest by TopK (ties lower
    /// index first), those above 0 scattered into zeros, the same for the most negative below 0, and with normalisation
    /// a multiplication by 1 / the largest magnitude kept (1 where none is kept), as
    /// <see cref="HopfColeFeatureContributionTransformer.Sparsify"/> computes in process.
    /// </summary>
    private static void Sparsified(GraphProto graph, HopfColeModel model, HopfColeFeatureContributionTransformer transformer)
    {
        int d = model.InputDimension;
        (OnnxGraphBuilder builder, _, string coefficients) = AttributionSaveChain.Selection(model);
        string exact = AttributionSaveChain.Contributions(builder, model, coefficients, "contribution_exact");

        // A NaN or infinite feature makes the contributions non-finite: refuse the row, as in process (ScoringGraph.Guard).
        string guarded = ScoringGraph.Guard(builder, exact, d);
        string contributions = builder.Node("Reshape", "contribution_guarded", [guarded, builder.Int64s("contribution_row", [1, d], 2)]);
        string zeros = builder.Node("ConstantOfShape", "contribution_zeros", [builder.Node("Shape", "contribution_shape", [contributions])]);
        string zero = builder.Floats("contribution_zero", [0f]);
        string kept = zeros;
        foreach ((int count, bool positive) in new[] { (transformer.NumberOfPositiveContributions, true), (transformer.NumberOfNegativeContributions, false) })
        {
            if (count == 0)
            {
                continue;
            }

            string side = positive ? "contribution_positive" : "contribution_negative";
            builder.Node("TopK", [side + "_values", side + "_indices"], [contributions, builder.Int64s(side + "_count", [Math.Min(count, d)], 1)], OnnxGraphBuilder.Integer("axis", 1), OnnxGraphBuilder.Integer("largest", positive ? 1 : 0), OnnxGraphBuilder.Integer("sorted", 1));
            string signed = builder.Node(positive ? "Greater" : "Less", side + "_signed", [side + "_values", zero]);
            string values = builder.Node("Where", side + "_kept_values", [signed, side + "_values", zero]);
            string scattered = builder.Node("ScatterElements", side + "_scattered", [zeros, side + "_indices", values], OnnxGraphBuilder.Integer("axis", 1));
            kept = builder.Node("Add", side + "_kept", [kept, scattered]);
        }

        string output = Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.FeatureContributionsColumnName;
        if (transformer.Normalize)
        {
            string largest = builder.Node("ReduceMax", "contribution_largest", [builder.Node("Abs", "contribution_magnitudes", [kept])], OnnxGraphBuilder.Integers("axes", 1), OnnxGraphBuilder.Integer("keepdims", 1));
            string divisor = builder.Node("Where", "contribution_divisor", [builder.Node("Greater", "contribution_any", [largest, zero]), largest, builder.Floats("contribution_one", [1f])]);
            builder.Node("Mul", output, [kept, builder.Node("Reciprocal", "contribution_ratio", [divisor])]);
        }
        else
        {
            builder.Node("Identity", output, [kept]);
        }

        builder.Output(output, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, d);
        OnnxPipeline.ReplaceOutputs(graph, builder, "contribution_");
    }
}
