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
    /// <summary>The setting <see cref="SavedStage"/> records for the stages of the saved chain that are the members.</summary>
    public const string MemberStagesSetting = "member_stages";

    private const string Prefix = OnnxPipeline.Prefix;

    /// <summary>
    /// The saveable chain standing for a viscosity ensemble: the members as they save themselves, each reading the
    /// original input (columns a member rewrites are kept aside and put back), their Score (Probability for binary)
    /// copied aside and concatenated, the combination graph (<see cref="EnsembleGraph"/>: the same scores and pooling
    /// as the live ensemble), the input columns put back in order, a drop of everything else the members added, then
    /// the same stages as predictions (<see cref="PredictionStages"/>), so the visible columns are the live ensemble's.
    /// The graph's metadata records the rule (<see cref="SavedEnsembleRule"/>) and which stages are the members.
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

        string source = MemberScores.SourceColumn(ensemble.Kind);
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
        chain.Fit(context.Transforms.Concatenate(EnsembleGraph.Members, [.. memberColumns]));
        ModelProto graph = EnsembleGraph.Build(ensemble, out string[] outputs);
        if (ensemble.Kind == ModelKind.MulticlassClassification && memberSchema[DefaultColumnNames.Score].Annotations.Schema.GetColumnOrNull(AnnotationNames.SlotNames) is not null)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            memberSchema[DefaultColumnNames.Score].Annotations.GetValue(AnnotationNames.SlotNames, ref names);
            OnnxPipeline.AddSlotNames(graph, PredictionStages.Probabilities, names.DenseValues().Select(name => name.ToString()).ToArray());
        }

        SavedStage.Write(graph, SavedStage.Ensemble, null, [.. SavedEnsembleRule.Settings(ensemble.Kind, ensemble.Rule), (MemberStagesSetting, JsonSerializer.Serialize(memberStages))]);
        chain.Add(OnnxPipeline.ApplyGraph(context, graph, outputs, [EnsembleGraph.Members], chain.Current));

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
                PredictionStages.BinaryFromMargin(chain, DefaultColumnNames.Score);
                break;
            default:
                PredictionStages.Multiclass(chain, DefaultColumnNames.Score, LabelKeys.From(memberSchema[DefaultColumnNames.PredictedLabel]).ClassIndexToKey);
                break;
        }

        return chain.ToChain();
    }
}
