using HjMl.MLNet.Loading;
using HjMl.Persistence;
using Microsoft.ML;

namespace HjMl.MLNet;

/// <summary>
/// HjMl's entries in ML.NET's model operations catalog: <c>mlContext.Model.LoadWithHopfCole(...)</c>, which loads a saved
/// pipeline with HjMl's own transformers back in it, and <c>mlContext.Model.SaveAtomically(...)</c>, which replaces a
/// model file only once the whole model has been written.
/// </summary>
/// <remarks>
/// <para>A pipeline holding HjMl transformers saves through ML.NET's own <c>Model.Save</c>: each HjMl transformer writes,
/// in its place, ML.NET's OnnxTransformer running its graph, so the zip loads with plain ML.NET and
/// Microsoft.ML.OnnxTransformer, without HjMl, and scores through ONNX Runtime one row per run. The graph also records the
/// HjMl model itself (in HjMl's model file format), which <see cref="LoadWithHopfCole(ModelOperationsCatalog, string, out DataViewSchema)"/>
/// reads to give back the transformers the pipeline was saved with: they score natively, at in-memory speed, in double,
/// and a re-bound <c>HopfColePredictionTransformer</c> can be explained again with <c>mlContext.Transforms.GibbsAttribution</c>.
/// The training history (epochs, best epoch, validation metric) is not saved.</para>
/// <para>ML.NET's <c>Model.Save(model, schema, path)</c> truncates the file before writing to it, so a save that fails
/// part way (a model that cannot be exported, a full disk) leaves a damaged zip where the old model was;
/// <see cref="SaveAtomically"/> does not.</para>
/// </remarks>
public static class HopfColeModelOperations
{
    /// <summary>
    /// Loads a model saved with ML.NET's <c>Model.Save</c> (or <see cref="SaveAtomically"/>), giving back the HjMl
    /// transformers it holds: Hopf–Cole predictions (all three tasks, flows included), featurisers (Hopf–Cole and ADR) and viscosity
    /// ensembles (their members re-bound in turn). Everything else, and GibbsAttribution transforms, is as
    /// <c>Model.Load</c> gives it.
    /// </summary>
    /// <param name="catalog">ML.NET's model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="filePath">The saved zip.</param>
    /// <param name="inputSchema">The input schema the model was saved with.</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="InvalidDataException">A HjMl stage of the file is damaged.</exception>
    /// <example>
    /// <code language="csharp">
    /// mlContext.Model.Save(model, data.Schema, "model.zip");
    /// ITransformer loaded = mlContext.Model.LoadWithHopfCole("model.zip", out DataViewSchema schema);
    /// </code>
    /// </example>
    public static ITransformer LoadWithHopfCole(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        using var stream = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read);
        return catalog.LoadWithHopfCole(stream, out inputSchema);
    }

    /// <summary>Loads a model from <paramref name="stream"/> as <see cref="LoadWithHopfCole(ModelOperationsCatalog, string, out DataViewSchema)"/> does.</summary>
    /// <param name="catalog">ML.NET's model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="stream">A readable, seekable stream holding the saved zip.</param>
    /// <param name="inputSchema">The input schema the model was saved with.</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="InvalidDataException">A HjMl stage of the stream is damaged.</exception>
    public static ITransformer LoadWithHopfCole(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        ITransformer loaded = catalog.Load(stream, out inputSchema);
        return SavedPipeline.Rebind(catalog, loaded, inputSchema);
    }

    /// <summary>
    /// Saves <paramref name="model"/> as ML.NET's <c>Model.Save</c> does, but to a temporary file beside
    /// <paramref name="filePath"/> that is moved over it only once the whole zip is written and flushed: a save that fails
    /// leaves the previous file as it was, and no partial file.
    /// </summary>
    /// <param name="catalog">ML.NET's model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">The model to save.</param>
    /// <param name="inputSchema">The schema of the model's input (it is saved with the model).</param>
    /// <param name="filePath">The destination; its directory must exist.</param>
    /// <exception cref="DirectoryNotFoundException">The destination's directory does not exist.</exception>
    public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        AtomicFile.Write(filePath, stream => catalog.Save(model, inputSchema, stream));
    }
}
