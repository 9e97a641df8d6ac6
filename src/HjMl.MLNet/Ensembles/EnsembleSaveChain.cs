using System.Text.Json;
using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.MLNet.Persistence;
using HjMl.MLNet.Prediction;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Ensembles;

/// <summary>What <see cref="ViscosityEnsembleTransformer"/> saves in its place (see <see cref="OnnxPipeline"/>).</summary>
internal static class EnsembleSaveChain
{
    /// <summary>The settings <see cref="SavedStage"/> records for an ensemble stage.</summary>
    public const string KindSetting = "kind", ViscositySetting = "viscosity", WeightsSetting = "weights", LossesSetting = "losses", SearchSetting = "search", MemberStagesSetting = "member_stages";

    private const string Prefix = OnnxPipeline.Prefix;
    private const string Members = Prefix + "members";

    /// <summary>
    /// The saveable chain standing for a viscosity ensemble: the members as they save themselves, each reading the
    /// original input (columns a member rewrites are kept aside and put back), their Score (Probability for binary)
    /// copied aside and concatenated, a small ONNX graph computing the Gibbs-weighted sum (and for multiclass the
    /// largest slot), the input columns put back in order, a drop of everything else the members added, then the same
    /// stages as predictions (<see cref="PredictionStages"/>), so the visible columns are the live ensemble's.
    /// </summary>
    public static TransformerChain<ITransformer> For(ViscosityEnsembleTransformer ensemble)
    {
        DataViewSchema schema = ensemble.FitSchema;
        var chain = new SaveChain(new EmptyDataView(schema));
        MLContext context = chain.Context;
        string[] predictions = [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel];
        var visible = schema.Where(column => !column.IsHidden).ToArray();
        var rewritten = visible.Where(column => !predictions.Contains(column.Name) && ensemble.Members.Any(member => member.GetOutputSchema(schema)[column.Name].Index != column.Index)).Select(column => column.Name).ToArray();
        foreach (string name in rewritten)
        {
            chain.Fit(context.Transforms.CopyColumns(Prefix + "input." + name, name));
        }

        string source = ensemble.Kind == ModelKind.BinaryClassification ? DefaultColumnNames.Probability : DefaultColumnNames.Score;
        var memberColumns = new List<string>();
        var memberStages = new List<int>();
        for (int i = 0; i < ensemble.Members.Count; i++)
        {
            foreach (string name in i == 0 ? [] : rewritten)
            {
                chain.Fit(context.Transforms.CopyColumns(name, Prefix + "input." + name));
            }

            memberStages.Add(chain.Count);
            chain.Add(ensemble.Members[i]);
            memberColumns.Add(Prefix + "member" + i);
            chain.Fit(context.Transforms.CopyColumns(memberColumns[^1], source));
        }

        DataViewSchema memberSchema = chain.Current.Schema;
        chain.Fit(context.Transforms.Concatenate(Members, [.. memberColumns]));
        int classes = ensemble.Kind == ModelKind.MulticlassClassification ? ((VectorDataViewType)memberSchema[DefaultColumnNames.Score].Type).Size : 1;
        ModelProto graph = CombinationGraph(ensemble, classes, out string[] outputs);
        if (ensemble.Kind == ModelKind.MulticlassClassification && memberSchema[DefaultColumnNames.Score].Annotations.Schema.GetColumnOrNull(AnnotationNames.SlotNames) is not null)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            memberSchema[DefaultColumnNames.Score].Annotations.GetValue(AnnotationNames.SlotNames, ref names);
            OnnxPipeline.AddSlotNames(graph, PredictionStages.Probabilities, names.DenseValues().Select(name => name.ToString()).ToArray());
        }

        SavedStage.Write(graph, SavedStage.Ensemble, null, Settings(ensemble, memberStages));
        chain.Add(OnnxPipeline.ApplyGraph(context, graph, outputs, [Members], chain.Current));

        // Put the input columns back in their order (from the first rewritten one on), as the live ensemble keeps them.
        int first = rewritten.Length == 0 ? int.MaxValue : rewritten.Min(name => schema[name].Index);
        foreach (DataViewSchema.Column column in visible.Where(column => column.Index >= first))
        {
            chain.Fit(context.Transforms.CopyColumns(column.Name, rewritten.Contains(column.Name) ? Prefix + "input." + column.Name : column.Name));
        }

