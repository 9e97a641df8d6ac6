using System.Buffers;
using System.Numerics.Tensors;
using HjMl.Layers;
using HjMl.Numerics;

namespace HjMl.Models;

/// <summary>
/// A trained Hopf–Cole model: feature standardisation, an LSE layer on the standardised features, and how its heads
/// are read (<see cref="ModelKind"/>). Support points keep their provenance: the training row each piece started on.
/// Immutable and thread-safe; single-row scoring allocates nothing after a thread's first call.
/// </summary>
public sealed class HopfColeModel
{
    private readonly string[] featureNames;
    private readonly double[] classLabels;
    private readonly int[] supportRows;

    /// <summary>Assembles a model; trainers and the model file reader call this.</summary>
    /// <param name="kind">What the model predicts.</param>
    /// <param name="layer">The LSE layer on standardised features: 2 heads for regression and binary, K for multiclass.</param>
    /// <param name="scaling">The standardisation of the raw features.</param>
    /// <param name="featureNames">One name per feature.</param>
    /// <param name="classLabels">The label value of each class (binary: negative then positive); empty for regression.</param>
    /// <param name="labelMean">Regression only: the training labels' mean.</param>
    /// <param name="labelScale">Regression only: the training labels' standard deviation (&gt; 0).</param>
    /// <param name="supportRows">Per piece (head-major), the training row it started on, or -1.</param>
    /// <param name="time">t of the Hopf–Cole reading (support points y = 2 t w).</param>
    /// <param name="coverageRadius">
    /// The distance (standardised units) from a support point within which 99% of training rows fall, or NaN when not
    /// calibrated; see <see cref="CoverageRadius"/>.
    /// </param>
    public HopfColeModel(ModelKind kind, LseLayer<double> layer, FeatureScaling scaling, IReadOnlyList<string> featureNames, double[] classLabels, double labelMean, double labelScale, int[] supportRows, double time, double coverageRadius = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(scaling);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(classLabels);
        ArgumentNullException.ThrowIfNull(supportRows);
        if (scaling.Dimension != layer.InputDimension || featureNames.Count != layer.InputDimension)
        {
            throw new ArgumentException($"The layer takes {layer.InputDimension} features, the scaling {scaling.Dimension} and there are {featureNames.Count} names; they must agree.", nameof(scaling));
        }

        int expectedHeads = kind == ModelKind.MulticlassClassification ? classLabels.Length : 2;
        if (layer.NumberOfHeads != expectedHeads || (kind == ModelKind.MulticlassClassification && classLabels.Length < 2))
        {
            throw new ArgumentException($"A {kind} model needs {expectedHeads} heads (at least 2) but the layer has {layer.NumberOfHeads}.", nameof(layer));
        }

        if (kind == ModelKind.BinaryClassification && classLabels.Length != 2)
        {
            throw new ArgumentException($"A binary model needs 2 class labels, not {classLabels.Length}.", nameof(classLabels));
        }

        if (supportRows.Length != layer.Biases.Length)
        {
            throw new ArgumentException($"supportRows has {supportRows.Length} entries; it needs one per piece ({layer.Biases.Length}).", nameof(supportRows));
        }

        if (kind == ModelKind.Regression && (!(labelScale > 0) || !double.IsFinite(labelScale) || !double.IsFinite(labelMean)))
        {
            throw new ArgumentException($"labelScale is {labelScale} and labelMean {labelMean}; a regression model needs a finite mean and a finite scale > 0.", nameof(labelScale));
        }

        if (!(time > 0) || !double.IsFinite(time))
        {
            throw new ArgumentException($"time is {time}; t must be finite and > 0.", nameof(time));
        }

        Kind = kind;
        Layer = layer;
        Scaling = scaling;
        this.featureNames = [.. featureNames];
        this.classLabels = classLabels;
        this.supportRows = supportRows;
        LabelMean = kind == ModelKind.Regression ? labelMean : 0;
        LabelScale = kind == ModelKind.Regression ? labelScale : 1;
        if (!double.IsNaN(coverageRadius) && !(coverageRadius >= 0 && double.IsFinite(coverageRadius)))
        {
            throw new ArgumentException($"coverageRadius is {coverageRadius}; it must be finite and >= 0, or NaN when not calibrated.", nameof(coverageRadius));
        }

        Time = time;
        CoverageRadius = coverageRadius;
    }

