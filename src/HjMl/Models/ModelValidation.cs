using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Layers;

namespace HjMl.Models;

/// <summary>
/// The checks <see cref="HopfColeModel"/>'s constructor makes beyond shapes: names, class labels, support rows, and that
/// the parameters score every ordinary row finitely. A model file with a valid checksum passes through them too, so a
/// hostile or damaged file is refused when it is loaded, with the field named, instead of scoring NaN later.
/// </summary>
internal static class ModelValidation
{
    // Scores must stay this far below double.MaxValue (2^1020): the kernel forms differences of logits (up to twice
    // their bound), sums of N exponentials and a margin of two heads, none of which may overflow.
    private const double Headroom = 0.0625;

    /// <summary>Feature names non-empty and distinct; class labels finite and distinct (none for regression); support rows -1 or a possible training row.</summary>
    public static void Labels(ModelKind kind, IReadOnlyList<string> featureNames, double[] classLabels, int[] supportRows, int dimension)
    {
        Dataset.RequireDistinctNames(featureNames, nameof(featureNames));
        if (kind == ModelKind.Regression && classLabels.Length != 0)
        {
            throw new ArgumentException($"A regression model has no class labels, but {classLabels.Length} are given.", nameof(classLabels));
        }

        var seen = new HashSet<double>(classLabels.Length);
        for (int c = 0; c < classLabels.Length; c++)
        {
            if (!double.IsFinite(classLabels[c]) || !seen.Add(classLabels[c]))
            {
                throw new ArgumentException($"Class label {c} is {classLabels[c]}; class labels must be finite and distinct.", nameof(classLabels));
            }
        }

        // A training set holds its rows of d features in one array, so no training row is numbered Array.MaxLength / d or more.
        int rowLimit = Array.MaxLength / dimension;
        for (int j = 0; j < supportRows.Length; j++)
        {
            if (supportRows[j] < -1 || supportRows[j] >= rowLimit)
            {
                throw new ArgumentException($"Support row {j} is {supportRows[j]}; a support row is -1 or a 0-based training row below {rowLimit} (no data set of {dimension} features has more rows).", nameof(supportRows));
            }
        }
    }

    /// <summary>
    /// Scales are normal doubles and every raw row within <see cref="HopfColeModel.FiniteScoreRange"/> standardised units
    /// of the means is representable: |mean_k| + R scale_k stays below double.MaxValue / 16.
    /// </summary>
    public static void Scaling(FeatureScaling scaling, IReadOnlyList<string> featureNames)
    {
        ReadOnlySpan<double> means = scaling.Means;
        ReadOnlySpan<double> scales = scaling.Scales;
        for (int k = 0; k < means.Length; k++)
        {
            // A subnormal scale has no finite reciprocal: every row would standardise to infinity.
            if (!double.IsNormal(scales[k]) || Math.Abs(means[k]) + (HopfColeModel.FiniteScoreRange * scales[k]) > Headroom * double.MaxValue)
            {
                throw new ArgumentException($"Feature '{featureNames[k]}' has mean {means[k]} and scale {scales[k]}; a scale must be a normal double (at least 2.2E-308) and |mean| + {HopfColeModel.FiniteScoreRange:G3} scale below {Headroom * double.MaxValue:G3}, so that the rows near the training data can be standardised.", nameof(scaling));
            }
        }
    }

    /// <summary>
    /// Refuses parameters whose scores overflow on ordinary rows: every row with standardised features in
    /// [-R, R] (R = <see cref="HopfColeModel.FiniteScoreRange"/>) must score below double.MaxValue / 16.
    /// </summary>
    /// <remarks>
    /// The bound, in the read-out's inputs: |z| &lt;= Z per coordinate gives |w_j . z + b_j| &lt;= |b_j| + Z ||w_j||_1 =: L_j, a
    /// head f = m + eps log S with S in [1, N] lies within max_j L_j + eps ln N (THEORY.md section 1), a margin within
    /// twice that, and a regression output within |LabelMean| + LabelScale times the margin's bound. Without a flow Z = R;
    /// with one, z_0 = P x + q gives Z_0 = max_i (R ||P_i||_1 + |q_i|) (or R), a periodic embedding gives
    /// Z_0 = max(R, max_(f,j) |b_fj| + ||L_fj||_1) (|sin|, |cos| &lt;= 1 and ReLU keeps [0, that]; R for a passed-through
    /// feature) once its phases 2 pi |c| R are finite, and each Euler step moves the state by
    /// h sum_j pi_j u_j, a convex combination, so Z = Z_0 + T max |u| (section 9); the flow's own logits a_j . z + c_j
    /// must stay within the same limit.
    /// </remarks>
    public static void ScoreRange(ModelKind kind, LseLayer<double> layer, double labelMean, double labelScale, GibbsFlow? flow)
    {
        double limit = Headroom * double.MaxValue;
        double range = HopfColeModel.FiniteScoreRange;
        double bound = range;
        if (flow is not null)
        {
            bound = FlowStateBound(flow, range, limit);
        }

        int pieces = layer.NumberOfPieces;
        int m = layer.InputDimension;
        ReadOnlySpan<double> weights = layer.Weights;
        ReadOnlySpan<double> biases = layer.Biases;
        double logits = 0;
        int largest = 0;
        for (int j = 0; j < biases.Length; j++)
        {
            double logit = Math.Abs(biases[j]) + (bound * TensorPrimitives.SumOfMagnitudes(weights.Slice(j * m, m)));
            if (!(logit <= logits))
            {
                logits = logit;
                largest = j;
            }
        }

        double entropy = layer.Viscosity * Math.Log(pieces);
        double head = logits + entropy;
        double output = kind switch
        {
            ModelKind.MulticlassClassification => head,
            ModelKind.BinaryClassification => 2 * head,
            _ => Math.Abs(labelMean) + (labelScale * 2 * head),
        };
        if (output <= limit)
        {
            return;
        }

        string where = flow is null ? $"standardised features within {range:G3} of the training means" : $"terminal states within {bound:G3} (inputs within {range:G3} of the training means)";
        if (!(entropy <= limit / 4))
        {
            throw new ArgumentException($"The viscosity eps = {layer.Viscosity} gives eps ln N = {entropy:G3} with N = {pieces}; scores would overflow (they must stay below {limit:G3}). Use a smaller eps.", "viscosity");
        }

        if (!(logits <= limit / 4))
        {
            throw new ArgumentException($"Head {largest / pieces}, piece {largest % pieces} has bias {biases[largest]} and weights whose magnitudes sum to {TensorPrimitives.SumOfMagnitudes(weights.Slice(largest * m, m)):G3}: its logit reaches {logits:G3} at {where}, and scores would overflow (they must stay below {limit:G3}).", nameof(layer));
        }

        throw new ArgumentException($"The label mean {labelMean} and scale {labelScale} take the regression output to {output:G3} at {where}; it must stay below {limit:G3}.", nameof(labelScale));
    }

