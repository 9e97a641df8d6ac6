using System.Globalization;
using Google.Protobuf;
using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>What <see cref="GibbsAttributionTransformer"/> saves in its place (see <see cref="OnnxPipeline"/>).</summary>
internal static class AttributionSaveChain
{
    /// <summary>The settings a saved attribution stage records for LoadWithHopfCole.</summary>
    public const string FeatureColumnSetting = "feature_column", TopSupportPointsSetting = "top_support_points", TrainingRowsSetting = "training_rows";

    private const string Prefix = OnnxPipeline.Prefix;

    // The graph's every-head LSE values, float32 [N, K] (OnnxExport's intermediate; the explained head's is ExplainedScore for multiclass).
    private const string HeadScores = "head_scores";

    /// <summary>
    /// The saveable chain standing for <paramref name="transformer"/>: the graph's per-head explanation outputs reduced to
    /// the explained head in the graph itself (see <see cref="SelectExplainedHead"/>), with an id column ML.NET's value
    /// mapping from the support points' indices to their ids, then the same scalar, copy and drop stages as predictions. The identity stages write ML.NET's fixed Score column, so a Score the input had when the
    /// transform was fitted is copied aside first and restored, with the columns after it, to keep the column order.
    /// </summary>
    public static TransformerChain<ITransformer> For(GibbsAttributionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        DataViewSchema schema = transformer.FitSchema ?? OnnxPipeline.FeaturesOnly(transformer.FeatureColumnName, model.InputDimension).Schema;
        var chain = new SaveChain(new EmptyDataView(schema));
        MLContext context = chain.Context;
        string[] outputs = [GibbsAttributionTransformer.TopSupportWeightsColumnName, GibbsAttributionTransformer.TopSupportRowsColumnName, GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName, GibbsAttributionTransformer.ExplainedScoreColumnName, GibbsAttributionTransformer.ScoreTermsColumnName];
        if (transformer.HasCertifiedRadius)
        {
            outputs = [.. outputs, GibbsAttributionTransformer.CertifiedRadiusColumnName];
        }

        if (transformer.HasOutOfSupport)
        {
            outputs = [.. outputs, GibbsAttributionTransformer.OutOfSupportScoreColumnName];
        }

        var exportOptions = new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = transformer.TopSupportPoints };
        SupportIdentifiers? ids = transformer.SupportIdentifiers;
        byte[] graph = OnnxPipeline.GraphFor(model, exportOptions, transformer.FeatureColumnName, out Dictionary<string, int[]> shapes, graph => SelectExplainedHead(graph, model, transformer.TopSupportPoints, pieces: ids is not null));

        // Slot names ride in the graph (OnnxTransformer's convention) so a plain Model.Load keeps them, as the live columns have them.
        ModelProto proto = ModelProto.Parser.ParseFrom(graph);
        OnnxPipeline.AddSlotNames(proto, Prefix + GibbsAttributionTransformer.ScoreTermsColumnName, GibbsAttributionTransformer.ScoreTermNames);
        if (FeatureSlotNames(schema, transformer.FeatureColumnName, model.InputDimension) is { } featureNames)
        {
            OnnxPipeline.AddSlotNames(proto, Prefix + GibbsAttributionTransformer.FeatureContributionsColumnName, featureNames);
        }

        if (ids is null)
        {
            // LoadWithHopfCole re-binds the stage from this record; with ids the value mapping after the graph stays ONNX.
            SavedStage.Write(proto, SavedStage.Attribution, model, (FeatureColumnSetting, transformer.FeatureColumnName), (TopSupportPointsSetting, transformer.TopSupportPoints.ToString(CultureInfo.InvariantCulture)), (TrainingRowsSetting, transformer.Model.NumberOfTrainingRows.ToString(CultureInfo.InvariantCulture)));
        }

        chain.Add(OnnxPipeline.ApplyGraph(context, proto.ToByteArray(), outputs.Select(output => Prefix + output).ToArray(), [transformer.FeatureColumnName], shapes, chain.Current));
        string rows = Prefix + GibbsAttributionTransformer.TopSupportRowsColumnName;
        if (ids is not null)
        {
            // The graph gave the support points' head-major indices; ML.NET's value mapping turns them into the ids.
            chain.Fit(ids.PiecesToIds(context, Prefix + "ids", rows));
            rows = Prefix + "ids";
        }

        int scoreIndex = schema.GetColumnOrNull(DefaultColumnNames.Score) is { IsHidden: false } existing ? existing.Index : -1;
        if (scoreIndex >= 0)
        {
            chain.Fit(context.Transforms.CopyColumns(Prefix + "score_before", DefaultColumnNames.Score));
        }

