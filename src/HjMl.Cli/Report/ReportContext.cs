using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;

namespace HjMl.Cli.Report;

/// <summary>
/// What every section reads: the inputs, and each row scored, explained, certified and placed against the support
/// once, with the engine's own calls (the same a user's code or the other verbs make).
/// </summary>
internal sealed class ReportContext
{
    public ReportContext(ReportInputs inputs, CancellationToken cancellation)
    {
        Inputs = inputs;
        Model = inputs.Model;
        Data = inputs.Data;
        int rows = Data.Rows, d = Model.InputDimension;
        Scores = new double[rows * Model.OutputLength];
        Model.ScoreBatch(Data.Features, Scores);
        Predictions = new Prediction[rows];
        Probabilities = new double[Model.Kind == ModelKind.MulticlassClassification ? rows * Model.NumberOfClasses : 0];
        Entropies = new double[rows];
        Radii = new double[rows];
        Coverage = new SupportCoverage[rows];
        Importance = new double[d];
        Tolerance = 0.1 * Model.LabelScale;
        Explainer = new ModelExplainer(Model);
        var explanation = new Explanation(Model, top: 1);
        for (int row = 0; row < rows; row++)
        {
            cancellation.ThrowIfCancellationRequested();
            ReadOnlySpan<double> features = Data.Row(row);
            Span<double> probabilities = Probabilities.Length > 0 ? Probabilities.AsSpan(row * Model.NumberOfClasses, Model.NumberOfClasses) : default;
            Predictions[row] = Model.Interpret(Scores.AsSpan(row * Model.OutputLength, Model.OutputLength), probabilities);
            Explainer.Explain(features, explanation);
            Entropies[row] = explanation.Entropy;
            double[] contributions = InputContributions(explanation).Contributions;
            for (int k = 0; k < d; k++)
            {
                Importance[k] += Math.Abs(contributions[k]) / rows;
            }

            Radii[row] = Model.Kind == ModelKind.Regression ? Explainer.StabilityRadius(features, Tolerance).Radius : Explainer.Certify(features).Radius;
            Coverage[row] = Explainer.Coverage(features);
        }
    }

    public ReportInputs Inputs { get; }

    /// <summary>The 1-based number, in the data file, of the data's row <paramref name="row"/> (0-based): the page's name for it.</summary>
    public int RowNumber(int row) => (Inputs.SourceRows is { } source ? source[row] : row) + 1;

    public HopfColeModel Model { get; }

    public Dataset Data { get; }

    public ModelExplainer Explainer { get; }

    /// <summary>Scores per row, <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s convention.</summary>
    public double[] Scores { get; }

    public Prediction[] Predictions { get; }

    /// <summary>Multiclass: class probabilities per row; empty otherwise.</summary>
    public double[] Probabilities { get; }

    /// <summary>H(pi) of the predicted head per row, nats.</summary>
    public double[] Entropies { get; }

    /// <summary>Certified (classifiers) or stability (regression) radius per row, standardised units.</summary>
    public double[] Radii { get; }

    public SupportCoverage[] Coverage { get; }

    /// <summary>Mean |contribution| per input feature.</summary>
    public double[] Importance { get; }

    /// <summary>Regression: the output change the stability radius certifies against (a tenth of the label scale, as <c>hjml certify</c>).</summary>
    public double Tolerance { get; }

    /// <summary>What the explained value is: the margin (binary), the predicted class's score (multiclass), the prediction (regression).</summary>
    public string ExplainedValue => Model.Kind switch
    {
        ModelKind.BinaryClassification => "margin (score of the positive class minus the negative)",
        ModelKind.MulticlassClassification => "predicted class's score",
        _ => "prediction (label units)",
    };

    /// <summary>
    /// The decomposition the report shows for a row, over the input features: the margin (binary, regression) or the
    /// predicted class's score (multiclass), as <c>hjml explain</c> shows it; with a flow, its integrated-gradient split.
    /// </summary>
    public (double[] Contributions, double Value) InputContributions(Explanation explanation)
    {
        bool multiclass = Model.Kind == ModelKind.MulticlassClassification;
        InputDecomposition? input = multiclass ? explanation.InputClass : explanation.InputMargin;
        if (input is not null)
        {
            return (input.FeatureContributions, input.Value);
        }

        Decomposition parts = multiclass ? explanation.Class : explanation.Margin;
        return (parts.FeatureContributions, parts.Value);
    }

    /// <summary>The side of a square image when the features are its pixels (digits 8 x 8, MNIST 28 x 28), else 0.</summary>
    public int ImageSide
    {
        get
        {
            int d = Model.InputDimension;
            int side = (int)Math.Round(Math.Sqrt(d));
            bool pixels = Model.FeatureNames.All(name => name.StartsWith("pixel", StringComparison.OrdinalIgnoreCase));
            return side * side == d && side >= 4 && (pixels || side >= 8) ? side : 0;
        }
    }
}