    /// <summary>What the model predicts.</summary>
    public ModelKind Kind { get; }

    /// <summary>The LSE layer on standardised features.</summary>
    public LseLayer<double> Layer { get; }

    /// <summary>The feature standardisation.</summary>
    public FeatureScaling Scaling { get; }

    /// <summary>Feature names.</summary>
    public IReadOnlyList<string> FeatureNames => featureNames;

    /// <summary>Class label values (binary: negative, positive); empty for regression.</summary>
    public IReadOnlyList<double> ClassLabels => classLabels;

    /// <summary>Regression: the label mean the output is shifted by.</summary>
    public double LabelMean { get; }

    /// <summary>Regression: the label scale the margin is multiplied by.</summary>
    public double LabelScale { get; }

    /// <summary>Per piece (head-major), the 0-based training row it was placed on, or -1.</summary>
    public IReadOnlyList<int> SupportRows => supportRows;

    /// <summary>t of the Hopf–Cole reading.</summary>
    public double Time { get; }

    /// <summary>eps.</summary>
    public double Viscosity => Layer.Viscosity;

    /// <summary>
    /// The 99th percentile, over the training rows, of the distance from a row to its nearest support point
    /// y_j = 2t w_j (standardised units), or NaN when the model was not calibrated. The authors' criterion
    /// (THEORY.md section 6) calls a row in support within the diffusion radius sqrt(2 eps t); trained support points
    /// move, so HjMl flags a row only beyond both that radius and this calibrated one.
    /// </summary>
    public double CoverageRadius { get; }

    /// <summary>d, features per row.</summary>
    public int InputDimension => Layer.InputDimension;

    /// <summary>K for classifiers, 0 for regression.</summary>
    public int NumberOfClasses => Kind == ModelKind.Regression ? 0 : classLabels.Length;

    /// <summary>Scores per row: 1 (regression value or binary margin) or K (class scores).</summary>
    public int OutputLength => Kind == ModelKind.MulticlassClassification ? classLabels.Length : 1;

    /// <summary>The same model at another viscosity (the trained pieces rescaled to a new eps; nothing is retrained).</summary>
    public HopfColeModel WithViscosity(double viscosity)
        => new(Kind, Layer.WithViscosity(viscosity), Scaling, featureNames, classLabels, LabelMean, LabelScale, supportRows, Time, CoverageRadius);

    /// <summary>The same model with a calibrated <see cref="CoverageRadius"/>.</summary>
    public HopfColeModel WithCoverageRadius(double coverageRadius)
        => new(Kind, Layer, Scaling, featureNames, classLabels, LabelMean, LabelScale, supportRows, Time, coverageRadius);

    /// <summary>
    /// Writes <see cref="OutputLength"/> scores for one row of raw features: the regression value, the binary margin
    /// f_0 - f_1, or the K class scores.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length or a NaN/infinite feature (the message names the feature).</exception>
    public void Score(ReadOnlySpan<double> features, Span<double> scores)
    {
        ValidateFeatures(features);
        if (scores.Length < OutputLength)
        {
            throw new ArgumentException($"scores has length {scores.Length} but this model writes {OutputLength}.", nameof(scores));
        }

        Span<double> standardised = ScratchBuffer<double>.Input(InputDimension);
        Scaling.Apply(features, standardised);
        if (Kind == ModelKind.MulticlassClassification)
        {
            Layer.Evaluate(standardised, scores);
            return;
        }

        Span<double> heads = stackalloc double[2];
        Layer.Evaluate(standardised, heads);
        scores[0] = ReadOut(heads[0] - heads[1]);
    }

    /// <summary>The single score of a regression or binary model (see <see cref="Score(ReadOnlySpan{double}, Span{double})"/>).</summary>
    public double Score(ReadOnlySpan<double> features)
    {
        if (Kind == ModelKind.MulticlassClassification)
        {
            throw new InvalidOperationException("A multiclass model has one score per class; call Score(features, scores) with a span of NumberOfClasses.");
        }

        Span<double> one = stackalloc double[1];
        Score(features, one);
        return one[0];
    }

