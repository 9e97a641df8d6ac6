using Google.Protobuf;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Featurization;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Trainers;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// What HjMl's transformers save in their place: a chain of ML.NET's own transformers around OnnxTransformer running
/// HjMl's ONNX export, so that the saved zip loads with plain ML.NET and Microsoft.ML.OnnxTransformer and has the same
/// output columns (names and types) as the live transformer.
/// </summary>
/// <remarks>
/// <para>OnnxTransformer turns every tensor output into a vector column (the dynamic batch dimension counts as 1): [N]
/// becomes a vector of one float, and it cannot produce scalar columns (an output declared rank 0 fails its cast). ML.NET
/// offers no public transform from a one-slot vector to a scalar either, so each such output is read by a linear
/// regression transformer with weight exactly 1 and bias exactly 0, the identity, which ML.NET's online gradient
/// descent produces exactly from two examples (x, y) = (1, 1) and (-1, -1) at learning rate 1/4 (see
/// <see cref="Identity"/>); its Score is the output's float, bit for bit. Its results are copied to the final names,
/// Boolean predictions are recomputed from them with ML.NET's Expression transform (Score &gt; 0, as the graph does),
/// the multiclass class index is mapped back to the label's key type with a value mapping, and the intermediate
/// columns are dropped.</para>
/// <para>The graph's outputs are renamed "hjml.*" and its input is renamed to the feature column, because
/// OnnxTransformer binds inputs and outputs to columns by name.</para>
/// </remarks>
internal static class OnnxPipeline
{
    private const string Prefix = "hjml.";

    /// <summary>The saveable chain standing for <paramref name="transformer"/>.</summary>
    public static TransformerChain<ITransformer> ForPrediction(HopfColePredictionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        if (model.Kind == ModelKind.MulticlassClassification && model.NumberOfClasses != transformer.LabelKeys!.Count)
        {
            throw new NotSupportedException($"The label's key type has {transformer.LabelKeys.Count} values but only {model.NumberOfClasses} occurred in the training data; a saved model's Score would have {model.NumberOfClasses} slots instead of {transformer.LabelKeys.Count}. Train on data with every class, or map the label to keys on the training data only.");
        }

        var context = new MLContext();
        IDataView empty = FeaturesOnly(transformer.FeatureColumnName, model.InputDimension);
        var stages = new List<ITransformer>();
        IDataView current = empty;
        void Add(IEstimator<ITransformer> estimator)
        {
            ITransformer stage = estimator.Fit(current);
            stages.Add(stage);
            current = stage.Transform(current);
        }

        string score = DefaultColumnNames.Score, probability = DefaultColumnNames.Probability, predicted = DefaultColumnNames.PredictedLabel;
        switch (model.Kind)
        {
            case ModelKind.Regression:
                stages.Add(Apply(context, model, null, transformer.FeatureColumnName, [score], empty, out _));
                current = stages[0].Transform(empty);
                stages.Add(Identity(context, Prefix + score));
                current = stages[^1].Transform(current);
                Add(context.Transforms.DropColumns(Prefix + score));
                break;
            case ModelKind.BinaryClassification:
                stages.Add(Apply(context, model, null, transformer.FeatureColumnName, [score, probability], empty, out _));
                current = stages[0].Transform(empty);
                stages.Add(Identity(context, Prefix + probability));
                current = stages[^1].Transform(current);
                Add(context.Transforms.CopyColumns(Prefix + "probability", score));
                stages.Add(Identity(context, Prefix + score));
                current = stages[^1].Transform(current);
                Add(context.Transforms.CopyColumns(Prefix + "margin", score));
                Add(context.Transforms.CopyColumns(score, Prefix + "margin"));
                Add(context.Transforms.CopyColumns(probability, Prefix + "probability"));
                Add(context.Transforms.Expression(predicted, "margin => margin > 0", score));
                Add(context.Transforms.DropColumns(Prefix + score, Prefix + probability, Prefix + "probability", Prefix + "margin"));
                break;
            default:
                stages.Add(Apply(context, model, null, transformer.FeatureColumnName, [score, predicted], empty, out _));
                current = stages[0].Transform(empty);
                stages.Add(Identity(context, Prefix + predicted));
                current = stages[^1].Transform(current);
                Add(context.Transforms.CopyColumns(Prefix + "class", score));
                Add(context.Transforms.CopyColumns(score, Prefix + score));
                foreach (IEstimator<ITransformer> stage in KeyMapping(context, transformer.LabelKeys!, Prefix + "class", Prefix + "value"))
                {
                    Add(stage);
                }

                Add(context.Transforms.DropColumns(Prefix + score, Prefix + predicted, Prefix + "class", Prefix + "value"));
                break;
        }

        return new TransformerChain<ITransformer>([.. stages]);
    }

