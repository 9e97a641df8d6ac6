using System.Numerics.Tensors;
using HjMl.Kernels;
using HjMl.Layers;
using HjMl.LinearAlgebra;
using HjMl.Models;

namespace HjMl.Attribution;

/// <summary>
/// Explains a <see cref="HopfColeModel"/>'s predictions row by row (THEORY.md sections 3–6): the exact decomposition
/// of the predicted class's score and of the margin into feature contributions, bias and entropy terms; the support
/// points that carry the row with their Gibbs weights, provenance and label sensitivity; the attribution entropy; the
/// certified radius; and support coverage. Immutable and thread-safe; <see cref="Explain"/> allocates nothing when
/// the caller reuses an <see cref="Explanation"/>, and <see cref="Certify"/> and <see cref="Coverage"/> allocate nothing.
/// A model with a flow is explained at its read-out, on the terminal state z_L, and through the flow (section 9): see
/// <see cref="Explanation.InputMargin"/> and <see cref="Certificate.LipschitzBound"/>.
/// </summary>
public sealed partial class ModelExplainer
{
    private readonly LseLayer<double> layer;
    private readonly double[] weightSquaredNorms;
    private readonly double[] curvatures;
    private readonly double minimumScale;
    private readonly RoundingAllowance rounding;

    // Two-head models whose E_pi[w] comes from the scoring sweep itself (LseKernel.ExplainRowWithExpectations), whether
    // their certificates take it too (not where the Gram form serves), and the bound on how far its online sums can move
    // ||E_0 - E_1|| beyond the rounding RoundingAllowance covers (derived in the constructor).
    private readonly bool fused;
    private readonly bool fusedCertificates;
    private readonly double fusedAllowance;

    // The calling thread's buffers for Certify, StabilityRadius and Coverage (see AlignedBuffer.Rent): the standardised
    // row, and every head's Gibbs weights or logits.
    [ThreadStatic]
    private static double[]? standardisedScratch;

    [ThreadStatic]
    private static double[]? weightScratch;

    [ThreadStatic]
    private static double[]? expectationScratch;

    /// <summary>Prepares an explainer for <paramref name="model"/> (precomputes weight norms and each head's curvature bound).</summary>
    public ModelExplainer(HopfColeModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        layer = model.Layer;
        weightSquaredNorms = SupportGeometry.WeightSquaredNorms(layer);

        // Each head's D^2 / (4 eps) now, so that no certificate pays for a diameter or a division: a margin's K is the
        // larger of its two heads' (infinite at eps = 0).
        curvatures = new double[layer.NumberOfHeads];
        for (int head = 0; head < layer.NumberOfHeads; head++)
        {
            double diameter = layer.WeightDiameter(head);
            curvatures[head] = layer.Viscosity == 0 ? double.PositiveInfinity : diameter * diameter / (4 * layer.Viscosity);
        }

        fused = model.Flow is null && layer.NumberOfHeads == 2 && layer.ExpectationFromPanel;
        if (fused)
        {
            // [derived] Each rescale of a head's online sums multiplies a mass of at most N terms of at most 1 (S >= 1 at the
            // end) by e^(-x), computed within u'(x + 5) relative, so it moves E_pi[w] by at most 5 u' N W in norm; with R
            // chunks (rescales) and the final division, ||E_0 - E_1|| moves by at most u'(5 N R + 8)(W_0 + W_1) beyond the
            // allowance's own terms, which the gradient norm is raised by.
            int pieces = layer.NumberOfPieces;
            double widths = Math.Sqrt(TensorPrimitives.Max(weightSquaredNorms.AsSpan(0, pieces))) + Math.Sqrt(TensorPrimitives.Max(weightSquaredNorms.AsSpan(pieces, pieces)));
            fusedAllowance = RoundingAllowance.Unit * ((5.0 * pieces * layer.Kernel.ExpectationChunks) + 8) * widths;

            // Where the Gram form serves, a certificate's gradient norm costs O(N^2) instead of a sweep over the weights.
            fusedCertificates = !layer.Expectation.GramServes(2);
        }

        minimumScale = TensorPrimitives.Min(model.Scaling.Scales);
        rounding = new RoundingAllowance(model, weightSquaredNorms);
        flow = model.Flow;
        if (flow is not null)
        {
            lipschitzBound = flow.LipschitzBound();
            baselineScores = BaselineScores(model);
        }
    }

