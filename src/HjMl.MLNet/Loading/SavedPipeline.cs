using System.IO.Compression;
using System.Text.Json;
using HjMl.Ensembles;
using HjMl.MLNet.Attribution;
using HjMl.MLNet.Columns;
using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Featurization;
using HjMl.MLNet.Persistence;
using HjMl.MLNet.Prediction;
using HjMl.MLNet.Relaxation;
using HjMl.Models;
using HjMl.Onnx.Protocol;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace HjMl.MLNet.Loading;

/// <summary>
/// Gives a pipeline loaded by ML.NET back its HjMl transformers. Each HjMl transformer was saved as a chain of ML.NET
/// stages around one OnnxTransformer whose graph records, in its metadata, which transformer it stands for and its model
/// (<see cref="SavedStage"/>); every such chain is replaced by the transformer it records, everything else is kept as
/// loaded (the scopes of a chain's stages included).
/// </summary>
/// <remarks>
/// A GibbsAttribution transform comes back as itself (HjMl's kernels, the same columns) unless it reports support rows
/// by an id column: the ids are mapped by ML.NET stages after its graph, so that one is kept as loaded (its ONNX stages)
/// and explaining in memory again means appending a new one to the re-bound prediction transformer.
/// </remarks>
internal static class SavedPipeline
{
    /// <summary><paramref name="loaded"/> (read with <paramref name="inputSchema"/>) with every recorded HjMl transformer given back.</summary>
    /// <exception cref="InvalidDataException">A recorded stage is damaged or does not match the stages saved beside it.</exception>
    public static ITransformer Rebind(ModelOperationsCatalog catalog, ITransformer loaded, DataViewSchema inputSchema)
        => Rebind(catalog, loaded, inputSchema, out _);

    private static ITransformer Rebind(ModelOperationsCatalog catalog, ITransformer transformer, DataViewSchema input, out bool changed)
    {
        changed = false;
        if (transformer is not TransformerChain<ITransformer> chain)
        {
            return transformer;
        }

        ITransformer[] stages = [.. chain];
        if (RecordedStage(catalog, stages) is { } recorded)
        {
            changed = true;
            return Replace(catalog, chain, stages, recorded, input);
        }

        var rebound = new ITransformer[stages.Length];
        DataViewSchema schema = input;
        for (int i = 0; i < stages.Length; i++)
        {
            rebound[i] = Rebind(catalog, stages[i], schema, out bool stageChanged);
            changed |= stageChanged;
            schema = rebound[i].GetOutputSchema(schema);
        }

        return changed ? new TransformerChain<ITransformer>(rebound, Scopes(chain, stages)) : chain;
    }

    // The stage recorded by an OnnxTransformer among the chain's own stages (not those of chains inside it).
    private static SavedStage? RecordedStage(ModelOperationsCatalog catalog, ITransformer[] stages)
    {
        foreach (OnnxTransformer onnx in stages.OfType<OnnxTransformer>())
        {
            if (SavedStage.Read(ModelProto.Parser.ParseFrom(GraphOf(catalog, onnx))) is { } stage)
            {
                return stage;
            }
        }

        return null;
    }

    private static ITransformer Replace(ModelOperationsCatalog catalog, TransformerChain<ITransformer> chain, ITransformer[] stages, SavedStage stage, DataViewSchema input)
    {
        var kept = new HashSet<ITransformer>(ReferenceEqualityComparer.Instance);
        ITransformer transformer = stage.Kind switch
        {
            SavedStage.Prediction => Prediction(stage, chain.GetOutputSchema(input)),
            SavedStage.Featurizer => new HopfColeFeaturizerTransformer(stage.RequireModel(), stage.Text(FeaturizerSaveChain.InputSetting), stage.Text(FeaturizerSaveChain.OutputSetting), Enum.Parse<HopfColeFeatures>(stage.Text(FeaturizerSaveChain.FeaturesSetting))),
            SavedStage.Ensemble => Ensemble(catalog, stage, stages, input, kept),
            SavedStage.Attribution => new GibbsAttributionTransformer(new HopfColeModelParameters(stage.RequireModel(), null, stage.Integer(AttributionSaveChain.TrainingRowsSetting)), stage.Text(AttributionSaveChain.FeatureColumnSetting), stage.Integer(AttributionSaveChain.TopSupportPointsSetting), input),
            AdrFeaturizerSaveChain.Kind => AdrFeaturizerSaveChain.Restore(stage),
            _ => throw new InvalidDataException($"A saved graph records a HjMl stage of kind '{stage.Kind}', which this version of HjMl.MLNet does not know; it was written by a newer one."),
        };

        // Compared as sets: a saved stage that writes over its input column ends with ML.NET's copy, which puts the column
        // last, where the transformer it stands for replaces it in place.
        var before = Visible(chain.GetOutputSchema(input));
        var after = Visible(transformer.GetOutputSchema(input));
        if (!before.Order(StringComparer.Ordinal).SequenceEqual(after.Order(StringComparer.Ordinal)))
        {
            throw new InvalidDataException($"The saved {stage.Kind} stage gives the columns [{string.Join(", ", after)}] when re-bound, but its saved stages give [{string.Join(", ", before)}]; the file is damaged or was edited.");
        }

        // The loaded stand-ins hold ONNX Runtime sessions; members of an ensemble live on in the re-bound one.
        foreach (IDisposable disposable in stages.Where(loaded => !kept.Contains(loaded)).OfType<IDisposable>())
        {
            disposable.Dispose();
        }

        return transformer;
    }

