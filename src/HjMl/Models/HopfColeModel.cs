using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Kernels;
using HjMl.Layers;

namespace HjMl.Models;

/// <summary>
/// A trained Hopf–Cole model: feature standardisation, an LSE layer on the standardised features, and how its heads
/// are read (<see cref="ModelKind"/>). Support points keep their provenance: the training row each piece started on.
/// Immutable and thread-safe; single-row scoring allocates nothing after a thread's first call.
/// </summary>
/// <remarks>
/// Scoring comes in double (<see cref="Score(ReadOnlySpan{double}, Span{double})"/>, <see cref="ScoreBatch(ReadOnlySpan{double}, Span{double})"/>)
/// and in float32 (<see cref="Score(ReadOnlySpan{float}, Span{float})"/>, <see cref="ScoreBatch(ReadOnlySpan{float}, Span{float})"/>),
/// which computes in the precision of the exported ONNX graph (float32 arithmetic, scores within 1e-5 of double; with a
/// flow within <see cref="FlowScoreTolerance"/>), about twice as fast as double (with a flow, several times).
/// </remarks>
public sealed class HopfColeModel
{
    // Per-thread buffer of the flow's double single-row path: the terminal state.
    [ThreadStatic]
    private static double[]? flowTerminal;

    // The calling thread's buffers (see AlignedBuffer.Rent), so that single-row scoring allocates nothing once warm: a
    // standardised row in double and in float, and float scoring's head scores.
    [ThreadStatic]
    private static double[]? standardisedScratch;

    [ThreadStatic]
    private static float[]? singleStandardisedScratch;

    [ThreadStatic]
    private static double[]? headScratch;

    private readonly string[] featureNames;
    private readonly double[] classLabels;
    private readonly int[] supportRows;