        var scalars = outputs.Where(output => output is GibbsAttributionTransformer.AttributionEntropyColumnName or GibbsAttributionTransformer.ExplainedScoreColumnName or GibbsAttributionTransformer.CertifiedRadiusColumnName or GibbsAttributionTransformer.OutOfSupportScoreColumnName).ToArray();
        foreach (string scalar in scalars)
        {
            chain.Add(OnnxPipeline.Identity(context, Prefix + scalar));
            chain.Fit(context.Transforms.CopyColumns(Prefix + "scalar." + scalar, DefaultColumnNames.Score));
        }

        var dropped = outputs.Select(output => Prefix + output).Concat(scalars.Select(scalar => Prefix + "scalar." + scalar)).ToList();
        if (ids is not null)
        {
            dropped.Add(rows);
        }

        if (scoreIndex >= 0)
        {
            // Restore Score and re-append every visible column after it, so the visible order is the input's.
            chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "score_before"));
            foreach (DataViewSchema.Column later in schema.Where(column => !column.IsHidden && column.Index > scoreIndex))
            {
                chain.Fit(context.Transforms.CopyColumns(later.Name, later.Name));
            }

            dropped.Add(Prefix + "score_before");
        }
        else
        {
            dropped.Add(DefaultColumnNames.Score);
        }

        foreach (string output in outputs)
        {
            string source = output == GibbsAttributionTransformer.TopSupportRowsColumnName ? rows : scalars.Contains(output) ? Prefix + "scalar." + output : Prefix + output;
            chain.Fit(context.Transforms.CopyColumns(output, source));
        }

        if (transformer.HasOutOfSupport)
        {
            // The coverage radius is a training row's distance, so that row's score is exactly 1 in process; the float32
            // graph puts it an ulp or so either side, so the saved test allows 1e-6 and that row stays in support.
            chain.Fit(context.Transforms.Expression(GibbsAttributionTransformer.OutOfSupportColumnName, "score => score > 1.000001", GibbsAttributionTransformer.OutOfSupportScoreColumnName));
        }

        chain.Fit(context.Transforms.DropColumns([.. dropped]));
        return chain.ToChain();
    }

    // The feature column's slot names when it has as many as the model reads, else null (no names to keep).
    private static string[]? FeatureSlotNames(DataViewSchema schema, string featureColumn, int dimension)
    {
        if (schema.GetColumnOrNull(featureColumn) is not { } column || column.Annotations.Schema.GetColumnOrNull(AnnotationNames.SlotNames) is null)
        {
            return null;
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.Length == dimension ? names.DenseValues().Select(name => name.ToString()).ToArray() : null;
    }

    /// <summary>
    /// Replaces the graph's outputs by the explained head's explanations: a one-hot mask of the explained head (head 0
    /// for regression; Score &gt; 0 for binary, as the prediction; the predicted class for multiclass) selects, per row,
    /// that head's top-k weights and support rows (piece j of head h is support row SupportRows[h P + j]; with
    /// <paramref name="pieces"/>, the head-major index h P + j itself) and entropy; feature contributions, bias terms
    /// E_pi[b] and entropy terms eps H are combined with the coefficients of the explained quantity (LabelScale and
    /// -LabelScale for regression, 1 and -1 for the binary margin, the mask for multiclass), and the explained score is
    /// the graph's Score (regression, binary) or the masked head score (multiclass), so that ExplainedScore =
    /// sum(FeatureContributions) + sum(ScoreTerms) holds in the graph as in process (THEORY.md section 4). With a flow the
    /// contributions are the input features' integrated gradients and the terms the baseline and remainder (section 9).
    /// CertifiedRadius and OutOfSupportScore are the graph's own.
    /// </summary>
    private static void SelectExplainedHead(GraphProto graph, HopfColeModel model, int top, bool pieces)
    {
        int heads = model.Layer.NumberOfHeads;
        int piecesPerHead = model.Layer.NumberOfPieces;
        int d = model.InputDimension;
        (OnnxGraphBuilder builder, string mask, string coefficients) = Selection(model);
        string axis1 = builder.Int64s("selection_axis1", [1], 1);
        string axis2 = builder.Int64s("selection_axis2", [2], 1);
        string cube = builder.Node("Unsqueeze", "selection_mask_cube", [mask, axis2]);
        string Select(string name, string values, string weights, string axes) => SelectHeads(builder, name, values, weights, axes);
        string weightsOut = Select(Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.TopSupportWeightsColumnName, OnnxExport.TopSupportWeightsName, cube, axis1);
        string integerCube = builder.Node("Cast", "selection_mask_integers", [cube], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Int64));
        long[] offsets = Enumerable.Range(0, heads).Select(head => (long)head * piecesPerHead).ToArray();
        string global = builder.Node("Add", "selection_global_pieces", [OnnxExport.TopSupportIndicesName, builder.Int64s("selection_offsets", offsets, 1, heads, 1)]);
        string selectedPieces = Select("selection_pieces", global, integerCube, axis1);
        long[] rows = model.SupportRows.Select(row => (long)row).ToArray();
        string rowsName = Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.TopSupportRowsColumnName;
        string rowsOut = pieces
            ? builder.Node("Identity", rowsName, [selectedPieces])
            : builder.Node("Gather", rowsName, [builder.Int64s("selection_support_rows", rows, rows.Length), selectedPieces], OnnxGraphBuilder.Integer("axis", 0));
        string entropyOut = Select(Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.AttributionEntropyColumnName, OnnxExport.AttributionEntropyName, mask, axis1);
        string contributionsOut = Contributions(builder, model, coefficients, Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.FeatureContributionsColumnName);
        string explainedName = Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.ExplainedScoreColumnName;
        string explained = model.Kind == ModelKind.MulticlassClassification ? Select("selection_explained", HeadScores, mask, axis1) : OnnxExport.ScoreName;

        // A NaN or infinite feature makes the explained score non-finite: refuse the row, as in process (ScoringGraph.Guard).
        string explainedOut = builder.Node("Identity", explainedName, [ScoringGraph.Guard(builder, explained, 1)]);
        string[] terms = model.Flow is null
            ? ReadoutTerms(builder, model, coefficients, axis1)
            : FlowTerms(builder, model, coefficients, axis1, explained, contributionsOut);
        string[] termColumns = [.. terms.Select(term => builder.Node("Unsqueeze", term + "_column", [term, axis1]))];
        string termsOut = builder.Node("Concat", Prefix + OnnxPipeline.Selected + GibbsAttributionTransformer.ScoreTermsColumnName, termColumns, OnnxGraphBuilder.Integer("axis", 1));
        builder.Output(weightsOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, top);
        builder.Output(rowsOut, TensorProto.Types.DataType.Int64, string.Empty, OnnxExport.BatchDimension, top);
        builder.Output(entropyOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension);
        builder.Output(contributionsOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, d);
        builder.Output(explainedOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension);
        builder.Output(termsOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, GibbsAttributionTransformer.ScoreTermNames.Count);

        OnnxPipeline.ReplaceOutputs(graph, builder, "selection_", output => output.Name is OnnxExport.CertifiedRadiusName or OnnxExport.OutOfSupportScoreName);
    }

    // A single layer's Baseline (LabelMean for regression, 0 for classifiers), Bias E_pi[b] and Entropy eps H of the
    // explained value, and a Remainder of 0: the decomposition is exact (THEORY.md section 4).
    private static string[] ReadoutTerms(OnnxGraphBuilder builder, HopfColeModel model, string coefficients, string axis1)
    {
        string bias = SelectHeads(builder, "selection_bias", OnnxExport.BiasTermsName, coefficients, axis1);
        string entropyDifference = SelectHeads(builder, "selection_entropy_difference", OnnxExport.AttributionEntropyName, coefficients, axis1);
        string entropy = builder.Node("Mul", "selection_entropy_term", [entropyDifference, builder.Floats("selection_viscosity", [(float)model.Viscosity])]);
        string batch = builder.Node("Shape", "selection_batch", [bias]);
        string baseline = builder.Node("Expand", "selection_baseline", [builder.Floats("selection_baseline_value", [model.Kind == ModelKind.Regression ? (float)model.LabelMean : 0f]), batch]);
        string remainder = builder.Node("Expand", "selection_remainder", [builder.Floats("selection_remainder_value", [0f]), batch]);
        return [baseline, bias, entropy, remainder];
    }

    // Through a flow (THEORY.md section 9), as RowExplainer.Terms: the Baseline is the explained value at the training
    // means (LabelMean plus the heads' baseline scores with the coefficients), Bias and Entropy are 0, and the Remainder
    // is the graph's own quadrature remainder, explained - baseline - sum(contributions), so the sum holds in the graph.
    private static string[] FlowTerms(OnnxGraphBuilder builder, HopfColeModel model, string coefficients, string axis1, string explained, string contributions)
    {
        string heads = SelectHeads(builder, "selection_baseline_heads", OnnxExport.BaselineScoresName, coefficients, axis1);
        string baseline = builder.Node("Add", "selection_baseline", [heads, builder.Floats("selection_baseline_value", [model.Kind == ModelKind.Regression ? (float)model.LabelMean : 0f])]);
        string zero = builder.Node("Sub", "selection_zero_term", [baseline, baseline]);
        string sum = builder.Node("ReduceSum", "selection_contribution_sum", [contributions, axis1], OnnxGraphBuilder.Integer("keepdims", 0));
        string remainder = builder.Node("Sub", "selection_remainder", [builder.Node("Sub", "selection_above_baseline", [explained, baseline]), sum]);
        return [baseline, zero, builder.Node("Identity", "selection_entropy_term", [zero]), remainder];
    }

    /// <summary>
    /// A builder for the outputs that replace the graph's explanation outputs, reading the graph's own values by name,
    /// with the per-row one-hot mask of the explained head (head 0 for regression; Score &gt; 0 for binary, as the
    /// prediction; the predicted class for multiclass) and the coefficients of the explained quantity over the heads
    /// (LabelScale and -LabelScale for regression, 1 and -1 for the binary margin, the mask for multiclass).
    /// </summary>
    internal static (OnnxGraphBuilder Builder, string Mask, string Coefficients) Selection(HopfColeModel model)
    {
        int heads = model.Layer.NumberOfHeads;
        var builder = new OnnxGraphBuilder("selection", string.Empty);
        foreach (string existing in new[] { "margin", OnnxExport.ScoreName, HeadScores, OnnxExport.PredictedClassIndexName, OnnxExport.TopSupportWeightsName, OnnxExport.TopSupportIndicesName, OnnxExport.AttributionEntropyName, OnnxExport.FeatureContributionsName, OnnxExport.BiasTermsName, OnnxExport.InputContributionsName, OnnxExport.BaselineScoresName })
        {
            builder.Input(existing, TensorProto.Types.DataType.Float, string.Empty);
        }

        string axis1 = builder.Int64s("selection_mask_axis", [1], 1);
        switch (model.Kind)
        {
            case ModelKind.Regression:
                return (builder, builder.Floats("selection_mask", [1f, 0f], 1, 2), builder.Floats("selection_coefficients", [(float)model.LabelScale, -(float)model.LabelScale], 1, 2));
            case ModelKind.BinaryClassification:
                string positive = builder.Node("Cast", "selection_positive", [builder.Node("Greater", "selection_greater", ["margin", builder.Floats("selection_zero", [0f])])], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
                string negative = builder.Node("Sub", "selection_negative", [builder.Floats("selection_one", [1f]), positive]);
                string binaryMask = builder.Node("Concat", "selection_mask", [builder.Node("Unsqueeze", "selection_positive_column", [positive, axis1]), builder.Node("Unsqueeze", "selection_negative_column", [negative, axis1])], OnnxGraphBuilder.Integer("axis", 1));
                return (builder, binaryMask, builder.Floats("selection_coefficients", [1f, -1f], 1, 2));
            default:
                long[] indices = Enumerable.Range(0, heads).Select(head => (long)head).ToArray();
                string predicted = builder.Node("Unsqueeze", "selection_predicted", [OnnxExport.PredictedClassIndexName, axis1]);
                string equal = builder.Node("Equal", "selection_equal", [builder.Int64s("selection_heads", indices, heads), predicted]);
                string mask = builder.Node("Cast", "selection_mask", [equal], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
                return (builder, mask, mask);
        }
    }

    /// <summary>
    /// The explained quantity's feature contributions, float32 [N, d]: the heads' contributions weighted by
    /// <paramref name="coefficients"/>; with a flow, the heads' integrated gradients over the input features.
    /// </summary>
    internal static string Contributions(OnnxGraphBuilder builder, HopfColeModel model, string coefficients, string name)
        => SelectHeads(builder, name, model.Flow is null ? OnnxExport.FeatureContributionsName : OnnxExport.InputContributionsName, builder.Node("Unsqueeze", "selection_coefficient_cube", [coefficients, builder.Int64s("selection_coefficient_axis", [2], 1)]), builder.Int64s("selection_head_axis", [1], 1));

    // sum over the heads (axis 1) of weights * values.
    private static string SelectHeads(OnnxGraphBuilder builder, string name, string values, string weights, string axes)
        => builder.Node("ReduceSum", name, [builder.Node("Mul", name + "_terms", [weights, values]), axes], OnnxGraphBuilder.Integer("keepdims", 0));
}
