using System.Globalization;
using HjMl.Models;
using HjMl.Onnx.Protocol;
using HjMl.Persistence;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// What a saved chain's ONNX graph records about the HjMl transformer it stands for, in the graph's metadata_props, so
/// that <see cref="HopfColeModelOperations.LoadWithHopfCole(Microsoft.ML.ModelOperationsCatalog, string, out Microsoft.ML.DataViewSchema)"/>
/// can give the transformer back: which transformer it was, its settings, and the HjMl model itself in HjMl's model
/// file format (<see cref="ModelFile"/>, base64), so the model comes back bit for bit in double, not re-read from the
/// graph's float32 initialisers.
/// </summary>
/// <remarks>
/// ONNX Runtime and OnnxTransformer ignore metadata_props, so a plain ML.NET load is unaffected; the model is stored twice
/// (as the graph's float32 weights and as the double model file, about 2.7 times the float32 weights in all).
/// </remarks>
internal sealed class SavedStage
{
    /// <summary>A HopfColePredictionTransformer.</summary>
    public const string Prediction = "prediction";

    /// <summary>A HopfColeFeaturizerTransformer.</summary>
    public const string Featurizer = "featurizer";

    /// <summary>A ViscosityEnsembleTransformer's combination.</summary>
    public const string Ensemble = "ensemble";

    /// <summary>A GibbsAttributionTransformer (positions, not ids, as its support rows).</summary>
    public const string Attribution = "attribution";

    private const string KeyPrefix = "hjml.mlnet.";
    private const string StageKey = KeyPrefix + "stage";
    private const string ModelKey = KeyPrefix + "model";

    private readonly Dictionary<string, string> properties;

    private SavedStage(string kind, Dictionary<string, string> properties, HopfColeModel? model)
    {
        Kind = kind;
        this.properties = properties;
        Model = model;
    }

    /// <summary>One of <see cref="Prediction"/>, <see cref="Featurizer"/> or <see cref="Ensemble"/>.</summary>
    public string Kind { get; }

    /// <summary>The HjMl model, for prediction and featuriser stages.</summary>
    public HopfColeModel? Model { get; }

    /// <summary>Records <paramref name="kind"/>, <paramref name="model"/> and <paramref name="settings"/> in <paramref name="proto"/>'s metadata.</summary>
    public static void Write(ModelProto proto, string kind, HopfColeModel? model, params (string Name, string Value)[] settings)
    {
        proto.MetadataProps.Add(new StringStringEntryProto { Key = StageKey, Value = kind });
        foreach ((string name, string value) in settings)
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = KeyPrefix + name, Value = value });
        }

        if (model is not null)
        {
            using var stream = new MemoryStream();
            ModelFile.Save(model, stream);
            proto.MetadataProps.Add(new StringStringEntryProto { Key = ModelKey, Value = Convert.ToBase64String(stream.GetBuffer(), 0, (int)stream.Length) });
        }
    }

    /// <summary>The stage <paramref name="proto"/> records, or null for a graph HjMl did not write for a saved transformer.</summary>
    /// <exception cref="InvalidDataException">The recorded model is damaged.</exception>
    public static SavedStage? Read(ModelProto proto)
    {
        var properties = proto.MetadataProps.Where(entry => entry.Key.StartsWith(KeyPrefix, StringComparison.Ordinal)).ToDictionary(entry => entry.Key[KeyPrefix.Length..], entry => entry.Value);
        if (!properties.Remove("stage", out string? kind))
        {
            return null;
        }

        HopfColeModel? model = null;
        if (properties.Remove("model", out string? encoded))
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(encoded);
            }
            catch (FormatException exception)
            {
                throw new InvalidDataException($"The saved {kind} stage's HjMl model is not valid base64: {exception.Message}", exception);
            }

            using var stream = new MemoryStream(bytes);
            model = ModelFile.Load(stream, $"the saved {kind} stage's HjMl model");
        }

        return new SavedStage(kind, properties, model);
    }

    /// <summary>The setting <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">It was not recorded.</exception>
    public string Text(string name)
        => properties.TryGetValue(name, out string? value) ? value : throw new InvalidDataException($"The saved {Kind} stage does not record '{KeyPrefix + name}'.");

    /// <summary>The setting <paramref name="name"/> as an integer.</summary>
    public int Integer(string name) => int.Parse(Text(name), NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>The setting <paramref name="name"/> as a double (round-trip text).</summary>
    public double Number(string name) => double.Parse(Text(name), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Round-trip text of <paramref name="value"/>.</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The HjMl model, which prediction and featuriser stages record.</summary>
    /// <exception cref="InvalidDataException">It was not recorded.</exception>
    public HopfColeModel RequireModel() => Model ?? throw new InvalidDataException($"The saved {Kind} stage does not record its HjMl model ('{ModelKey}').");
}
