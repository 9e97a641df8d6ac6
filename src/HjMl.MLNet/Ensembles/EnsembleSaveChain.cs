using Google.Protobuf;
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
    private const string Prefix = OnnxPipeline.Prefix;

    /// <summary>
    /// The saveable chain standing for a viscosity ensemble: the members as they save themselves, each reading the
    /// original input (columns a member rewrites are kept aside and put back), their Score (Probability for binary)
    /// copied aside and concatenated, a small ONNX graph computing the Gibbs-weighted sum (and for multiclass the
    /// largest slot), then the same scalar, copy, key and drop stages as predictions, so the visible columns are the
    /// live ensemble's.
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
        for (int i = 0; i < ensemble.Members.Count; i++)
        {
            foreach (string name in i == 0 ? [] : rewritten)
            {
                chain.Fit(context.Transforms.CopyColumns(name, Prefix + "input." + name));
            }

            chain.Add(ensemble.Members[i]);
            memberColumns.Add(Prefix + "member" + i);
            chain.Fit(context.Transforms.CopyColumns(memberColumns[^1], source));
        }

        DataViewSchema memberSchema = chain.Current.Schema;
        chain.Fit(context.Transforms.Concatenate(Prefix + "members", [.. memberColumns]));
        int classes = ensemble.Kind == ModelKind.MulticlassClassification ? ((VectorDataViewType)memberSchema[DefaultColumnNames.Score].Type).Size : 1;
        byte[] graph = CombinationGraph(ensemble, classes, out string[] outputs, out Dictionary<string, int[]> shapes);
        chain.Add(OnnxPipeline.ApplyGraph(context, graph, outputs, [Prefix + "members"], shapes, chain.Current));

        // Put the input columns back in their order (from the first rewritten one on), as the live ensemble keeps them.
        int first = rewritten.Length == 0 ? int.MaxValue : rewritten.Min(name => schema[name].Index);
        foreach (DataViewSchema.Column column in visible.Where(column => column.Index >= first))
        {
            chain.Fit(context.Transforms.CopyColumns(column.Name, rewritten.Contains(column.Name) ? Prefix + "input." + column.Name : column.Name));
        }

        var scalars = outputs.Where(output => output != Prefix + "combined" || ensemble.Kind != ModelKind.MulticlassClassification).ToArray();
        foreach (string scalar in scalars)
        {
            chain.Add(OnnxPipeline.Identity(context, scalar));
            chain.Fit(context.Transforms.CopyColumns(scalar + ".scalar", DefaultColumnNames.Score));
        }

        switch (ensemble.Kind)
        {
            case ModelKind.Regression:
                chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "combined.scalar"));
                break;
            case ModelKind.BinaryClassification:
                chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "margin.scalar"));
                chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Probability, Prefix + "combined.scalar"));
                chain.Fit(context.Transforms.Expression(DefaultColumnNames.PredictedLabel, "margin => margin > 0", DefaultColumnNames.Score));
                break;
            default:
                chain.Fit(context.Transforms.CopyColumns(DefaultColumnNames.Score, Prefix + "combined"));
                foreach (IEstimator<ITransformer> stage in LabelKeys.From(memberSchema[DefaultColumnNames.PredictedLabel]).ClassIndexToKey(context, Prefix + "class.scalar", Prefix + "value"))
                {
                    chain.Fit(stage);
                }

                break;
        }

        string[] finals = ensemble.Kind switch
        {
            ModelKind.Regression => [DefaultColumnNames.Score],
            ModelKind.BinaryClassification => [DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel],
            _ => [DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel],
        };
        var drop = chain.Current.Schema.Where(column => !column.IsHidden && !finals.Contains(column.Name) && (column.Name.StartsWith(Prefix, StringComparison.Ordinal) || schema.GetColumnOrNull(column.Name) is null)).Select(column => column.Name).Distinct().ToArray();
        if (drop.Length > 0)
        {
            chain.Fit(context.Transforms.DropColumns(drop));
        }

        return chain.ToChain();
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
}