    /// <summary>
    /// The saveable chain standing for <paramref name="transformer"/>: the graph's per-head explanation outputs reduced to
    /// the explained head in the graph itself (see <see cref="SelectExplainedHead"/>), then the same scalar, copy and drop
    /// stages as predictions. The identity stages write ML.NET's fixed Score column, so a Score the input had when the
    /// transform was fitted is copied aside first and restored, with the columns after it, to keep the column order.
    /// </summary>
    public static TransformerChain<ITransformer> ForAttribution(GibbsAttributionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        var context = new MLContext();
        DataViewSchema schema = transformer.FitSchema ?? FeaturesOnly(transformer.FeatureColumnName, model.InputDimension).Schema;
        IDataView current = new EmptyDataView(schema);
        var stages = new List<ITransformer>();
        void Add(ITransformer stage)
        {
            stages.Add(stage);
            current = stage.Transform(current);
        }

        void Fit(IEstimator<ITransformer> estimator) => Add(estimator.Fit(current));

        string[] outputs = [GibbsAttributionTransformer.TopSupportWeightsColumnName, GibbsAttributionTransformer.TopSupportRowsColumnName, GibbsAttributionTransformer.AttributionEntropyColumnName, GibbsAttributionTransformer.FeatureContributionsColumnName];
        if (transformer.HasCertifiedRadius)
        {
            outputs = [.. outputs, GibbsAttributionTransformer.CertifiedRadiusColumnName];
        }

        if (transformer.HasOutOfSupport)
        {
            outputs = [.. outputs, GibbsAttributionTransformer.OutOfSupportScoreColumnName];
        }

        var exportOptions = new OnnxExportOptions { IncludeExplanations = true, TopSupportPoints = transformer.TopSupportPoints };
        Add(Apply(context, model, exportOptions, transformer.FeatureColumnName, outputs, current, out _, graph => SelectExplainedHead(graph, model, transformer.TopSupportPoints)));
        int scoreIndex = schema.GetColumnOrNull(DefaultColumnNames.Score) is { IsHidden: false } existing ? existing.Index : -1;
        if (scoreIndex >= 0)
        {
            Fit(context.Transforms.CopyColumns(Prefix + "score_before", DefaultColumnNames.Score));
        }

        var scalars = outputs.Where(output => output is GibbsAttributionTransformer.AttributionEntropyColumnName or GibbsAttributionTransformer.CertifiedRadiusColumnName or GibbsAttributionTransformer.OutOfSupportScoreColumnName).ToArray();
        foreach (string scalar in scalars)
        {
            Add(Identity(context, Prefix + scalar));
            Fit(context.Transforms.CopyColumns(Prefix + "scalar." + scalar, DefaultColumnNames.Score));
        }

        var dropped = outputs.Select(output => Prefix + output).Concat(scalars.Select(scalar => Prefix + "scalar." + scalar)).ToList();
        if (scoreIndex >= 0)
        {
            // Restore Score and re-append every visible column after it, so the visible order is the input's.
            Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "score_before"));
            foreach (DataViewSchema.Column later in schema.Where(column => !column.IsHidden && column.Index > scoreIndex))
            {
                Fit(context.Transforms.CopyColumns(later.Name, later.Name));
            }