        // Everything the members and the copies added, but the graph's outputs, goes before the prediction stages.
        var drop = chain.Current.Schema.Where(column => !column.IsHidden && !outputs.Contains(column.Name) && (column.Name.StartsWith(Prefix, StringComparison.Ordinal) || schema.GetColumnOrNull(column.Name) is null)).Select(column => column.Name).Distinct().ToArray();
        if (drop.Length > 0)
        {
            chain.Fit(context.Transforms.DropColumns(drop));
        }

        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                PredictionStages.Regression(chain, DefaultColumnNames.Score);
                break;
            case ModelKind.BinaryClassification:
                PredictionStages.BinaryFromCentredProbability(chain, DefaultColumnNames.Score);
                break;
            default:
                PredictionStages.Multiclass(chain, DefaultColumnNames.Score, LabelKeys.From(memberSchema[DefaultColumnNames.PredictedLabel]).ClassIndexToKey);
                break;
        }

        return chain.ToChain();
    }

    /// <summary>
    /// What <see cref="SavedStage"/> records to give the ensemble back: the task, eps, the members' weights and losses,
    /// the eps search, and which stages of the saved chain are the members.
    /// </summary>
    private static (string Name, string Value)[] Settings(ViscosityEnsembleTransformer ensemble, List<int> memberStages) =>
    [
        (KindSetting, ensemble.Kind.ToString()),
        (ViscositySetting, SavedStage.Format(ensemble.Viscosity)),
        (WeightsSetting, JsonSerializer.Serialize(ensemble.Weights)),
        (LossesSetting, JsonSerializer.Serialize(ensemble.Losses)),
        (SearchSetting, JsonSerializer.Serialize(ensemble.Search.Select(candidate => new[] { candidate.Viscosity, candidate.ValidationLoss, candidate.ValidationMetric }))),
        (MemberStagesSetting, JsonSerializer.Serialize(memberStages)),
    ];

    // [1, M] or [1, M K] member outputs times the Gibbs weights: Score [1] (regression; binary P - 1/2), or the
    // probabilities [K] and the index of the largest as Score [1] (multiclass; the first on ties, as the live ensemble).
    private static ModelProto CombinationGraph(ViscosityEnsembleTransformer ensemble, int classes, out string[] outputs)
    {
        int members = ensemble.Members.Count;
        var builder = new OnnxGraphBuilder("hjml_viscosity_ensemble", "Gibbs-weighted combination of ensemble members.");
        builder.Input(Members, TensorProto.Types.DataType.Float, "Member outputs, member-major.", 1, members * classes);
        var matrix = new float[members * classes * classes];
        for (int i = 0; i < members; i++)
        {
            for (int k = 0; k < classes; k++)
            {
                matrix[(((i * classes) + k) * classes) + k] = (float)ensemble.Weights[i];
            }
        }

        string product = builder.Node("MatMul", Prefix + "weighted", [Members, builder.Floats(Prefix + "weights", matrix, members * classes, classes)]);
        string score = DefaultColumnNames.Score;
        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                builder.Node("Reshape", score, [product, builder.Int64s(Prefix + "flat", [1], 1)]);
                outputs = [score];
                break;
            case ModelKind.BinaryClassification:
                string combined = builder.Node("Reshape", Prefix + "combined", [product, builder.Int64s(Prefix + "flat", [1], 1)]);
                builder.Node("Sub", score, [combined, builder.Floats(Prefix + "half", [0.5f])]);
                outputs = PredictionStages.BinaryPlaceholders(builder, score, Members);
                break;
            default:
                string probabilities = builder.Node("Reshape", PredictionStages.Probabilities, [product, builder.Int64s(Prefix + "flat", [classes], 1)]);
                string index = builder.Node("ArgMax", Prefix + "class_index", [probabilities], OnnxGraphBuilder.Integer("axis", 0), OnnxGraphBuilder.Integer("keepdims", 1), OnnxGraphBuilder.Integer("select_last_index", 0));
                builder.Node("Cast", score, [index], OnnxGraphBuilder.Integer("to", (long)TensorProto.Types.DataType.Float));
                builder.Output(probabilities, TensorProto.Types.DataType.Float, "Combined class probabilities.", classes);
                outputs = [probabilities, score];
                break;
        }

        builder.Output(score, TensorProto.Types.DataType.Float, ensemble.Kind == ModelKind.MulticlassClassification ? "The largest slot." : "Combined score, or probability - 1/2.", 1);
        return ScoringGraph.Model(builder.Graph);
    }
}
