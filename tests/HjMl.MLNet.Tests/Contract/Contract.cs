using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>
/// One contract over every estimator HjMl.MLNet offers (ML.NET's TestEstimatorCore idea, <see cref="ContractCase"/>), one
/// test class per clause so the clauses run in parallel: the schema an estimator promises is the one its transformer
/// delivers (<see cref="SchemaContractTests"/>); saving and loading give the same values (<see cref="SaveAndLoadContractTests"/>);
/// fitting is deterministic for a seed (<see cref="DeterminismContractTests"/>); a NaN feature is refused in memory and
/// after saving alike (<see cref="NaNContractTests"/>); the input rows come out unchanged (<see cref="MutationContractTests"/>).
/// </summary>
internal static class Contract
{
    /// <summary>Saved HjMl graphs run in float32 where the live transformers run in double.</summary>
    public const double SavedTolerance = 1e-4;

    /// <summary>Saves <paramref name="model"/> and loads it back through ML.NET's own Model.Load and through LoadWithHopfCole.</summary>
    public static (ITransformer Loaded, ITransformer Rebound) SaveAndLoad(MLContext context, ITransformer model, DataViewSchema schema)
    {
        string path = Path.Combine(Path.GetTempPath(), $"hjml-contract-{Guid.NewGuid():N}.zip");
        try
        {
            context.Model.Save(model, schema, path);
            return (new MLContext(seed: 2).Model.Load(path, out _), new MLContext(seed: 2).Model.LoadWithHopfCole(path, out _));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