    /// <summary>
    /// Predicts one row: the score, the probability of the predicted class (binary: of the positive class), the class
    /// index and label. For multiclass, <paramref name="probabilities"/> (if not empty) receives all K probabilities.
    /// </summary>
    public Prediction Predict(ReadOnlySpan<double> features, Span<double> probabilities = default)
    {
        Span<double> scores = stackalloc double[OutputLength];
        Score(features, scores);
        return Interpret(scores, probabilities);
    }

    /// <summary>Scores a batch of raw rows (row-major); <paramref name="scores"/> receives <see cref="OutputLength"/> per row.</summary>
    public void ScoreBatch(ReadOnlySpan<double> features, Span<double> scores)
    {
        int d = InputDimension;
        if (features.Length % d != 0)
        {
            throw new ArgumentException($"features has length {features.Length}, which is not a whole number of rows of {d}.", nameof(features));
        }

        int rows = features.Length / d;
        if (scores.Length < rows * OutputLength)
        {
            throw new ArgumentException($"scores has length {scores.Length} but {rows} rows need {rows * OutputLength}.", nameof(scores));
        }

        int heads = Layer.NumberOfHeads;
        double[] standardised = ArrayPool<double>.Shared.Rent(rows * d);
        double[] headScores = ArrayPool<double>.Shared.Rent(rows * heads);
        try
        {
            for (int row = 0; row < rows; row++)
            {
                ReadOnlySpan<double> raw = features.Slice(row * d, d);
                ValidateFeatures(raw, row);
                Scaling.Apply(raw, standardised.AsSpan(row * d, d));
            }

            Layer.EvaluateBatch(standardised.AsSpan(0, rows * d), headScores.AsSpan(0, rows * heads));
            if (Kind == ModelKind.MulticlassClassification)
            {
                headScores.AsSpan(0, rows * heads).CopyTo(scores);
                return;
            }

            for (int row = 0; row < rows; row++)
            {
                scores[row] = ReadOut(headScores[row * 2] - headScores[(row * 2) + 1]);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(standardised);
            ArrayPool<double>.Shared.Return(headScores);
        }
    }

    /// <summary>Turns <see cref="OutputLength"/> scores into a prediction (see <see cref="Predict"/>).</summary>
    public Prediction Interpret(ReadOnlySpan<double> scores, Span<double> probabilities = default)
        => ScoreInterpretation.Interpret(Kind, classLabels, scores, probabilities);

    /// <summary>The class index of a label value, or -1.</summary>
    public int ClassIndexOf(double label) => Array.IndexOf(classLabels, label);

    /// <summary>Checks a raw row: length d and finite values (the message names the feature).</summary>
    public void ValidateFeatures(ReadOnlySpan<double> features, int row = -1)
    {
        if (features.Length != InputDimension)
        {
            throw new ArgumentException($"features has length {features.Length} but the model was trained on {InputDimension} features.", nameof(features));
        }

        if (double.IsFinite(TensorPrimitives.Sum(features) * 0))
        {
            return;
        }

        for (int k = 0; k < features.Length; k++)
        {
            if (!double.IsFinite(features[k]))
            {
                string where = row >= 0 ? $"Row {row + 1}, feature" : "Feature";
                throw new ArgumentException($"{where} '{featureNames[k]}' is {features[k]}; features must be finite (no NaN or infinity).", nameof(features));
            }
        }
    }

    /// <summary>The logistic function, written so that it never overflows.</summary>
    public static double Sigmoid(double margin) => margin >= 0 ? 1 / (1 + Math.Exp(-margin)) : Math.Exp(margin) / (1 + Math.Exp(margin));

    private double ReadOut(double margin) => Kind == ModelKind.Regression ? LabelMean + (LabelScale * margin) : margin;
}

/// <summary>One row's prediction.</summary>
/// <param name="Score">Regression value, binary margin, or the predicted class's score.</param>
/// <param name="Probability">Binary: P(positive); multiclass: P(predicted class); NaN for regression.</param>
/// <param name="ClassIndex">The predicted class's index (binary: 1 positive, 0 negative); -1 for regression.</param>
/// <param name="PredictedLabel">The predicted label value (the regression value itself for regression).</param>
public readonly record struct Prediction(double Score, double Probability, int ClassIndex, double PredictedLabel);