    /// <summary>The model explained.</summary>
    public HopfColeModel Model { get; }

    /// <summary>
    /// Explains one row of raw features into <paramref name="explanation"/> (which must belong to this model). With a
    /// flow the row is validated, standardised and transported to z_L; the read-out is explained there, and
    /// <see cref="Explanation.InputClass"/> and <see cref="Explanation.InputMargin"/> split the same values over the
    /// input features.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length or a NaN/infinite feature, or an explanation made for another model.</exception>
    public void Explain(ReadOnlySpan<double> features, Explanation explanation)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        if (!ReferenceEquals(explanation.Model, Model))
        {
            throw new ArgumentException("explanation was created for another model; create one with new Explanation(model, top).", nameof(explanation));
        }

        Span<double> scores = explanation.HeadScores;
        Span<double> entropies = explanation.Entropies;
        bool multiclass = Model.Kind == ModelKind.MulticlassClassification;
        ReadOnlySpan<double> z = explanation.Standardised;
        Span<double> first = explanation.FirstExpectation;
        Span<double> second = explanation.SecondExpectation;
        if (fused)
        {
            PrepareFused(features, explanation.Standardised, explanation.Weights, scores, entropies, first, second);
        }
        else if (flow is null)
        {
            Prepare(features, explanation.Standardised, explanation.Weights, scores, entropies);
        }
        else
        {
            PrepareThroughFlow(features, explanation.Path!.Input, explanation.Standardised, explanation.Weights, scores, entropies);
        }

        // Each decomposition reads E_pi[w] and E_pi[b] of two heads: binary and regression heads 0 and 1 whatever the
        // prediction (so they are taken before it is read, and nothing waits on it), multiclass the predicted class and
        // its runner-up.
        double biasFirst = 0, biasSecond = 0;
        if (fused)
        {
            (biasFirst, biasSecond) = Biases(explanation, 0, 1);
        }
        else if (!multiclass)
        {
            Expectations(explanation, 0, 1, first, second, out biasFirst, out biasSecond);
        }

        // The prediction, read out as the model reads it (HopfColeModel.Interpret, from the scores Score writes), and the
        // heads the two decompositions read: the predicted class and its rival, or the margin's two heads.
        int classHead, otherHead;
        double[] labels = Model.ClassLabelArray;
        Prediction prediction;
        switch (Model.Kind)
        {
            case ModelKind.MulticlassClassification:
                (classHead, otherHead) = BestTwo(scores);
                prediction = ScoreInterpretation.Multiclass(scores, classHead, labels[classHead], slack: true);
                explanation.RunnerUp = otherHead;
                Expectations(explanation, classHead, otherHead, first, second, out biasFirst, out biasSecond);
                break;
            case ModelKind.BinaryClassification:
                prediction = ScoreInterpretation.Binary(scores[0] - scores[1], labels[0], labels[1]);
                classHead = prediction.ClassIndex == 1 ? 0 : 1;
                otherHead = 1 - classHead;
                break;
            default:
                prediction = ScoreInterpretation.Regression(Model.LabelMean + (Model.LabelScale * (scores[0] - scores[1])));
                classHead = 0;
                otherHead = 1;
                break;
        }

        explanation.Prediction = prediction;

        // f = z . E_pi[w] + E_pi[b] + eps H(pi) (THEORY.md section 4), for the class head and, term by term, for the
        // margin f_a - f_b of the first and second heads above (binary: positive minus negative head).
        bool classFirst = multiclass || classHead == 0;
        int positive = multiclass ? classHead : 0;
        int negative = multiclass ? otherHead : 1;
        double entropyClass = entropies[classHead];
        double eps = layer.Viscosity;
        explanation.Entropy = entropyClass;
        double scale = Model.Kind == ModelKind.Regression ? Model.LabelScale : 1;
        Decomposition single = explanation.Class;
        Decomposition margin = explanation.Margin;
        ExplanationProducts.Contributions(z, classFirst ? first : second, first, second, scale, single.FeatureContributions, margin.FeatureContributions);