    // Z = Z_0 + T max|u|, after checking the lift and the flow's logits against the limit.
    private static double FlowStateBound(GibbsFlow flow, double range, double limit)
    {
        FlowShape shape = flow.Shape;
        int d = shape.InputDimension;
        int m = shape.Width;
        double start = range;
        if (shape.Lifted)
        {
            ReadOnlySpan<double> lift = flow.Parameters[..shape.LiftLength];
            start = 0;
            for (int i = 0; i < m; i++)
            {
                start = Math.Max(start, (range * TensorPrimitives.SumOfMagnitudes(lift.Slice(i * d, d))) + Math.Abs(lift[(m * d) + i]));
            }
        }
        else if (shape.Embedding is { } embedding)
        {
            start = EmbeddingBound(embedding, flow.Parameters[..shape.LiftLength], range, limit);
        }

        double velocity = 0;
        for (int step = 0; step < shape.ControlSets; step++)
        {
            velocity = Math.Max(velocity, Math.Abs(TensorPrimitives.MaxMagnitude(flow.Values(step))));
        }

        double bound = start + (flow.Horizon * velocity);
        for (int step = 0; step < shape.ControlSets; step++)
        {
            ReadOnlySpan<double> keys = flow.Keys(step);
            ReadOnlySpan<double> offsets = flow.Offsets(step);
            for (int j = 0; j < shape.Pieces; j++)
            {
                double logit = (bound * TensorPrimitives.SumOfMagnitudes(keys.Slice(j * m, m))) + Math.Abs(offsets[j]);
                if (!(logit <= limit))
                {
                    throw new ArgumentException($"The flow's step {step}, support point {j} has a logit reaching {logit:G3} for states within {bound:G3}; the flow's parameters would overflow (they must keep logits below {limit:G3}).", nameof(flow));
                }
            }
        }

        if (!(bound <= limit))
        {
            throw new ArgumentException($"The flow's lift and values carry inputs within {range:G3} of the training means to states of {bound:G3}, beyond {limit:G3}; its parameters would overflow.", nameof(flow));
        }

        return bound;
    }

    // Z_0 of a periodic embedding: R for a passed-through feature, |b_fj| + ||L_fj||_1 for an embedded one, after checking
    // that every phase 2 pi c x with |x| <= R is finite (a sine of an infinite phase is NaN).
    private static double EmbeddingBound(EmbeddingShape embedding, ReadOnlySpan<double> parameters, double range, double limit)
    {
        double start = embedding.PassedThrough.Count > 0 ? range : 0;
        int k = embedding.Frequencies;
        int e = embedding.Width;
        for (int slot = 0; slot < embedding.Features.Count; slot++)
        {
            int feature = embedding.Features[slot];
            double phase = 2 * Math.PI * range * Math.Abs(TensorPrimitives.MaxMagnitude(parameters.Slice(embedding.FrequenciesOffset(slot), k)));
            if (!(phase <= limit))
            {
                throw new ArgumentException($"The embedding of feature {feature} has a frequency whose phase 2 pi c x reaches {phase:G3} for inputs within {range:G3} of the training means; the embedding's parameters would overflow (phases must stay below {limit:G3}).", "flow");
            }

            ReadOnlySpan<double> weights = parameters.Slice(embedding.WeightsOffset(slot), 2 * k * e);
            ReadOnlySpan<double> biases = parameters.Slice(embedding.BiasOffset(slot), e);
            for (int j = 0; j < e; j++)
            {
                start = Math.Max(start, Math.Abs(biases[j]) + TensorPrimitives.SumOfMagnitudes(weights.Slice(j * 2 * k, 2 * k)));
            }
        }

        if (!(start <= limit))
        {
            throw new ArgumentException($"The embedding's weights and biases carry inputs to states of {start:G3}, beyond {limit:G3}; its parameters would overflow.", "flow");
        }

        return start;
    }
}
