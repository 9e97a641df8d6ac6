using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Persistence;

/// <summary>
/// A saveable chain built stage by stage from an empty view: each stage is fitted on, and applied to, the schema the
/// stages before it produce, so the chain's output columns can be checked against the live transformer's.
/// </summary>
internal sealed class SaveChain
{
    private readonly List<ITransformer> stages = [];

    /// <summary>Starts a chain reading <paramref name="input"/>'s schema.</summary>
    public SaveChain(IDataView input) => Current = input;

    /// <summary>The context every stage is made with.</summary>
    public MLContext Context { get; } = new();

    /// <summary>The (empty) view after the stages so far.</summary>
    public IDataView Current { get; private set; }

    /// <summary>The number of stages so far.</summary>
    public int Count => stages.Count;

    /// <summary>Appends a fitted stage.</summary>
    public void Add(ITransformer stage)
    {
        stages.Add(stage);
        Current = stage.Transform(Current);
    }

    /// <summary>Fits <paramref name="estimator"/> on the current schema and appends it.</summary>
    public void Fit(IEstimator<ITransformer> estimator) => Add(estimator.Fit(Current));

    /// <summary>The chain of the stages so far.</summary>
    public TransformerChain<ITransformer> ToChain() => new([.. stages]);
}
