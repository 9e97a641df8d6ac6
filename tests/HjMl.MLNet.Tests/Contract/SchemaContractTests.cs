using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>The estimator contract (<see cref="Contract"/>) for every estimator: the schema an estimator promises (GetOutputSchema) is the one its transformer delivers, vector sizes included.</summary>
public class SchemaContractTests
{
    public static TheoryData<string> Cases => ContractCase.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void PromisedOutputSchemaIsTheTransformedSchema(string name)
    {
        ContractCase contract = ContractCase.Named(name);
        var context = new MLContext(seed: 1);
        IDataView data = ContractCase.Data(context, contract.DataTask);
        IEstimator<ITransformer> estimator = contract.Estimator(context);

        SchemaShape promised = estimator.GetOutputSchema(ColumnValues.Shape(data.Schema));
        ITransformer model = estimator.Fit(data);
        IDataView transformed = model.Transform(data);

        // ML.NET's check: the same columns, each delivered compatible with its promise (kind, item type, key, annotations).
        SchemaShape delivered = ColumnValues.Shape(transformed.Schema);
        Assert.Equal(promised.Select(column => column.Name).Order(), delivered.Select(column => column.Name).Order());
        foreach (SchemaShape.Column column in delivered)
        {
            SchemaShape.Column promise = promised.Single(other => other.Name == column.Name);
            Assert.True(ColumnValues.Compatible(column, promise), $"{column.Name}: delivered {ColumnValues.Describe(column)}, promised {ColumnValues.Describe(promise)}.");
        }

        // The fitted transformer's schema, vector sizes included, is what Transform gives.
        Assert.Equal(ColumnValues.Describe(transformed.Schema), ColumnValues.Describe(model.GetOutputSchema(data.Schema)));
    }
}
