using Microsoft.ML;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>The estimator contract (<see cref="Contract"/>) for every estimator: saving and loading, through ML.NET's Model.Load and through LoadWithHopfCole, gives the same values.</summary>
public class SaveAndLoadContractTests
{
    public static TheoryData<string> Cases => ContractCase.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void SavedAndLoadedModelGivesTheSameValues(string name)
    {
        ContractCase contract = ContractCase.Named(name);
        var context = new MLContext(seed: 1);
        IDataView data = ContractCase.Data(context, contract.DataTask);
        ITransformer model = contract.Estimator(context).Fit(data);
        Dictionary<string, object[]> live = ColumnValues.Read(model.Transform(data));

        (ITransformer loaded, ITransformer rebound) = Contract.SaveAndLoad(context, model, data.Schema);

        // Names and types; plain ML.NET loads its own score annotations in place of the live transformer's.
        Assert.Equal(ColumnValues.Describe(model.Transform(data).Schema, annotations: false), ColumnValues.Describe(loaded.Transform(data).Schema, annotations: false));
        Assert.Equal(ColumnValues.Describe(model.Transform(data).Schema, annotations: false), ColumnValues.Describe(rebound.Transform(data).Schema, annotations: false));
        ColumnValues.AssertSame(live, ColumnValues.Read(loaded.Transform(data)), Contract.SavedTolerance, "Model.Load");
        ColumnValues.AssertSame(live, ColumnValues.Read(rebound.Transform(data)), Contract.SavedTolerance, "LoadWithHopfCole");
    }
}
