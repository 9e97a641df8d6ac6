using Microsoft.ML;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>The estimator contract (<see cref="Contract"/>) for every estimator: two fits on contexts of one seed give the same values, bit for bit.</summary>
public class DeterminismContractTests
{
    public static TheoryData<string> Cases => ContractCase.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void FitIsDeterministicForASeed(string name)
    {
        ContractCase contract = ContractCase.Named(name);
        Dictionary<string, object[]> Fitted()
        {
            var context = new MLContext(seed: 1);
            IDataView data = ContractCase.Data(context, contract.DataTask);
            return ColumnValues.Read(contract.Estimator(context).Fit(data).Transform(data));
        }

        ColumnValues.AssertSame(Fitted(), Fitted(), tolerance: 0, "a second fit");
    }
}
