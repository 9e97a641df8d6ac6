using Microsoft.ML;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>The estimator contract (<see cref="Contract"/>) for every estimator: fitting, transforming and saving leave the input rows as they were.</summary>
public class MutationContractTests
{
    public static TheoryData<string> Cases => ContractCase.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void InputRowsAreNotMutated(string name)
    {
        ContractCase contract = ContractCase.Named(name);
        var context = new MLContext(seed: 1);
        ContractCase.Row[] rows = ContractCase.Rows(contract.DataTask);
        float[][] features = [.. rows.Select(row => row.Features.ToArray())];
        object[] labels = [.. rows.Select(row => row.Label)];
        IDataView data = ContractCase.View(context, contract.DataTask, rows);

        ITransformer model = contract.Estimator(context).Fit(data);
        ColumnValues.Read(model.Transform(data));
        (ITransformer loaded, _) = Contract.SaveAndLoad(context, model, data.Schema);
        ColumnValues.Read(loaded.Transform(data));

        Assert.Equal(features, rows.Select(row => row.Features));
        Assert.Equal(labels, rows.Select(row => row.Label));
    }
}