        single.Value = scores[classHead];
        single.BiasTerm = classFirst ? biasFirst : biasSecond;
        single.EntropyTerm = eps * entropyClass;
        single.Baseline = 0;
        margin.BiasTerm = scale * (biasFirst - biasSecond);
        margin.EntropyTerm = scale * eps * (entropies[positive] - entropies[negative]);
        margin.Baseline = Model.Kind == ModelKind.Regression ? Model.LabelMean : 0;
        margin.Value = Model.Kind == ModelKind.Regression ? prediction.Score : scores[positive] - scores[negative];
        if (Model.Kind == ModelKind.Regression)
        {
            // Regression has one explained value: its class decomposition is the prediction's.
            margin.FeatureContributions.AsSpan().CopyTo(single.FeatureContributions);
            single.Value = margin.Value;
            single.BiasTerm = margin.BiasTerm;
            single.EntropyTerm = margin.EntropyTerm;
            single.Baseline = margin.Baseline;
        }

        SelectTop(explanation, classHead, scale);
        if (flow is not null)
        {
            ExplainInputs(explanation, classHead, positive, negative, scale);
        }
    }

    // E_pi[w] of heads a and b into their buffers, and their E_pi[b].
    private void Expectations(Explanation explanation, int a, int b, Span<double> expectedA, Span<double> expectedB, out double biasA, out double biasB)
    {
        int pieces = layer.NumberOfPieces;
        ReadOnlySpan<double> piA = explanation.Weights.Slice(a * pieces, pieces);
        ReadOnlySpan<double> piB = explanation.Weights.Slice(b * pieces, pieces);
        layer.ExpectedWeights(a, piA, expectedA, b, piB, expectedB);
        (biasA, biasB) = Biases(explanation, a, b);
    }

    // E_pi[b] of heads a and b.
    private (double First, double Second) Biases(Explanation explanation, int a, int b)
    {
        int pieces = layer.NumberOfPieces;
        return ExplanationProducts.Dots(explanation.Weights.Slice(a * pieces, pieces), layer.HeadBiases(a), explanation.Weights.Slice(b * pieces, pieces), layer.HeadBiases(b));
    }

    /// <summary>
    /// The certified radius of a classifier's prediction (THEORY.md section 5): with K = max(D_a^2, D_b^2) / (4 eps) bounding
    /// the margin's Hessian, r* = (sqrt(||grad m||^2 + 2 K m) - ||grad m||) / K, minimised over the other classes. With a
    /// flow, r* is the read-out's radius at z_L divided by the flow's Lipschitz bound (section 9).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is a regressor: it has no margin to certify; use <see cref="StabilityRadius"/>.</exception>
    public Certificate Certify(ReadOnlySpan<double> features)
    {
        if (Model.Kind == ModelKind.Regression)
        {
            throw new InvalidOperationException("A regression model has no class margin to certify; use StabilityRadius(features, tolerance) for the radius within which the output moves by less than a tolerance.");
        }

        int heads = layer.NumberOfHeads;
        int pieces = layer.NumberOfPieces;
        Span<double> scores = stackalloc double[heads];
        Span<double> squaredNorms = stackalloc double[heads];
        int predicted;
        double inputNorm;
        if (fusedCertificates)
        {
            double squared = FusedSquaredNorm(features, scores, out inputNorm);
            predicted = TensorPrimitives.IndexOfMax<double>(scores);
            squaredNorms[predicted] = 0;
            squaredNorms[1 - predicted] = squared;
        }
        else
        {
            // ||grad m_c|| = ||E_pi_pred[w] - E_pi_c[w]|| for every rival class c, in one kernel call.
            Span<double> pi = PrepareScratch(features, scores, out inputNorm);
            predicted = TensorPrimitives.IndexOfMax<double>(scores);
            layer.SquaredDistances(predicted, pi[..(heads * pieces)], squaredNorms);
        }

        var best = new Certificate(double.PositiveInfinity, double.PositiveInfinity, 0, 0, 0, -1, double.NaN, double.PositiveInfinity, 1);
        for (int other = 0; other < heads; other++)
        {
            if (other == predicted)
            {
                continue;
            }

            double gradientNorm = Math.Sqrt(squaredNorms[other]) + (fusedCertificates ? fusedAllowance : 0);
            double curvature = Curvature(predicted, other);
            double margin = scores[predicted] - scores[other];

            // Section 5's radius after the rounding allowances (RoundingAllowance): 0 at a rounding-level margin.
            double radius = rounding.Radius(predicted, other, scores[predicted], scores[other], gradientNorm, curvature, margin, inputNorm);
            if (radius < best.Radius)
            {
                int binding = Model.Kind == ModelKind.BinaryClassification ? (other == 0 ? 1 : 0) : other;
                best = new Certificate(radius, radius * minimumScale, margin, gradientNorm, curvature, binding, double.NaN, radius, 1);
            }
        }

        return flow is null ? best : ThroughFlow(best, features);
    }

    /// <summary>
    /// For a regressor, the radius within which the prediction moves by less than <paramref name="tolerance"/> (label
    /// units): |m(x + delta) - m(x)| &lt;= ||grad m|| r + K r^2 / 2 with K as in <see cref="Certify"/> [derived from THEORY.md section 5].
    /// With a flow, the read-out's radius at z_L divided by the flow's Lipschitz bound (section 9).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is a classifier; use <see cref="Certify"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="tolerance"/> is not finite and &gt; 0.</exception>
    public Certificate StabilityRadius(ReadOnlySpan<double> features, double tolerance)
    {
        if (Model.Kind != ModelKind.Regression)
        {
            throw new InvalidOperationException($"A {Model.Kind} model certifies its predicted class with Certify(features); StabilityRadius is for regression.");
        }

        if (!(tolerance > 0) || !double.IsFinite(tolerance))
        {
            throw new ArgumentException($"tolerance is {tolerance}; the output change to certify against must be finite and > 0.", nameof(tolerance));
        }

        int pieces = layer.NumberOfPieces;
        Span<double> scores = stackalloc double[2];
        double inputNorm;
        Span<double> squaredNorms = stackalloc double[2];
        if (fusedCertificates)
        {
            squaredNorms[1] = FusedSquaredNorm(features, scores, out inputNorm);
        }
        else
        {
            // ||grad m|| = ||E_pi_0[w] - E_pi_1[w]||, through the kernel certificates use.
            Span<double> pi = PrepareScratch(features, scores, out inputNorm);
            layer.SquaredDistances(0, pi[..(2 * pieces)], squaredNorms);
        }

        double gradientNorm = Math.Sqrt(squaredNorms[1]) + (fusedCertificates ? fusedAllowance : 0);
        double curvature = Curvature(0, 1);
        double margin = tolerance / Model.LabelScale;

        // Both outputs are computed: the read-out LabelMean + LabelScale (f_0 - f_1) adds a rounding of each at both ends.
        double output = Math.Abs(Model.LabelMean) + (Model.LabelScale * Math.Abs(scores[0] - scores[1]));
        double radius = rounding.Radius(0, 1, scores[0], scores[1], gradientNorm, curvature, margin - (4 * RoundingAllowance.Unit * output / Model.LabelScale), inputNorm);
        var certificate = new Certificate(radius, radius * minimumScale, margin, gradientNorm, curvature, -1, tolerance, radius, 1);
        return flow is null ? certificate : ThroughFlow(certificate, features);
    }

    /// <summary>
    /// Support coverage of a row (THEORY.md section 6): the distance to the nearest support point against the diffusion
    /// radius sqrt(2 eps t) and the model's calibrated coverage radius, the top-two logit gap of the predicted class's head,
    /// and the extrapolation bound eps log(1 + (N - 1) exp(-gap / eps)). With a flow, at z_L: the read-out's support points
    /// and the coverage radius the trainer measured on the training rows' z_L live there.
    /// </summary>
    public SupportCoverage Coverage(ReadOnlySpan<double> features)
    {
        int heads = layer.NumberOfHeads;
        int pieces = layer.NumberOfPieces;
        int d = layer.InputDimension;
        Span<double> scores = stackalloc double[heads];
        Span<double> z = AlignedBuffer<double>.Rent(ref standardisedScratch, d);
        Span<double> logits = AlignedBuffer<double>.Rent(ref weightScratch, heads * pieces);
        Model.ValidateFeatures(features);
        if (flow is null)
        {
            Model.Scaling.Apply(features, z);
        }
        else
        {
            // With a flow the read-out's support points and the trained coverage radius live at z_L.
            StandardiseAndTransport(features, z);
        }

        layer.Kernel.EvaluateRow(z, scores, layer.Viscosity, logits);
        (double distance, int nearest) = NearestSupport(z, logits);
        int head = PredictedHead(scores);
        return CoverageFrom(logits.Slice(head * pieces, pieces), distance, nearest);
    }

    private (double Distance, int Piece) NearestSupport(ReadOnlySpan<double> z, ReadOnlySpan<double> logits)
        => SupportGeometry.NearestSupport(layer, Model.Time, z, logits, weightSquaredNorms);

    private SupportCoverage CoverageFrom(ReadOnlySpan<double> headLogits, double distance, int nearest)
    {
        double eps = layer.Viscosity;
        int pieces = layer.NumberOfPieces;
        double diffusion = Math.Sqrt(2 * eps * Model.Time);
        double coverage = Model.CoverageRadius;
        double reference = double.IsNaN(coverage) ? diffusion : Math.Max(diffusion, coverage);
        double score = reference > 0 ? distance / reference : (distance > 0 ? double.PositiveInfinity : 0);

        // The top-two gap and eps log(1 + (N - 1) e^(-gap/eps)) [derived, THEORY.md section 6].
        double first = double.NegativeInfinity, second = double.NegativeInfinity;
        foreach (double logit in headLogits)
        {
            if (logit > first)
            {
                second = first;
                first = logit;
            }
            else if (logit > second)
            {
                second = logit;
            }
        }

        double gap = pieces == 1 ? double.PositiveInfinity : first - second;
        double bound = pieces == 1 || eps == 0 ? 0 : eps * Math.Log(1 + ((pieces - 1) * Math.Exp(-gap / eps)));
        int head = nearest / pieces;
        return new SupportCoverage(distance, head, nearest % pieces, Model.SupportRows[nearest], diffusion, coverage, score, gap, bound, score > 1);
    }

    // Prepare into the calling thread's scratch buffers (Certify and StabilityRadius allocate nothing); returns the
    // Gibbs weights of every head, and the norm of the read-out's input (the standardised row, or z_L).
    private Span<double> PrepareScratch(ReadOnlySpan<double> features, Span<double> scores, out double inputNorm)
    {
        Span<double> standardised = AlignedBuffer<double>.Rent(ref standardisedScratch, layer.InputDimension);
        Span<double> pi = AlignedBuffer<double>.Rent(ref weightScratch, layer.Kernel.GibbsWeightsLength);
        Span<double> entropies = stackalloc double[scores.Length];
        if (flow is null)
        {
            Prepare(features, standardised, pi, scores, entropies);
        }
        else
        {
            PrepareThroughFlow(features, standardised, pi, scores, entropies);
        }

        inputNorm = TensorPrimitives.Norm<double>(standardised);
        return pi;
    }

    // Validates and standardises the row; every head's score, Gibbs weights (a buffer of Kernel.GibbsWeightsLength) and entropy.
    private void Prepare(ReadOnlySpan<double> features, Span<double> standardised, Span<double> pi, Span<double> scores, Span<double> entropies)
    {
        Model.ValidateFeatures(features);
        Model.Scaling.Apply(features, standardised);

        // The scores come from the kernel that scores the model, so that an explanation's prediction is the model's to
        // the last bit; the Gibbs weights and entropies from the same exponentials.
        layer.Kernel.ExplainRow(standardised, scores, layer.Viscosity, pi, entropies);
    }

    // Prepare for a fused model, with both heads' E_pi[w] from the scoring sweep itself.
    private void PrepareFused(ReadOnlySpan<double> features, Span<double> standardised, Span<double> pi, Span<double> scores, Span<double> entropies, Span<double> first, Span<double> second)
    {
        Model.ValidateFeatures(features);
        Model.Scaling.Apply(features, standardised);
        layer.Kernel.ExplainRowWithExpectations(standardised, scores, layer.Viscosity, pi, entropies, 0, first, 1, second);
    }

    // A fused model's scores, ||E_0 - E_1||^2 and the standardised row's norm, in the calling thread's scratch buffers.
    private double FusedSquaredNorm(ReadOnlySpan<double> features, Span<double> scores, out double inputNorm)
    {
        int d = layer.InputDimension;
        int padded = ExpectationKernel<double>.PaddedLength(d);
        Span<double> standardised = AlignedBuffer<double>.Rent(ref standardisedScratch, d);
        Span<double> pi = AlignedBuffer<double>.Rent(ref weightScratch, layer.Kernel.GibbsWeightsLength);
        Span<double> expected = AlignedBuffer<double>.Rent(ref expectationScratch, 2 * padded);
        Span<double> entropies = stackalloc double[2];
        PrepareFused(features, standardised, pi, scores, entropies, expected[..d], expected.Slice(padded, d));
        inputNorm = TensorPrimitives.Norm<double>(standardised);
        TensorPrimitives.Subtract(expected[..d], expected.Slice(padded, d), expected[..d]);
        return TensorPrimitives.Dot<double>(expected[..d], expected[..d]);
    }

    private int PredictedHead(ReadOnlySpan<double> scores)
        => Model.Kind == ModelKind.MulticlassClassification ? TensorPrimitives.IndexOfMax(scores) : (scores[0] >= scores[1] ? 0 : 1);

    // The largest score's head (the first on ties, as TensorPrimitives.IndexOfMax and so Interpret choose) and the
    // largest of the others (the first on ties), in one pass: a head that takes the lead hands it to the runner-up.
    internal static (int Best, int RunnerUp) BestTwo(ReadOnlySpan<double> scores)
    {
        int best = 0;
        int runner = -1;
        double runnerScore = double.NegativeInfinity;
        for (int head = 1; head < scores.Length; head++)
        {
            double score = scores[head];
            if (score > scores[best])
            {
                runner = best;
                runnerScore = scores[best];
                best = head;
            }
            else if (score > runnerScore || runner < 0)
            {
                runner = head;
                runnerScore = score;
            }
        }

        return (best, runner);
    }

    // K = max(D_a^2, D_b^2) / (4 eps) (THEORY.md section 5); infinite at eps = 0.
    private double Curvature(int first, int second) => Math.Max(curvatures[first], curvatures[second]);

    // The top pieces by |influence|: the predicted class's head for classifiers, both heads (signed) for regression;
    // records are built only for the winners.
    private void SelectTop(Explanation explanation, int classHead, double scale)
    {
        int pieces = layer.NumberOfPieces;
        SupportAttribution[] top = explanation.TopSupport;
        int[] indices = explanation.TopPieces;
        double[] magnitudes = explanation.TopWeights;
        bool regression = Model.Kind == ModelKind.Regression;
        int first = regression ? 0 : classHead * pieces;
        int end = regression ? 2 * pieces : first + pieces;
        ReadOnlySpan<double> weights = explanation.Weights;

        // Whole vectors may be read past a head's end: the explanation's buffer continues past the weights.
        int filled = TopList.Select(weights, first, end, magnitudes, indices);

        int[] supportRows = Model.SupportRowArray;
        for (int i = 0; i < filled; i++)
        {
            int chosen = indices[i];
            int head = regression ? (chosen < pieces ? 0 : 1) : classHead;
            double sign = regression && head == 1 ? -1 : 1;
            double influence = sign * scale * weights[chosen];
            top[i] = new SupportAttribution(head, chosen - (head * pieces), weights[chosen], influence, -influence, supportRows[chosen]);
        }
    }
}