            dropped.Add(Prefix + "score_before");
        }
        else
        {
            dropped.Add(DefaultColumnNames.Score);
        }

        foreach (string output in outputs)
        {
            Fit(context.Transforms.CopyColumns(output, scalars.Contains(output) ? Prefix + "scalar." + output : Prefix + output));
        }

        if (transformer.HasOutOfSupport)
        {
            Fit(context.Transforms.Expression(GibbsAttributionTransformer.OutOfSupportColumnName, "score => score > 1", GibbsAttributionTransformer.OutOfSupportScoreColumnName));
        }

        Fit(context.Transforms.DropColumns([.. dropped]));
        return new TransformerChain<ITransformer>([.. stages]);
    }

    /// <summary>
    /// Replaces the graph's outputs by the explained head's explanations: a one-hot mask of the explained head (head 0
    /// for regression; Score &gt; 0 for binary, as the prediction; the predicted class for multiclass) selects, per row,
    /// that head's top-k weights and support rows (piece j of head h is support row SupportRows[h P + j]) and entropy;
    /// feature contributions are combined with the coefficients of the explained quantity (LabelScale and -LabelScale
    /// for regression, 1 and -1 for the binary margin, the mask for multiclass). CertifiedRadius and OutOfSupportScore
    /// are the graph's own.
    /// </summary>
    private static void SelectExplainedHead(GraphProto graph, HopfColeModel model, int top)
    {
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        int d = model.InputDimension;
        var builder = new OnnxGraphBuilder("selection", string.Empty);
        foreach (string existing in new[] { "margin", OnnxExport.PredictedClassIndexName, OnnxExport.TopSupportWeightsName, OnnxExport.TopSupportIndicesName, OnnxExport.AttributionEntropyName, OnnxExport.FeatureContributionsName })
        {
            builder.Input(existing, TensorProto.Types.DataType.Float, string.Empty);
        }

        string axis1 = builder.Int64s("selection_axis1", [1], 1);
        string axis2 = builder.Int64s("selection_axis2", [2], 1);
        string mask;
        string coefficients;
        switch (model.Kind)
        {
            case ModelKind.Regression:
                mask = builder.Floats("selection_mask", [1f, 0f], 1, 2);
                coefficients = builder.Floats("selection_coefficients", [(float)model.LabelScale, -(float)model.LabelScale], 1, 2);
                break;
            case ModelKind.BinaryClassification:
                string positive = builder.Node("Cast", "selection_positive", [builder.Node("Greater", "selection_greater", ["margin", builder.Floats("selection_zero", [0f])])], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
                string negative = builder.Node("Sub", "selection_negative", [builder.Floats("selection_one", [1f]), positive]);
                mask = builder.Node("Concat", "selection_mask", [builder.Node("Unsqueeze", "selection_positive_column", [positive, axis1]), builder.Node("Unsqueeze", "selection_negative_column", [negative, axis1])], OnnxGraphBuilder.Integer("axis", 1));
                coefficients = builder.Floats("selection_coefficients", [1f, -1f], 1, 2);
                break;
            default:
                long[] indices = Enumerable.Range(0, heads).Select(head => (long)head).ToArray();
                string predicted = builder.Node("Unsqueeze", "selection_predicted", [OnnxExport.PredictedClassIndexName, axis1]);
                string equal = builder.Node("Equal", "selection_equal", [builder.Int64s("selection_heads", indices, heads), predicted]);
                mask = builder.Node("Cast", "selection_mask", [equal], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
                coefficients = mask;
                break;
        }

        string cube = builder.Node("Unsqueeze", "selection_mask_cube", [mask, axis2]);
        string Select(string name, string values, string weights, string axes) => builder.Node("ReduceSum", name, [builder.Node("Mul", name + "_terms", [weights, values]), axes], OnnxGraphBuilder.Integer("keepdims", 0));
        string weightsOut = Select(Prefix + "selected." + GibbsAttributionTransformer.TopSupportWeightsColumnName, OnnxExport.TopSupportWeightsName, cube, axis1);
        string integerCube = builder.Node("Cast", "selection_mask_integers", [cube], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Int64));
        long[] offsets = Enumerable.Range(0, heads).Select(head => (long)head * pieces).ToArray();
        string global = builder.Node("Add", "selection_global_pieces", [OnnxExport.TopSupportIndicesName, builder.Int64s("selection_offsets", offsets, 1, heads, 1)]);
        string selectedPieces = Select("selection_pieces", global, integerCube, axis1);
        long[] rows = model.SupportRows.Select(row => (long)row).ToArray();
        string rowsOut = builder.Node("Gather", Prefix + "selected." + GibbsAttributionTransformer.TopSupportRowsColumnName, [builder.Int64s("selection_support_rows", rows, rows.Length), selectedPieces], OnnxGraphBuilder.Integer("axis", 0));
        string entropyOut = Select(Prefix + "selected." + GibbsAttributionTransformer.AttributionEntropyColumnName, OnnxExport.AttributionEntropyName, mask, axis1);
        string contributionsOut = Select(Prefix + "selected." + GibbsAttributionTransformer.FeatureContributionsColumnName, OnnxExport.FeatureContributionsName, builder.Node("Unsqueeze", "selection_coefficient_cube", [coefficients, axis2]), axis1);
        builder.Output(weightsOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, top);
        builder.Output(rowsOut, TensorProto.Types.DataType.Int64, string.Empty, OnnxExport.BatchDimension, top);
        builder.Output(entropyOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension);
        builder.Output(contributionsOut, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, d);

        var kept = graph.Output.Where(output => output.Name is OnnxExport.CertifiedRadiusName or OnnxExport.OutOfSupportScoreName).ToList();
        graph.Output.Clear();
        foreach (NodeProto node in builder.Graph.Node)
        {
            node.Name = "selection_" + node.Name;
        }

        graph.Node.Add(builder.Graph.Node);
        graph.Initializer.Add(builder.Graph.Initializer);
        graph.Output.Add(builder.Graph.Output);
        graph.Output.Add(kept);
    }

    /// <summary>
    /// The saveable chain standing for a featuriser: HjMl's graph of its layer with one output, head 0's Gibbs weights
    /// (the GibbsWeights explanation output) or its log-weights eps (scaled logit - log sum) followed by the head's value,
    /// copied to the output column.
    /// </summary>
    public static TransformerChain<ITransformer> ForFeaturizer(HopfColeFeaturizerTransformer transformer)
    {
        HopfColeModel model = transformer.Model;
        var context = new MLContext();
        IDataView current = FeaturesOnly(transformer.InputColumnName, model.InputDimension);
        string output = transformer.OutputColumnName;
        var exportOptions = new OnnxExportOptions { IncludeExplanations = true };
        ITransformer onnx = Apply(context, model, exportOptions, transformer.InputColumnName, [output], current, out _, graph => SelectFeatures(graph, transformer));
        current = onnx.Transform(current);
        ITransformer copy = context.Transforms.CopyColumns(output, Prefix + output).Fit(current);
        current = copy.Transform(current);
        ITransformer drop = context.Transforms.DropColumns(Prefix + output).Fit(current);
        return new TransformerChain<ITransformer>(onnx, copy, drop);
    }

    private static void SelectFeatures(GraphProto graph, HopfColeFeaturizerTransformer transformer)
    {
        int pieces = transformer.Model.Layer.NumberOfPieces;
        var builder = new OnnxGraphBuilder("features", string.Empty);
        foreach (string existing in new[] { OnnxExport.GibbsWeightsName, "scaled_logits", "log_sum", "head_scores" })
        {
            builder.Input(existing, TensorProto.Types.DataType.Float, string.Empty);
        }

        string head = builder.Int64s("features_head", [0]);
        string name = Prefix + "selected." + transformer.OutputColumnName;
        if (transformer.Output == HopfColeFeatures.GibbsWeights)
        {
            builder.Node("Gather", name, [OnnxExport.GibbsWeightsName, head], OnnxGraphBuilder.Integer("axis", 1));
        }
        else
        {
            float viscosity = (float)transformer.Model.Viscosity;
            string logWeights = builder.Node("Mul", "features_log_weights", [builder.Node("Sub", "features_scaled_log_weights", ["scaled_logits", "log_sum"]), builder.Floats("features_viscosity", [viscosity])]);
            string headLogWeights = builder.Node("Gather", "features_head_log_weights", [logWeights, head], OnnxGraphBuilder.Integer("axis", 1));
            string value = builder.Node("Gather", "features_head_value", ["head_scores", builder.Int64s("features_head_column", [0], 1)], OnnxGraphBuilder.Integer("axis", 1));
            builder.Node("Concat", name, [headLogWeights, value], OnnxGraphBuilder.Integer("axis", 1));
        }

        builder.Output(name, TensorProto.Types.DataType.Float, string.Empty, OnnxExport.BatchDimension, transformer.OutputSize);
        foreach (NodeProto node in builder.Graph.Node)
        {
            node.Name = "features_" + node.Name;
        }

        graph.Output.Clear();
        graph.Node.Add(builder.Graph.Node);
        graph.Initializer.Add(builder.Graph.Initializer);
        graph.Output.Add(builder.Graph.Output);
    }

    /// <summary>
    /// The saveable chain standing for a viscosity ensemble: the members as they save themselves, each reading the
    /// original input (columns a member rewrites are kept aside and put back), their Score (Probability for binary)
    /// copied aside and concatenated, a small ONNX graph computing the Gibbs-weighted sum (and for multiclass the
    /// largest slot), then the same scalar, copy, key and drop stages as predictions, so the visible columns are the
    /// live ensemble's.
    /// </summary>
    public static TransformerChain<ITransformer> ForEnsemble(ViscosityEnsembleTransformer ensemble)
    {
        var context = new MLContext();
        DataViewSchema schema = ensemble.FitSchema;
        IDataView current = new EmptyDataView(schema);
        var stages = new List<ITransformer>();
        void Add(ITransformer stage)
        {
            stages.Add(stage);
            current = stage.Transform(current);
        }

        void Fit(IEstimator<ITransformer> estimator) => Add(estimator.Fit(current));

        string[] predictions = [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel];
        var visible = schema.Where(column => !column.IsHidden).ToArray();
        var rewritten = visible.Where(column => !predictions.Contains(column.Name) && ensemble.Members.Any(member => member.GetOutputSchema(schema)[column.Name].Index != column.Index)).Select(column => column.Name).ToArray();
        foreach (string name in rewritten)
        {
            Fit(context.Transforms.CopyColumns(Prefix + "input." + name, name));
        }

        string source = ensemble.Kind == ModelKind.BinaryClassification ? DefaultColumnNames.Probability : DefaultColumnNames.Score;
        var memberColumns = new List<string>();
        for (int i = 0; i < ensemble.Members.Count; i++)
        {
            foreach (string name in i == 0 ? [] : rewritten)
            {
                Fit(context.Transforms.CopyColumns(name, Prefix + "input." + name));
            }

            Add(ensemble.Members[i]);
            memberColumns.Add(Prefix + "member" + i);
            Fit(context.Transforms.CopyColumns(memberColumns[^1], source));
        }

        DataViewSchema memberSchema = current.Schema;
        Fit(context.Transforms.Concatenate(Prefix + "members", [.. memberColumns]));
        int classes = ensemble.Kind == ModelKind.MulticlassClassification ? ((VectorDataViewType)memberSchema[DefaultColumnNames.Score].Type).Size : 1;
        byte[] graph = CombinationGraph(ensemble, classes, out string[] outputs, out Dictionary<string, int[]> shapes);
        using (var stream = new MemoryStream(graph))
        {
            Add(context.Transforms.ApplyOnnxModel(outputs, [Prefix + "members"], stream, shapes, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100).Fit(current));
        }

        // Put the input columns back in their order (from the first rewritten one on), as the live ensemble keeps them.
        int first = rewritten.Length == 0 ? int.MaxValue : rewritten.Min(name => schema[name].Index);
        foreach (DataViewSchema.Column column in visible.Where(column => column.Index >= first))
        {
            Fit(context.Transforms.CopyColumns(column.Name, rewritten.Contains(column.Name) ? Prefix + "input." + column.Name : column.Name));
        }

        var scalars = outputs.Where(output => output != Prefix + "combined" || ensemble.Kind != ModelKind.MulticlassClassification).ToArray();
        foreach (string scalar in scalars)
        {
            Add(Identity(context, scalar));
            Fit(context.Transforms.CopyColumns(scalar + ".scalar", DefaultColumnNames.Score));
        }

        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "combined.scalar"));
                break;
            case ModelKind.BinaryClassification:
                Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "margin.scalar"));
                Fit(context.Transforms.CopyColumns(DefaultColumnNames.Probability, Prefix + "combined.scalar"));
                Fit(context.Transforms.Expression(DefaultColumnNames.PredictedLabel, "margin => margin > 0", DefaultColumnNames.Score));
                break;
            default:
                Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "combined"));
                foreach (IEstimator<ITransformer> stage in KeyMapping(context, LabelKeys.From(memberSchema[DefaultColumnNames.PredictedLabel]), Prefix + "class.scalar", Prefix + "value"))
                {
                    Fit(stage);
                }

                break;
        }

        string[] finals = ensemble.Kind switch
        {
            ModelKind.Regression => [DefaultColumnNames.Score],
            ModelKind.BinaryClassification => [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel],
            _ => [DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel],
        };
        var drop = current.Schema.Where(column => !column.IsHidden && !finals.Contains(column.Name) && (column.Name.StartsWith(Prefix, StringComparison.Ordinal) || schema.GetColumnOrNull(column.Name) is null)).Select(column => column.Name).Distinct().ToArray();
        if (drop.Length > 0)
        {
            Fit(context.Transforms.DropColumns(drop));
        }

        return new TransformerChain<ITransformer>([.. stages]);
    }

    // [N, M] or [N, M K] member outputs times the Gibbs weights: [N] (regression; binary also its margin P - 1/2) or
    // [N, K] with its largest slot as a float class index (multiclass).
    private static byte[] CombinationGraph(ViscosityEnsembleTransformer ensemble, int classes, out string[] outputs, out Dictionary<string, int[]> shapes)
    {
        int members = ensemble.Members.Count;
        var builder = new OnnxGraphBuilder("hjml_viscosity_ensemble", "Gibbs-weighted combination of ensemble members.");
        builder.Input(Prefix + "members", TensorProto.Types.DataType.Float, "Member outputs, member-major.", OnnxExport.BatchDimension, members * classes);
        var matrix = new float[members * classes * classes];
        for (int i = 0; i < members; i++)
        {
            for (int k = 0; k < classes; k++)
            {
                matrix[(((i * classes) + k) * classes) + k] = (float)ensemble.Weights[i];
            }
        }

        string product = builder.Node("MatMul", "weighted", [Prefix + "members", builder.Floats("weights", matrix, members * classes, classes)]);
        shapes = [];
        if (ensemble.Kind == ModelKind.MulticlassClassification)
        {
            builder.Node("Reshape", Prefix + "combined", [product, builder.Int64s("flat", [-1], 1)]);
            string index = builder.Node("ArgMax", "class_index", [product], OnnxGraphBuilder.Integer("axis", 1), OnnxGraphBuilder.Integer("keepdims", 0), OnnxGraphBuilder.Integer("select_last_index", 0));
            builder.Node("Cast", Prefix + "class", [index], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
            builder.Output(Prefix + "combined", TensorProto.Types.DataType.Float, "Combined class probabilities.", "N_" + classes);
            builder.Output(Prefix + "class", TensorProto.Types.DataType.Float, "The largest slot.", OnnxExport.BatchDimension);
            shapes[Prefix + "combined"] = [classes];
            outputs = [Prefix + "combined", Prefix + "class"];
        }
        else
        {
            string combined = builder.Node("Reshape", Prefix + "combined", [product, builder.Int64s("flat", [-1], 1)]);
            builder.Output(combined, TensorProto.Types.DataType.Float, "Combined score or probability.", OnnxExport.BatchDimension);
            outputs = [combined];
            if (ensemble.Kind == ModelKind.BinaryClassification)
            {
                builder.Node("Sub", Prefix + "margin", [combined, builder.Floats("half", [0.5f])]);
                builder.Output(Prefix + "margin", TensorProto.Types.DataType.Float, "Probability - 1/2.", OnnxExport.BatchDimension);
                outputs = [combined, Prefix + "margin"];
            }
        }

        var proto = new ModelProto { IrVersion = OnnxExport.IrVersion, ProducerName = "HjMl", ProducerVersion = HjMl.Persistence.ModelFile.LibraryVersion, Graph = builder.Graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxExport.Opset });
        return proto.ToByteArray();
    }

    /// <summary>
    /// Fits OnnxTransformer on HjMl's graph for <paramref name="model"/> (explanation outputs when
    /// <paramref name="exportOptions"/> asks), reading <paramref name="featureColumn"/> and producing the graph's
    /// <paramref name="outputs"/> as columns "hjml.&lt;output&gt;"; <paramref name="shapes"/> gets their sizes after the batch axis.
    /// </summary>
    public static ITransformer Apply(MLContext context, HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, string[] outputs, IDataView schemaSource, out Dictionary<string, int[]> shapes, Action<GraphProto>? selectOutputs = null)
    {
        byte[] graph = GraphFor(model, exportOptions, featureColumn, out shapes, selectOutputs);
        using var stream = new MemoryStream(graph);
        return context.Transforms.ApplyOnnxModel(outputs.Select(output => Prefix + output).ToArray(), [featureColumn], stream, shapes, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100).Fit(schemaSource);
    }

    /// <summary>HjMl's ONNX graph with its outputs renamed "hjml.*" and its input renamed to the feature column.</summary>
    internal static byte[] GraphFor(HopfColeModel model, OnnxExportOptions? exportOptions, string featureColumn, out Dictionary<string, int[]> shapes, Action<GraphProto>? selectOutputs = null)
    {
        ModelProto proto = OnnxExport.Build(model, exportOptions);
        GraphProto graph = proto.Graph;
        selectOutputs?.Invoke(graph);
        var renames = graph.Output.ToDictionary(output => output.Name, output => output.Name.StartsWith(Prefix + "selected.", StringComparison.Ordinal) ? Prefix + output.Name[(Prefix.Length + "selected.".Length)..] : Prefix + output.Name);
        if (renames.Values.Contains(featureColumn) || featureColumn.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new NotSupportedException($"The feature column is named '{featureColumn}'; names starting with '{Prefix}' are reserved for HjMl's saved graph.");
        }

        renames[OnnxExport.FeaturesName] = featureColumn;
        foreach (NodeProto node in graph.Node)
        {
            Rename(node.Input, renames);
            Rename(node.Output, renames);
        }

        graph.Input[0].Name = featureColumn;

        // An [N] output becomes a one-slot vector by itself; an [N, K] output would become a [1, K] vector, so it is
        // flattened to [N*K] and OnnxTransformer is told its size, K, which gives a plain vector of K slots.
        shapes = [];
        foreach (ValueInfoProto output in graph.Output)
        {
            string name = renames[output.Name];
            output.Name = name;
            TensorShapeProto shape = output.Type.TensorType.Shape;
            if (shape.Dim.Count == 1)
            {
                continue;
            }

            int size = checked((int)shape.Dim.Skip(1).Aggregate(1L, (product, dimension) => product * dimension.DimValue));
            string matrix = name + ".matrix";
            foreach (NodeProto node in graph.Node)
            {
                Rename(node.Output, new Dictionary<string, string> { [name] = matrix });
                Rename(node.Input, new Dictionary<string, string> { [name] = matrix });
            }

            string flatShape = name + ".flat_shape";
            graph.Initializer.Add(new TensorProto { Name = flatShape, DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { -1 } });
            graph.Node.Add(new NodeProto { OpType = "Reshape", Name = name + ".flatten", Input = { matrix, flatShape }, Output = { name } });
            shape.Dim.Clear();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N_" + size });
            shapes[name] = [size];
        }

        return proto.ToByteArray();
    }

    /// <summary>An empty view with one column: <paramref name="name"/>, a vector of <paramref name="size"/> floats.</summary>
    public static IDataView FeaturesOnly(string name, int size)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single, size));
        return new EmptyDataView(builder.ToSchema());
    }

    /// <summary>
    /// A linear regression transformer reading the one-slot vector column <paramref name="column"/> with weight exactly 1
    /// and bias exactly 0, so that its Score is that slot's float. ML.NET's online gradient descent (squared loss,
    /// derivative 2(p - y), learning rate 1/4, no averaging, decay, regularisation or shuffling) gets there exactly from
    /// (1, 1): w = b = 1/2, then (-1, -1): p = 0, w = 1, b = 0; every step is a power of two, so nothing rounds.
    /// </summary>
    internal static ITransformer Identity(MLContext context, string column)
    {
        var examples = new InMemoryDataView((column, true, [[1f], [-1f]]), (DefaultColumnNames.Label, false, [[1f], [-1f]]));
        var trainer = context.Regression.Trainers.OnlineGradientDescent(new OnlineGradientDescentTrainer.Options
        {
            FeatureColumnName = column,
            LabelColumnName = DefaultColumnNames.Label,
            LearningRate = 0.25f,
            DecreaseLearningRate = false,
            L2Regularization = 0,
            NumberOfIterations = 1,
            Shuffle = false,
            Averaged = false,
            LossFunction = new SquaredLoss(),
        });
        RegressionPredictionTransformer<LinearRegressionModelParameters> identity = trainer.Fit(examples);
        IReadOnlyList<float> weights = identity.Model.Weights;
        if (weights.Count != 1 || weights[0] != 1f || identity.Model.Bias != 0f)
        {
            throw new InvalidOperationException($"ML.NET's online gradient descent gave weights [{string.Join(", ", weights)}] and bias {identity.Model.Bias} instead of exactly [1] and 0; this ML.NET cannot save HjMl models through ONNX.");
        }

        return identity;
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, Dictionary<string, string> renames)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (renames.TryGetValue(names[i], out string? renamed))
            {
                names[i] = renamed;
            }
        }
    }

    // The class index (float, 0-based: the key value minus one) -> the key value it stands for -> the key, with the
    // label's key values (in key order) as the key data, so PredictedLabel gets the label's key type and KeyValues.
    private static IEstimator<ITransformer>[] KeyMapping(MLContext context, LabelKeys keys, string classColumn, string valueColumn)
        => keys.ValueType is null
            ? KeyMapping(context, Enumerable.Range(1, keys.Count).Select(key => (uint)key).ToArray(), classColumn, valueColumn)
            : (IEstimator<ITransformer>[])typeof(OnnxPipeline).GetMethod(nameof(KeyMappingFromValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(keys.ValueType.RawType).Invoke(null, [context, keys, classColumn, valueColumn])!;

    private static IEstimator<ITransformer>[] KeyMappingFromValues<TValue>(MLContext context, LabelKeys keys, string classColumn, string valueColumn)
        => KeyMapping(context, keys.Values<TValue>(), classColumn, valueColumn);

    private static IEstimator<ITransformer>[] KeyMapping<TValue>(MLContext context, TValue[] values, string classColumn, string valueColumn)
    {
        IDataView keyData = context.Data.LoadFromEnumerable(values.Select(value => new KeyValue<TValue> { Value = value }));
        return
        [
            context.Transforms.Conversion.MapValue(valueColumn, values.Select((value, index) => new KeyValuePair<float, TValue>(index, value)), classColumn),
            context.Transforms.Conversion.MapValueToKey(DefaultColumnNames.PredictedLabel, valueColumn, keyData: keyData),
        ];
    }

    /// <summary>One key value, for MapValueToKey's key data.</summary>
    public sealed class KeyValue<TValue>
    {
        /// <summary>The value.</summary>
        public TValue? Value { get; set; }
    }
}