    private static HopfColePredictionTransformer Prediction(SavedStage stage, DataViewSchema saved)
    {
        HopfColeModel model = stage.RequireModel();
        LabelKeys? keys = model.Kind == ModelKind.MulticlassClassification ? LabelKeys.From(saved[DefaultColumnNames.PredictedLabel]) : null;
        return new HopfColePredictionTransformer(new HopfColeModelParameters(model, null, stage.Integer(PredictionSaveChain.TrainingRowsSetting)), stage.Text(PredictionSaveChain.FeatureColumnSetting), keys);
    }

    // The members are the recorded stages of the ensemble's chain, each re-bound on the schema the chain gives it.
    private static ViscosityEnsembleTransformer Ensemble(ModelOperationsCatalog catalog, SavedStage stage, ITransformer[] stages, DataViewSchema input, HashSet<ITransformer> kept)
    {
        int[] memberStages = JsonSerializer.Deserialize<int[]>(stage.Text(EnsembleSaveChain.MemberStagesSetting)) ?? [];
        var members = new List<ITransformer>();
        DataViewSchema schema = input;
        for (int i = 0; i < stages.Length; i++)
        {
            if (memberStages.Contains(i))
            {
                ITransformer member = Rebind(catalog, stages[i], schema, out bool memberChanged);
                members.Add(member);
                if (!memberChanged)
                {
                    kept.Add(member);
                }
            }

            schema = stages[i].GetOutputSchema(schema);
        }

        (ModelKind kind, EnsembleRule rule) = SavedEnsembleRule.Read(stage);
        if (members.Count != rule.NumberOfMembers)
        {
            throw new InvalidDataException($"The saved ensemble records {members.Count} member stages but a rule over {rule.NumberOfMembers} members; they must agree.");
        }

        return new ViscosityEnsembleTransformer(kind, [.. members], rule, input);
    }

    // OnnxTransformer keeps its graph to itself; saving it alone writes the graph as the "OnnxModel" stream of the zip
    // (a 32-bit length, then the bytes).
    private static byte[] GraphOf(ModelOperationsCatalog catalog, OnnxTransformer onnx)
    {
        using var memory = new MemoryStream();
        catalog.Save(onnx, null, memory);
        memory.Position = 0;
        using var zip = new ZipArchive(memory, ZipArchiveMode.Read);
        ZipArchiveEntry entry = zip.Entries.FirstOrDefault(candidate => candidate.Name == "OnnxModel")
            ?? throw new InvalidDataException("ML.NET saved an OnnxTransformer without its 'OnnxModel' stream; this ML.NET stores ONNX graphs differently.");
        using var reader = new BinaryReader(entry.Open());
        int length = reader.ReadInt32();
        byte[] graph = reader.ReadBytes(length);
        return graph.Length == length ? graph : throw new InvalidDataException($"The saved OnnxTransformer's graph has {graph.Length} of its {length} bytes.");
    }

    // TransformerChain keeps its stages' scopes to itself too; each one's scope is the filters whose model keeps it.
    private static TransformerScope[] Scopes(TransformerChain<ITransformer> chain, ITransformer[] stages)
    {
        TransformerScope[] filters = [TransformerScope.Training, TransformerScope.Testing, TransformerScope.Scoring];
        var members = filters.Select(filter => chain.GetModelFor(filter).ToHashSet(ReferenceEqualityComparer.Instance)).ToArray();
        return stages.Select(stage => filters.Where((filter, i) => members[i].Contains(stage)).Aggregate(TransformerScope.None, (scope, filter) => scope | filter)).ToArray();
    }

    private static string[] Visible(DataViewSchema schema)
        => schema.Where(column => !column.IsHidden).Select(column => $"{column.Name}: {column.Type}").ToArray();
}
