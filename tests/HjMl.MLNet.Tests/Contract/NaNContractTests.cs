using Microsoft.ML;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>The estimator contract (<see cref="Contract"/>) for every estimator: a NaN feature is refused in memory and after saving alike (the plug-in's decision: both throw).</summary>
public class NaNContractTests
{
    public static TheoryData<string> Cases => ContractCase.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void NaNFeatureIsRefusedInMemoryAndAfterSaving(string name)
    {
        ContractCase contract = ContractCase.Named(name);
        var context = new MLContext(seed: 1);
        IDataView data = ContractCase.Data(context, contract.DataTask);
        ITransformer model = contract.Estimator(context).Fit(data);
        ContractCase.Row[] rows = [.. ContractCase.Rows(contract.DataTask).Take(5)];
        rows[2].Features[1] = float.NaN;
        IDataView withNaN = ContractCase.View(context, contract.DataTask, rows);
        (ITransformer loaded, ITransformer rebound) = Contract.SaveAndLoad(context, model, data.Schema);

        Assert.ThrowsAny<Exception>(() => ColumnValues.Read(model.Transform(withNaN)));
        Assert.ThrowsAny<Exception>(() => ColumnValues.Read(loaded.Transform(withNaN)));
        Assert.ThrowsAny<Exception>(() => ColumnValues.Read(rebound.Transform(withNaN)));
    }
}