    // The float32 scoring path, built on first use: the layer's parameters and the scaling rounded to float.
    private SinglePrecision? singlePrecision;

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
    /// <param name="flow">The residual Gibbs flow the standardised features pass through before the layer, or null (depth 0).</param>
    /// <exception cref="ArgumentException">
    /// A part is inconsistent or out of range (the message names it): sizes that disagree; a feature name that is empty or
    /// repeated; a class label that is NaN, infinite or repeated (or any for regression); a support row below -1 or beyond
    /// any data set of d features; a scale that is not a normal double, or a mean so large that rows near it cannot be
    /// standardised; or parameters (viscosity, weights, biases, label scale, flow) that would make a row within
    /// <see cref="FiniteScoreRange"/> standardised units of the training means score beyond double.MaxValue / 16.
    /// </exception>
    public HopfColeModel(ModelKind kind, LseLayer<double> layer, FeatureScaling scaling, IReadOnlyList<string> featureNames, double[] classLabels, double labelMean, double labelScale, int[] supportRows, double time, double coverageRadius = double.NaN, GibbsFlow? flow = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(scaling);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(classLabels);
        ArgumentNullException.ThrowIfNull(supportRows);
        int features = flow?.InputDimension ?? layer.InputDimension;
        if (scaling.Dimension != features || featureNames.Count != features)
        {
            throw new ArgumentException($"The {(flow is null ? "layer" : "flow")} takes {features} features, the scaling {scaling.Dimension} and there are {featureNames.Count} names; they must agree.", nameof(scaling));
        }

        if (flow is not null && flow.Width != layer.InputDimension)
        {
            throw new ArgumentException($"The flow's terminal state has width {flow.Width} but the layer takes {layer.InputDimension} inputs; they must agree.", nameof(flow));
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

        ModelValidation.Labels(kind, featureNames, classLabels, supportRows, features);
        ModelValidation.Scaling(scaling, featureNames);
        ModelValidation.ScoreRange(kind, layer, labelMean, labelScale, flow);
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
        Flow = flow;
    }

    /// <summary>
    /// How far from the training means, in standardised units per feature, every row is guaranteed to score finitely:
    /// the constructor (and so <see cref="WithViscosity"/> and loading a model file) refuses parameters whose scores could
    /// overflow there. Trained rows lie within 20 units (a scale is at least 5% of its column's range), so this leaves a
    /// wide margin; a row beyond it may still score, and one that does not is refused by Score and ScoreBatch alike.
    /// </summary>
    public const double FiniteScoreRange = 1048576;

    /// <summary>
    /// The residual Gibbs flow (THEORY.md section 9) that carries the standardised features to the layer's inputs, or
    /// null for a single Hopf–Cole layer (depth 0). With a flow, <see cref="Layer"/> reads the terminal state z_L.
    /// </summary>
    public GibbsFlow? Flow { get; }

    /// <summary>L, the flow's Euler steps: 0 for a single Hopf–Cole layer.</summary>
    public int Depth => Flow?.Shape.Steps ?? 0;

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

    // The same rows, for the explainer's per-row loop (not exposed: the model is immutable).
    internal int[] SupportRowArray => supportRows;

    /// <summary>The class labels' own array (read without an interface call on hot paths).</summary>
    internal double[] ClassLabelArray => classLabels;

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
    public int InputDimension => Flow?.InputDimension ?? Layer.InputDimension;

    /// <summary>K for classifiers, 0 for regression.</summary>
    public int NumberOfClasses => Kind == ModelKind.Regression ? 0 : classLabels.Length;

    /// <summary>Scores per row: 1 (regression value or binary margin) or K (class scores).</summary>
    public int OutputLength => Kind == ModelKind.MulticlassClassification ? classLabels.Length : 1;

    /// <summary>The same model at another viscosity (the trained pieces rescaled to a new eps; nothing is retrained).</summary>
    /// <exception cref="ArgumentException">eps is negative, not finite, or so large that eps ln N makes scores overflow (see <see cref="FiniteScoreRange"/>).</exception>
    public HopfColeModel WithViscosity(double viscosity)
        => new(Kind, Layer.WithViscosity(viscosity), Scaling, featureNames, classLabels, LabelMean, LabelScale, supportRows, Time, CoverageRadius, Flow);

    /// <summary>The same model with a calibrated <see cref="CoverageRadius"/>.</summary>
    public HopfColeModel WithCoverageRadius(double coverageRadius)
        => new(Kind, Layer, Scaling, featureNames, classLabels, LabelMean, LabelScale, supportRows, Time, coverageRadius, Flow);

    /// <summary>
    /// Writes <see cref="OutputLength"/> scores for one row of raw features: the regression value, the binary margin
    /// f_0 - f_1, or the K class scores.
    /// </summary>
    /// <remarks>
    /// Finite features whose scores are not finite (a feature that standardises beyond double's range, or a row so far
    /// from the training data that its logits overflow; never within <see cref="FiniteScoreRange"/>) are refused with
    /// an <see cref="ArgumentException"/>, the same one <see cref="ScoreBatch(ReadOnlySpan{double}, Span{double})"/>
    /// raises for that row: a NaN or infinite score has no class or probability, and a clamped one would be a wrong
    /// answer given as a right one.
    /// </remarks>
    /// <exception cref="ArgumentException">Wrong length, a NaN/infinite feature (the message names the feature), or scores that are not finite (the message names the feature that took them there).</exception>
    public void Score(ReadOnlySpan<double> features, Span<double> scores)
    {
        if (scores.Length < OutputLength)
        {
            throw new ArgumentException($"scores has length {scores.Length} but this model writes {OutputLength}.", nameof(scores));
        }

        ScoreRow(features, scores, -1);
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

    // One row's scores; errors name the 0-based row (or none, -1), so that a batch's error path raises Score's own words.
    private void ScoreRow(ReadOnlySpan<double> features, Span<double> scores, int row)
    {
        ValidateFeatures(features, row);
        Span<double> standardised = AlignedBuffer<double>.Rent(ref standardisedScratch, InputDimension);
        Scaling.Apply(features, standardised);
        if (Flow is not null)
        {
            Span<double> terminal = ThreadBuffer(ref flowTerminal, Flow.Width);
            Flow.Transport(standardised, terminal);
            standardised = terminal;
        }

        // The kernel directly: a standardised value that overflowed shows in the scores, which are checked as the batch
        // checks them, so that a row is refused alone as in a batch.
        if (Kind == ModelKind.MulticlassClassification)
        {
            Span<double> classes = scores[..OutputLength];
            Layer.Kernel.EvaluateRow(standardised, classes, Layer.Viscosity);
            if (!ScoringFailure.AllFinite(classes))
            {
                throw ScoringFailure.Of(this, features, row);
            }

            return;
        }

        Span<double> heads = stackalloc double[2];
        Layer.Kernel.EvaluateRow(standardised, heads, Layer.Viscosity);
        double score = ReadOut(heads[0] - heads[1]);
        if (!double.IsFinite(score))
        {
            throw ScoringFailure.Of(this, features, row);
        }

        scores[0] = score;
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

    /// <summary>
    /// Scores a batch of raw rows (row-major); <paramref name="scores"/> receives <see cref="OutputLength"/> per row, the
    /// same values <see cref="Score(ReadOnlySpan{double}, Span{double})"/> gives row by row. Standardisation, logits,
    /// log-sum-exp and read-out are fused per tile of rows, tiles run in parallel, and nothing is allocated per row.
    /// </summary>
    /// <remarks>
    /// Rows are refused as <see cref="Score(ReadOnlySpan{double}, Span{double})"/> refuses them, with the same message
    /// prefixed by the row: the first row (in order) with a NaN or infinite feature or with scores that are not finite.
    /// </remarks>
    /// <exception cref="ArgumentException">Wrong lengths, a NaN/infinite feature, or scores that are not finite (the message names the row and feature); <paramref name="scores"/> is then unspecified.</exception>
    public void ScoreBatch(ReadOnlySpan<double> features, Span<double> scores)
    {
        CheckBatch(features.Length, scores.Length);
        if (Flow is not null)
        {
            ScoreThroughFlow(features, scores);
            return;
        }

        int rows = features.Length / InputDimension;
        int invalid = Layer.Kernel.EvaluateBatch(features, scores, Layer.Viscosity, BatchReadout, Scaling.Means, Scaling.Scales);
        if (invalid >= 0 || !ScoringFailure.AllFinite(scores[..(rows * OutputLength)]))
        {
            ThrowFirstUnscorable(features, scores, invalid);
        }
    }

    /// <summary>
    /// How far the float32 scores of a model with a flow may lie from its double scores, relative to max(1, |score|):
    /// the Euler steps run in float32 as well (<see cref="Score(ReadOnlySpan{float}, Span{float})"/>), and their rounding
    /// passes through every step. Tested on every row of digits, iris, breast_cancer, diabetes and mnist-10000.
    /// </summary>
    public const double FlowScoreTolerance = 5e-5;

    /// <summary>
    /// Float32 scoring of one row of raw features: writes <see cref="OutputLength"/> scores, as
    /// <see cref="Score(ReadOnlySpan{double}, Span{double})"/> does, in the float32 arithmetic of the exported ONNX graph.
    /// </summary>
    /// <remarks>
    /// Standardisation, logits and exponentials are float32 (parameters rounded to float32 once, on first use; features
    /// are standardised as (x - mean) * (1 / scale) with the reciprocal rounded once); each head's m + eps log S and the
    /// read-out (margin, label scale) are formed in double and rounded once. Against the
    /// double path the scores agree within 1e-5 relative to max(1, |score|) on standardised data (tested; typically
    /// 1e-7 to 1e-6). With a flow (<see cref="Depth"/> &gt; 0 or an embedding) the flow runs in float32 too: one
    /// product of the standardised row gives every step's key logits and the read-out's logits on z_0, and each step's
    /// Gibbs weights add their corrections through the values (the state z_k is linear in z_0 and the weights); the
    /// scores then agree with double within <see cref="FlowScoreTolerance"/>. Certificates, explanations and attacks
    /// use the double path. Allocates nothing after a thread's first call.
    /// </remarks>
    /// <exception cref="ArgumentException">Wrong length, a NaN/infinite feature, or scores that are not finite in float32 (the message names the feature), as <see cref="ScoreBatch(ReadOnlySpan{float}, Span{float})"/> refuses the row.</exception>
    /// <exception cref="NotSupportedException">A parameter lies beyond float32's range (the message names it).</exception>
    public void Score(ReadOnlySpan<float> features, Span<float> scores)
    {
        if (scores.Length < OutputLength)
        {
            throw new ArgumentException($"scores has length {scores.Length} but this model writes {OutputLength}.", nameof(scores));
        }

        ScoreRow(features, scores, -1);
    }

    // The float32 row, its errors naming the 0-based row (or none, -1).
    private void ScoreRow(ReadOnlySpan<float> features, Span<float> scores, int row)
    {
        ValidateFeatures(features, row);
        SinglePrecision single = Single;
        Span<float> standardised = AlignedBuffer<float>.Rent(ref singleStandardisedScratch, InputDimension);
        TensorPrimitives.Subtract(features, single.Means, standardised);
        TensorPrimitives.Multiply(standardised, single.InverseScales, standardised);
        Span<double> heads = AlignedBuffer<double>.Rent(ref headScratch, Layer.NumberOfHeads);
        if (single.Flow is { } flow)
        {
            flow.ScoreRow(standardised, Layer.Viscosity, heads);
        }
        else
        {
            single.Kernel.EvaluateRow(standardised, heads, Layer.Viscosity);
        }

        BatchReadout.Write(heads, Layer.NumberOfHeads, scores);
        if (!ScoringFailure.AllFinite(scores[..OutputLength]))
        {
            throw ScoringFailure.Of(this, features, row, single.Means, single.InverseScales);
        }
    }

    /// <summary>
    /// Float32 scoring of a batch of raw rows (row-major): <paramref name="scores"/> receives <see cref="OutputLength"/>
    /// per row, bit-identical to <see cref="Score(ReadOnlySpan{float}, Span{float})"/> row by row. Fused per tile of rows
    /// (standardise, logits, maximum, exponentials, sum, read-out), tiles in parallel, nothing allocated per row.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, a NaN/infinite feature, or scores that are not finite in float32 (the message names the row and feature, as <see cref="Score(ReadOnlySpan{float}, Span{float})"/> does); <paramref name="scores"/> is then unspecified.</exception>
    /// <exception cref="NotSupportedException">A parameter lies beyond float32's range (the message names it).</exception>
    public void ScoreBatch(ReadOnlySpan<float> features, Span<float> scores)
    {
        CheckBatch(features.Length, scores.Length);
        SinglePrecision single = Single;
        int count = features.Length / InputDimension;
        int invalid = single.Flow is { } flow
            ? flow.ScoreBatch(features, single.Means, single.InverseScales, Layer.Viscosity, BatchReadout, scores)
            : single.Kernel.EvaluateBatch(features, scores, Layer.Viscosity, BatchReadout, single.Means, single.InverseScales);
        if (invalid >= 0 || !ScoringFailure.AllFinite(scores[..(count * OutputLength)]))
        {
            ThrowFirstUnscorable(features, invalid);
        }
    }

    /// <summary>
    /// Refuses, with a message that names the model's depth, an operation that reads <see cref="Layer"/> as a function of
    /// the standardised features, which it is only without a flow.
    /// </summary>
    /// <exception cref="NotSupportedException">The model has a flow.</exception>
    public void RequireSingleLayer(string operation)
    {
        if (Flow is { Shape.Embedding: { } embedding })
        {
            throw new NotSupportedException($"{operation} is available for single-layer models (Depth 0, no feature embedding); this model embeds {embedding.Features.Count} numeric features before its read-out (FeatureEmbedding Automatic does for tabular data with few numeric columns and many rows). Train with FeatureEmbedding = None for a single layer.");
        }

        if (Flow is not null)
        {
            throw new NotSupportedException($"{operation} is available for single-layer models (Depth 0); this model has a flow of depth {Depth} before its read-out.");
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

    /// <summary>Checks a raw float32 row: length d and finite values (the message names the feature).</summary>
    private void ValidateFeatures(ReadOnlySpan<float> features, int row = -1)
    {
        if (features.Length != InputDimension)
        {
            throw new ArgumentException($"features has length {features.Length} but the model was trained on {InputDimension} features.", nameof(features));
        }

        if (float.IsFinite(TensorPrimitives.Sum(features) * 0))
        {
            return;
        }

        for (int k = 0; k < features.Length; k++)
        {
            if (!float.IsFinite(features[k]))
            {
                string where = row >= 0 ? $"Row {row + 1}, feature" : "Feature";
                throw new ArgumentException($"{where} '{featureNames[k]}' is {features[k]}; features must be finite (no NaN or infinity).", nameof(features));
            }
        }
    }

    /// <summary>The logistic function, written so that it never overflows.</summary>
    public static double Sigmoid(double margin)
    {
        // One exponential of -|margin| <= 0 serves both signs: 1 / (1 + e) above zero, e / (1 + e) below.
        double exponential = Math.Exp(-Math.Abs(margin));
        return (margin >= 0 ? 1 : exponential) / (1 + exponential);
    }

    private double ReadOut(double margin) => Kind == ModelKind.Regression ? LabelMean + (LabelScale * margin) : margin;

    // How head scores become outputs: the K class scores, or LabelMean + LabelScale * (f_0 - f_1) (binary: 0 and 1).
    private Readout BatchReadout => Kind switch
    {
        ModelKind.MulticlassClassification => Readout.Heads,
        ModelKind.Regression => Readout.MarginOf(LabelMean, LabelScale),
        _ => Readout.MarginOf(0, 1),
    };

    private SinglePrecision Single
    {
        get
        {
            SinglePrecision? built = Volatile.Read(ref singlePrecision);
            if (built is null)
            {
                built = new SinglePrecision(this);
                built = Interlocked.CompareExchange(ref singlePrecision, built, null) ?? built;
            }

            return built;
        }
    }

    // Batch scoring through the flow: validate every row, standardise, transport, then the read-out on z_L.
    private void ScoreThroughFlow(ReadOnlySpan<double> features, Span<double> scores)
    {
        int d = InputDimension;
        int rows = features.Length / d;
        int m = Flow!.Width;
        double[] buffer = System.Buffers.ArrayPool<double>.Shared.Rent(rows * (d + m));
        try
        {
            // Rows before the first with a NaN or infinite feature are scored, so that one of them whose scores are not
            // finite is named first, as Score would meet them in order.
            int valid = 0;
            while (valid < rows && IsFiniteRow(features.Slice(valid * d, d)))
            {
                Scaling.Apply(features.Slice(valid * d, d), buffer.AsSpan(valid * d, d));
                valid++;
            }

            Span<double> standardised = buffer.AsSpan(0, valid * d);
            Span<double> terminal = buffer.AsSpan(rows * d, valid * m);
            Flow.TransportBatch(standardised, terminal);
            // A terminal state that is not finite stops its tile unwritten, so any failure is found row by row.
            Span<double> written = scores[..(valid * OutputLength)];
            int stopped = Layer.Kernel.EvaluateBatch<double>(terminal, written, Layer.Viscosity, BatchReadout);
            if (stopped >= 0 || !ScoringFailure.AllFinite(written))
            {
                Span<double> one = stackalloc double[OutputLength];
                for (int row = 0; row < valid; row++)
                {
                    ScoreRow(features.Slice(row * d, d), one, row);
                }
            }

            if (valid < rows)
            {
                ValidateFeatures(features.Slice(valid * d, d), valid);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(buffer);
        }
    }

    private static Span<double> ThreadBuffer(ref double[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new double[length];
        }

        return buffer.AsSpan(0, length);
    }

    // The shape checks both batch overloads share.
    private void CheckBatch(int featureLength, int scoreLength)
    {
        int d = InputDimension;
        if (featureLength % d != 0)
        {
            throw new ArgumentException($"features has length {featureLength}, which is not a whole number of rows of {d}.", "features");
        }

        int rows = featureLength / d;
        if (scoreLength < rows * OutputLength)
        {
            throw new ArgumentException($"scores has length {scoreLength} but {rows} rows need {rows * OutputLength}.", "scores");
        }
    }

    // The error path of the double batch: the first row, in order, that Score would refuse. Rows before the kernel's
    // first invalid one may sit in its tile, whose scores were not written, so those are scored one at a time.
    private void ThrowFirstUnscorable(ReadOnlySpan<double> features, ReadOnlySpan<double> scores, int invalid)
    {
        int d = InputDimension;
        int end = invalid >= 0 ? invalid : features.Length / d;
        Span<double> row = stackalloc double[OutputLength];
        for (int i = 0; i < end; i++)
        {
            if (invalid >= 0 || !ScoringFailure.AllFinite(scores.Slice(i * OutputLength, OutputLength)))
            {
                // Score's own error for this row, if it has one.
                ScoreRow(features.Slice(i * d, d), row, i);
            }
        }

        if (invalid >= 0)
        {
            ValidateFeatures(features.Slice(invalid * d, d), invalid);
        }
    }

    // The same for the float32 batch: its rows are scored one at a time up to the kernel's first invalid one (or all).
    private void ThrowFirstUnscorable(ReadOnlySpan<float> features, int invalid)
    {
        int d = InputDimension;
        int end = invalid >= 0 ? invalid : features.Length / d;
        Span<float> row = stackalloc float[OutputLength];
        for (int i = 0; i < end; i++)
        {
            ScoreRow(features.Slice(i * d, d), row, i);
        }

        if (invalid >= 0)
        {
            ValidateFeatures(features.Slice(invalid * d, d), invalid);
        }
    }

    private static bool IsFiniteRow(ReadOnlySpan<double> row) => double.IsFinite(TensorPrimitives.Sum(row) * 0) || ScoringFailure.AllFinite(row);

    // The model rounded to float32 once: the packed kernel and the standardisation, as the ONNX export rounds them.
    private sealed class SinglePrecision
    {
        public SinglePrecision(HopfColeModel model)
        {
            LseLayer<double> layer = model.Layer;
            float[] weights = Rounded(layer.Weights, "weight");
            float[] biases = Rounded(layer.Biases, "bias");
            Means = Rounded(model.Scaling.Means, "feature mean");
            InverseScales = new float[Means.Length];
            for (int k = 0; k < InverseScales.Length; k++)
            {
                // The reciprocal rounded once from double: within an ulp of dividing by the float32 scale, and a
                // multiplication instead of a division per feature.
                InverseScales[k] = (float)(1 / model.Scaling.Scales[k]);
                if (!float.IsNormal(InverseScales[k]) || !float.IsNormal((float)model.Scaling.Scales[k]))
                {
                    throw new NotSupportedException($"Feature scale {k} is {model.Scaling.Scales[k]}, which is not a normal float32; score this model in double.");
                }
            }

            Kernel = new LseKernel<float>(weights, biases, layer.InputDimension, layer.NumberOfHeads, LseKernel<float>.PreferredWidth);
            Flow = model.Flow is null ? null : new SinglePrecisionFlow(model.Flow, layer.Weights, layer.Biases, layer.NumberOfHeads);
        }

        public LseKernel<float> Kernel { get; }

        // The flow's float32 transport before the read-out, or null (depth 0).
        public SinglePrecisionFlow? Flow { get; }

        public float[] Means { get; }

        public float[] InverseScales { get; }

        private static float[] Rounded(ReadOnlySpan<double> values, string what)
        {
            var rounded = new float[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                rounded[i] = (float)values[i];
                if (!float.IsFinite(rounded[i]))
                {
                    throw new NotSupportedException($"The {what} at index {i} is {values[i]}, beyond float32's range; score this model in double.");
                }
            }

            return rounded;
        }
    }
}

/// <summary>One row's prediction.</summary>
/// <param name="Score">Regression value, binary margin, or the predicted class's score.</param>
/// <param name="Probability">Binary: P(positive); multiclass: P(predicted class); NaN for regression.</param>
/// <param name="ClassIndex">The predicted class's index (binary: 1 positive, 0 negative); -1 for regression.</param>
/// <param name="PredictedLabel">The predicted label value (the regression value itself for regression).</param>
public readonly record struct Prediction(double Score, double Probability, int ClassIndex, double PredictedLabel);
