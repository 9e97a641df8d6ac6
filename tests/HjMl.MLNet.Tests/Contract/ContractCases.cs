using HjMl.MLNet.Ensembles;
using HjMl.MLNet.Featurization;
using HjMl.MLNet.Tests.Support;
using HjMl.MLNet.Trainers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>
/// Every estimator HjMl.MLNet offers, each with the in-memory rows it is fitted on: the rows are the repository's data
/// sets read into plain objects, so a test can check that fitting and transforming leave them as they were.
/// </summary>
public sealed class ContractCase
{
    private static readonly ContractCase[] All =
    [
        new("HopfCole regression, depth 0", Task.Regression, context => context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10 })),
        new("HopfCole regression, depth 2", Task.Regression, context => context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10, Depth = 2, FlowWidth = 12, FlowSupportPoints = 4 })),
        new("HopfCole binary, depth 0", Task.Binary, context => context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10 })),
        new("HopfCole binary, depth 2", Task.Binary, context => context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10, Depth = 2, FlowSupportPoints = 4, SharedFlowControls = true })),
        new("HopfCole multiclass, depth 0", Task.Multiclass, context => context.MulticlassClassification.Trainers.HopfCole(new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 3, MaximumEpochs = 10 })),
        new("HopfCole multiclass, depth 2", Task.Multiclass, context => context.MulticlassClassification.Trainers.HopfCole(new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 3, MaximumEpochs = 10, Depth = 2, FlowWidth = 6, FlowSupportPoints = 4 })),
        new("HopfColeFeaturizer, Gibbs weights", Task.Regression, context => context.Transforms.HopfColeFeaturizer("Soft", "Features", numberOfSupportPoints: 6)),
        new("HopfColeFeaturizer, log-sum-exp features", Task.Regression, context => context.Transforms.HopfColeFeaturizer("Soft", "Features", numberOfSupportPoints: 6, output: HopfColeFeatures.LogSumExp)),
        new("GibbsAttribution after HopfCole in one chain", Task.Binary, context => context.BinaryClassification.Trainers.HopfCole(new HopfColeBinaryTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10 })
            .Append(context.Transforms.GibbsAttribution(topSupportPoints: 3))),
        new("GibbsAttribution of a fitted HopfCole model", Task.Multiclass, context =>
        {
            HjMl.MLNet.Prediction.HopfColePredictionTransformer model = context.MulticlassClassification.Trainers.HopfCole(new HopfColeMulticlassTrainer.Options { NumberOfSupportPoints = 3, MaximumEpochs = 10 }).Fit(Data(context, Task.Multiclass));
            return context.Transforms.GibbsAttribution(model, topSupportPoints: 2);
        }),
        new("CalculateFeatureContribution of a HopfCole model", Task.Regression, context =>
        {
            HjMl.MLNet.Prediction.HopfColePredictionTransformer model = context.Regression.Trainers.HopfCole(new HopfColeRegressionTrainer.Options { NumberOfSupportPoints = 4, MaximumEpochs = 10 }).Fit(Data(context, Task.Regression));
            return context.Transforms.CalculateFeatureContribution(model, normalize: false);
        }),
        new("ViscosityEnsemble regression", Task.Regression, context => context.Regression.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = [context.Regression.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10), context.Transforms.NormalizeMeanVariance("Features").Append(context.Regression.Trainers.Sdca())],
            NumberOfFolds = 3,
        })),
        new("ViscosityEnsemble binary", Task.Binary, context => context.BinaryClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = [context.BinaryClassification.Trainers.HopfCole(numberOfSupportPoints: 4, maximumEpochs: 10), context.Transforms.NormalizeMinMax("Features").Append(context.BinaryClassification.Trainers.LbfgsLogisticRegression())],
            NumberOfFolds = 3,
        })),
        new("ViscosityEnsemble multiclass", Task.Multiclass, context => context.MulticlassClassification.Trainers.ViscosityEnsemble(new ViscosityEnsembleEstimator.Options
        {
            Estimators = [context.MulticlassClassification.Trainers.HopfCole(numberOfSupportPoints: 3, maximumEpochs: 10), context.Transforms.NormalizeMinMax("Features").Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy())],
            NumberOfFolds = 3,
        })),
    ];

    private ContractCase(string name, Task task, Func<MLContext, IEstimator<ITransformer>> estimator)
    {
        Name = name;
        DataTask = task;
        Estimator = estimator;
    }

    /// <summary>The tasks whose data sets the cases use.</summary>
    public enum Task
    {
        /// <summary>diabetes.csv, a Single label.</summary>
        Regression,

        /// <summary>breast_cancer.csv, a Boolean label.</summary>
        Binary,

        /// <summary>iris.csv, a key label of the 3 species numbers.</summary>
        Multiclass,
    }

    /// <summary>Every case's name, for [MemberData].</summary>
    public static TheoryData<string> Names => [.. All.Select(contract => contract.Name)];

    /// <summary>The case's name.</summary>
    public string Name { get; }

    /// <summary>Which data set the case reads.</summary>
    public Task DataTask { get; }

    /// <summary>The estimator, built on the given context.</summary>
    public Func<MLContext, IEstimator<ITransformer>> Estimator { get; }

    /// <summary>The case named <paramref name="name"/>.</summary>
    public static ContractCase Named(string name) => All.Single(contract => contract.Name == name);

    /// <summary>The case's data set as fresh row objects.</summary>
    public static Row[] Rows(Task task)
    {
        (string file, Func<string, object> label) = task switch
        {
            Task.Regression => ("diabetes.csv", (Func<string, object>)(text => float.Parse(text, System.Globalization.CultureInfo.InvariantCulture))),
            Task.Binary => ("breast_cancer.csv", text => text.Trim() == "1"),
            _ => ("iris.csv", text => float.Parse(text, System.Globalization.CultureInfo.InvariantCulture)),
        };
        return [.. File.ReadLines(Path.Combine(MLNetData.RepositoryRoot, "data", file)).Skip(1).Select(line =>
        {
            string[] fields = line.Split(',');
            return new Row
            {
                Features = [.. fields[..^1].Select(field => float.Parse(field, System.Globalization.CultureInfo.InvariantCulture))],
                Label = label(fields[^1]),
            };
        })];
    }

    /// <summary>A view over <paramref name="rows"/> typed for <paramref name="task"/>: Features [d] of Single and Label.</summary>
    public static IDataView View(MLContext context, Task task, IReadOnlyList<Row> rows)
    {
        int size = rows[0].Features.Length;
        switch (task)
        {
            case Task.Regression:
                return context.Data.LoadFromEnumerable(rows.Select(row => new RegressionRow { Features = row.Features, Label = (float)row.Label }), Definition<RegressionRow>(size));
            case Task.Binary:
                return context.Data.LoadFromEnumerable(rows.Select(row => new BinaryRow { Features = row.Features, Label = (bool)row.Label }), Definition<BinaryRow>(size));
            default:
                // The species numbers become a key, with the numbers as its values, as MLNetData.Iris does.
                IDataView species = context.Data.LoadFromEnumerable(rows.Select(row => new RegressionRow { Features = row.Features, Label = (float)row.Label }), Definition<RegressionRow>(size));
                return context.Transforms.Conversion.MapValueToKey("Label").Fit(species).Transform(species);
        }
    }

    /// <summary>The case's data set as a view over fresh rows.</summary>
    public static IDataView Data(MLContext context, Task task) => View(context, task, Rows(task));

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static SchemaDefinition Definition<T>(int size)
    {
        SchemaDefinition definition = SchemaDefinition.Create(typeof(T));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        return definition;
    }

    /// <summary>One row of any task: the label is a float (a species number for multiclass) or a bool.</summary>
    public sealed class Row
    {
        /// <summary>The features; the views read these arrays themselves, not copies.</summary>
        public float[] Features { get; set; } = [];

        /// <summary>The label.</summary>
        public object Label { get; set; } = 0f;
    }

    /// <summary>A regression row.</summary>
    public sealed class RegressionRow
    {
        /// <summary>The features.</summary>
        public float[] Features { get; set; } = [];

        /// <summary>The label.</summary>
        public float Label { get; set; }
    }

    /// <summary>A binary row.</summary>
    public sealed class BinaryRow
    {
        /// <summary>The features.</summary>
        public float[] Features { get; set; } = [];

        /// <summary>The label.</summary>
        public bool Label { get; set; }
    }
}
