using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using HjMl.Flows;
using HjMl.Models;
using HjMl.Onnx.Protocol;
using HjMl.Persistence;
using static HjMl.Onnx.OnnxGraphBuilder;
using DataType = HjMl.Onnx.Protocol.TensorProto.Types.DataType;

namespace HjMl.Onnx;

/// <summary>
/// Exports a <see cref="HopfColeModel"/> of any kind as an ONNX model (IR version 8, default-domain opset 17) that
/// computes in float32 what the model computes in double.
/// </summary>
/// <remarks>
/// <para><b>Input.</b> <c>Features</c>: float32 [N, d], raw (unstandardised) features in the model's feature order;
/// N is a symbolic, dynamic batch dimension.</para>
/// <para><b>Outputs</b> (ML.NET's column names):</para>
/// <list type="table">
/// <listheader><term>kind</term><description>outputs</description></listheader>
/// <item><term>regression</term><description><c>Score</c> float32 [N]: LabelMean + LabelScale * (f_0 - f_1).</description></item>
/// <item><term>binary</term><description><c>Score</c> float32 [N]: the margin f_0 - f_1; <c>Probability</c> float32 [N]:
/// sigmoid(Score), P(positive class); <c>PredictedLabel</c> bool [N]: Score &gt; 0, true meaning the positive class
/// (<see cref="HopfColeModel.ClassLabels"/>[1]).</description></item>
/// <item><term>multiclass</term><description><c>Score</c> float32 [N, K]: class probabilities softmax(f_1..f_K), as ML.NET's
/// multiclass Score column; <c>ClassScores</c> float32 [N, K]: the raw LSE head values f_k (what
/// <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/> writes); <c>PredictedLabel</c> float32 [N]: the
/// predicted class's label value (<see cref="HopfColeModel.ClassLabels"/>, e.g. 7 for the digit 7, not a 1-based key);
/// <c>PredictedClassIndex</c> int64 [N]: its 0-based index. Ties go to the lowest index, as in HjMl.</description></item>
/// </list>
/// <para><b>Explanations.</b> With <see cref="OnnxExportOptions.IncludeExplanations"/> the graph also outputs Gibbs weights,
/// top support points, attribution entropy, feature contributions, bias terms, the nearest support point, the
/// out-of-support score and the certified radius (THEORY.md sections 3–6; the table is on that option).</para>
/// <para><b>Graph.</b> Standardise (Sub, Div), all logits at once (MatMul, Add, Reshape to [N, K, pieces]), then each head's
/// max-shifted log-sum-exp f = m + eps * log sum_j exp((z_j - m) / eps) with m = max_j z_j (ReduceMax, Sub, Div, Exp,
/// ReduceSum, Log, Mul, Add; THEORY.md section 1). The exponentials lie in (0, 1] and their sum in [1, pieces], so no
/// exponential of an unshifted logit is ever taken. eps = 0 is exported as ReduceMax alone (the tropical limit).
/// Multiclass probabilities use the same max shift. Metadata (metadata_props): hjml.version, hjml.kind,
/// hjml.viscosity, hjml.time, hjml.pieces_per_head, hjml.depth (0 without a flow), for a flow hjml.flow_width,
/// hjml.flow_support_points, hjml.flow_horizon, hjml.flow_viscosity, hjml.flow_lifted and hjml.flow_shared_controls,
/// for an embedded flow hjml.embedding ("periodic"), hjml.embedding_features (JSON array of the embedded features'
/// names), hjml.embedding_frequencies and hjml.embedding_width, then hjml.feature_names and hjml.class_labels (JSON
/// arrays), hjml.label_mean, hjml.label_scale.</para>
/// <para><b>Flows.</b> A model with a residual Gibbs flow (<see cref="HopfColeModel.Flow"/>, THEORY.md section 9) exports
/// the flow between the standardisation and the logits: z_0 = x P^T + q when lifted (MatMul, Add), or the periodic
/// embedding of the numeric features when the flow starts with one (Gather, Cast, Sub, Div, Mul, Sin, Cos, Concat, Cast,
/// a batched MatMul, Add, Relu, Reshape, Concat with the passed-through features; its steps may then be none), then
/// per step logits = z (A / eps)^T + c / eps (MatMul, Add), Softmax over the step's support points, z += pi (h U)
/// (MatMul, Add); the LSE heads read z_L (their weight matrix has m rows). With explanation outputs the read-out's are
/// taken at z_L, and <c>InputContributions</c> and <c>BaselineScores</c> split each head's score over the input features
/// by integrated gradients through the flow (the table is on <see cref="OnnxExportOptions.IncludeExplanations"/>).</para>
/// <para><b>Precision.</b> Parameters are rounded to float32. The outputs agree with the double model evaluated on the
/// same float32 inputs to about 1e-6 relative to max(1, |value|) on standardised data (tests check 1e-5 in ONNX Runtime,
/// flows and periodic embeddings included). A periodic embedding's phases 2 pi c x are the one part computed in double
/// (standardised, multiplied, Sin and Cos, then Cast to float32): in float32 their error grows with |c x|.</para>
/// <para><b>Unsupported</b> (a <see cref="NotSupportedException"/> that names the value): a parameter that is not a finite
/// float32 (a weight, bias, mean, label mean or scale beyond ±3.4e38; a flow's keys and offsets over eps or values times
/// h), a feature scale that is not a normal float32, an eps &gt; 0 that rounds to 0 in float32, class labels that collide
/// or overflow in float32, explanation outputs through a flow whose read-out has eps = 0 (its gradient jumps along the
/// integration path), and models whose weights exceed the 2 GiB protobuf limit
/// (HjMl writes no external data).</para>
/// </remarks>
public static partial class OnnxExport
{
    /// <summary>The default-domain operator set the graph targets.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (8 is the version that introduced opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>The input: float32 [N, d] raw features.</summary>
    public const string FeaturesName = "Features";

    /// <summary>Regression value, binary margin, or multiclass probabilities.</summary>
    public const string ScoreName = "Score";

    /// <summary>Binary: sigmoid of the margin.</summary>
    public const string ProbabilityName = "Probability";

    /// <summary>Binary: bool (true = positive class); multiclass: float32 class label value.</summary>
    public const string PredictedLabelName = "PredictedLabel";

    /// <summary>Multiclass: the raw LSE head values f_k, float32 [N, K].</summary>
    public const string ClassScoresName = "ClassScores";

    /// <summary>Multiclass: the predicted 0-based class index, int64 [N].</summary>
    public const string PredictedClassIndexName = "PredictedClassIndex";

    /// <summary>The symbolic batch dimension.</summary>
    public const string BatchDimension = "N";

    // Protobuf messages cannot exceed 2 GiB; leave room for everything besides the weights.
    private const long MaximumWeightBytes = int.MaxValue - (64L << 20);

    /// <summary>Writes the ONNX model for <paramref name="model"/> to <paramref name="path"/> atomically (temporary file, flush, move).</summary>
    /// <param name="model">The model to export.</param>
    /// <param name="path">The destination; its directory must exist.</param>
    /// <param name="options">What to export besides the predictions (explanation outputs); null for the predictions only.</param>
    /// <exception cref="NotSupportedException">The model cannot be expressed in the exported graph; the message names why.</exception>
    public static void Save(HopfColeModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(model, options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes the ONNX model for <paramref name="model"/> to <paramref name="stream"/>.</summary>
    /// <param name="model">The model to export.</param>
    /// <param name="stream">The destination stream.</param>
    /// <param name="options">What to export besides the predictions (explanation outputs); null for the predictions only.</param>
    /// <exception cref="NotSupportedException">The model cannot be expressed in the exported graph; the message names why.</exception>
    public static void Save(HopfColeModel model, Stream stream, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(model, options));
    }

    /// <summary>The serialised ONNX model (ModelProto) for <paramref name="model"/>.</summary>
    /// <param name="model">The model to export.</param>
    /// <param name="options">What to export besides the predictions (explanation outputs); null for the predictions only.</param>
    /// <exception cref="NotSupportedException">The model cannot be expressed in the exported graph; the message names why.</exception>
    public static byte[] ToBytes(HopfColeModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Build(model, options).ToByteArray();
    }

    internal static ModelProto Build(HopfColeModel model, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        int topSupportPoints = options.TopSupportPointsFor(model.Layer.NumberOfPieces);
        int d = model.InputDimension;
        int width = model.Layer.InputDimension;
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        long flowParameters = model.Flow is { } flow ? flow.Shape.ParameterCount : 0;
        long weightBytes = (((long)heads * pieces * width) + flowParameters) * sizeof(float);
        if (weightBytes > MaximumWeightBytes)
        {
            string flowPart = flowParameters > 0 ? $" and {flowParameters} flow parameters" : string.Empty;
            throw new NotSupportedException($"The model's weights take {weightBytes} bytes as float32 ({heads} heads x {pieces} pieces x {width} inputs{flowPart}); ONNX protobuf files are limited to 2 GiB and HjMl does not write ONNX external data.");
        }

        string embedded = model.Flow?.Shape.Embedding is { } start ? $", {start.Features.Count} of them periodically embedded" : string.Empty;
        string reads = model.Flow is not null
            ? $"the terminal state (width {width}) of a residual Gibbs flow of depth {model.Depth} on {d} standardised features{embedded}"
            : $"{d} standardised features";
        var graph = new OnnxGraphBuilder("hjml_" + KindName(model.Kind), $"HjMl Hopf–Cole {KindName(model.Kind)} model: {heads} LSE heads of {pieces} pieces on {reads}, eps = {Text(model.Viscosity)}.");
        graph.Input(FeaturesName, DataType.Float, $"Raw features, float32 [N, {d}], in the order of hjml.feature_names.", BatchDimension, d);

        LseGraph lse = HeadScores(graph, model, options.IncludeExplanations);
        string headScores = lse.HeadScores;
        switch (model.Kind)
        {
            case ModelKind.Regression:
                Regression(graph, model, headScores);
                break;
            case ModelKind.BinaryClassification:
                Binary(graph, headScores);
                break;
            default:
                Multiclass(graph, model, headScores);
                break;
        }

        if (options.IncludeExplanations)
        {
            Explanations(graph, model, lse, topSupportPoints);
        }

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "HjMl",
            ProducerVersion = ModelFile.LibraryVersion,
            Domain = "org.hjml",
            ModelVersion = 1,
            DocString = "Hopf–Cole (log-sum-exp) model exported by HjMl; see hjml.* metadata.",
            Graph = graph.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        foreach ((string key, string value) in Metadata(model, options.IncludeExplanations))
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return proto;
    }

    /// <summary>The metadata_props the exporter writes, in order.</summary>
    internal static IEnumerable<(string Key, string Value)> Metadata(HopfColeModel model, bool explanations = false)
    {
        yield return ("hjml.version", ModelFile.LibraryVersion);
        yield return ("hjml.kind", KindName(model.Kind));
        yield return ("hjml.viscosity", Text(model.Viscosity));
        yield return ("hjml.time", Text(model.Time));
        yield return ("hjml.pieces_per_head", model.Layer.NumberOfPieces.ToString(CultureInfo.InvariantCulture));
        yield return ("hjml.depth", model.Depth.ToString(CultureInfo.InvariantCulture));
        if (model.Flow is { } flow)
        {
            yield return ("hjml.flow_width", flow.Width.ToString(CultureInfo.InvariantCulture));
            yield return ("hjml.flow_support_points", flow.Shape.Pieces.ToString(CultureInfo.InvariantCulture));
            yield return ("hjml.flow_horizon", Text(flow.Horizon));
            yield return ("hjml.flow_viscosity", Text(flow.Viscosity));
            yield return ("hjml.flow_lifted", flow.Shape.Lifted ? "true" : "false");
            yield return ("hjml.flow_shared_controls", flow.Shape.SharedControls ? "true" : "false");
            if (flow.Shape.Embedding is { } embedding)
            {
                yield return ("hjml.embedding", "periodic");
                yield return ("hjml.embedding_features", JsonSerializer.Serialize(embedding.Features.Select(feature => model.FeatureNames[feature])));
                yield return ("hjml.embedding_frequencies", embedding.Frequencies.ToString(CultureInfo.InvariantCulture));
                yield return ("hjml.embedding_width", embedding.Width.ToString(CultureInfo.InvariantCulture));
            }
        }

        yield return ("hjml.feature_names", JsonSerializer.Serialize(model.FeatureNames));
        yield return ("hjml.class_labels", "[" + string.Join(",", model.ClassLabels.Select(Text)) + "]");
        yield return ("hjml.label_mean", Text(model.LabelMean));
        yield return ("hjml.label_scale", Text(model.LabelScale));
        yield return ("hjml.explanations", explanations ? "true" : "false");
    }

    // Standardisation, the flow (if any), logits and every head's LSE: float32 [N, K]; the explanation outputs reuse
    // the intermediates.
    private static LseGraph HeadScores(OnnxGraphBuilder graph, HopfColeModel model, bool keepIntermediates)
    {
        int d = model.InputDimension;
        int width = model.Layer.InputDimension;
        int heads = model.Layer.NumberOfHeads;
        int pieces = model.Layer.NumberOfPieces;
        int all = heads * pieces;
        var means = new float[d];
        var scales = new float[d];
        for (int k = 0; k < d; k++)
        {
            string feature = $"feature '{model.FeatureNames[k]}'";
            means[k] = Single(model.Scaling.Means[k], $"the standardisation mean of {feature}");
            scales[k] = Single(model.Scaling.Scales[k], $"the standardisation scale of {feature}");
            if (!float.IsNormal(scales[k]))
            {
                throw new NotSupportedException($"The standardisation scale of {feature} is {Text(model.Scaling.Scales[k])}, which is not a normal float32 (smallest 1.18e-38); the exported graph divides by it in float32.");
            }
        }

        // MatMul wants [m, K*pieces]: column (k*pieces + j) holds w_kj, so logits come out head-major like LseLayer's.
        ReadOnlySpan<double> weights = model.Layer.Weights;
        var transposed = new float[width * all];
        for (int piece = 0; piece < all; piece++)
        {
            for (int k = 0; k < width; k++)
            {
                string input = model.Flow is null ? $"feature '{model.FeatureNames[k]}'" : $"terminal coordinate {k}";
                transposed[(k * all) + piece] = Single(weights[(piece * width) + k], $"the weight of {PieceName(piece, pieces)} on {input}");
            }
        }

        var biases = new float[all];
        for (int piece = 0; piece < all; piece++)
        {
            biases[piece] = Single(model.Layer.Biases[piece], $"the bias of {PieceName(piece, pieces)}");
        }

        string centred = graph.Node("Sub", "centred_features", [FeaturesName, graph.Floats("feature_means", means, d)]);
        string standardised = graph.Node("Div", "standardised_features", [centred, graph.Floats("feature_scales", scales, d)]);
        if (model.Flow is { } flow)
        {
            standardised = FlowGraph(graph, flow, model, standardised);
        }

        string products = graph.Node("MatMul", "weight_products", [standardised, graph.Floats("weights", transposed, width, all)]);
        string flatLogits = graph.Node("Add", "logits_flat", [products, graph.Floats("biases", biases, all)]);

        // Shape [0, K, pieces]: 0 copies the batch size (allowzero = 0), so an empty batch reshapes too.
        string logits = graph.Node("Reshape", "logits", [flatLogits, graph.Int64s("logits_shape", [0, heads, pieces], 3)]);
        if (model.Viscosity == 0)
        {
            // The tropical limit f_k = max_j z_kj (THEORY.md section 2).
            string maximumOnly = keepIntermediates
                ? graph.Node("ReduceMax", "logit_maximum", [logits], Integers("axes", 2), Integer("keepdims", 1))
                : string.Empty;
            string tropical = graph.Node("ReduceMax", "head_scores", [logits], Integers("axes", 2), Integer("keepdims", 0));
            return new LseGraph(standardised, products, logits, maximumOnly, string.Empty, string.Empty, string.Empty, string.Empty, tropical);
        }

        float viscosity = Single(model.Viscosity, "the viscosity eps");
        if (viscosity == 0)
        {
            throw new NotSupportedException($"The viscosity eps = {Text(model.Viscosity)} rounds to 0 in float32, so the graph cannot divide by it; export model.WithViscosity(0) (the max it already equals in float32) instead.");
        }

        string eps = graph.Floats("viscosity", [viscosity]);
        string maximum = graph.Node("ReduceMax", "logit_maximum", [logits], Integers("axes", 2), Integer("keepdims", 1));
        string shifted = graph.Node("Sub", "shifted_logits", [logits, maximum]);
        string scaled = graph.Node("Div", "scaled_logits", [shifted, eps]);
        string exponentials = graph.Node("Exp", "exponentials", [scaled]);
        string sum = graph.Node("ReduceSum", "exponential_sum", [exponentials, graph.Int64s("piece_axis", [2], 1)], Integer("keepdims", 1));
        string logSum = graph.Node("Log", "log_sum", [sum]);
        string smoothing = graph.Node("Mul", "smoothing", [logSum, eps]);
        string scores = graph.Node("Add", "head_scores_column", [maximum, smoothing]);
        string headScores = graph.Node("Reshape", "head_scores", [scores, graph.Int64s("head_scores_shape", [0, heads], 2)]);
        return new LseGraph(standardised, products, logits, maximum, scaled, exponentials, sum, logSum, headScores);
    }

    /// <summary>
    /// The residual Gibbs flow on the standardised features (THEORY.md section 9), as <c>FlowPass.Forward</c> computes
    /// it: z_0 = x P^T + q when lifted (MatMul, Add), then per step logits = z (A / eps)^T + c / eps (MatMul, Add),
    /// pi = Softmax over the support points, z += pi (h U) (MatMul, Add). Returns the terminal state z_L, float32 [N, m].
    /// </summary>
    /// <remarks>
    /// 1/eps and h are folded into the keys, offsets and values in double before rounding to float32, so each step is two
    /// products and two additions. Softmax subtracts its row maximum (ONNX Runtime's kernel), so no exponential of an
    /// unshifted logit is taken. Shared controls are one set of initializers that every step reads.
    /// </remarks>
    private static string FlowGraph(OnnxGraphBuilder graph, GibbsFlow flow, HopfColeModel model, string standardised)
    {
        IReadOnlyList<string> featureNames = model.FeatureNames;
        FlowShape shape = flow.Shape;
        int d = shape.InputDimension;
        int m = shape.Width;
        int pieces = shape.Pieces;
        string state = standardised;
        if (shape.Lifted)
        {
            ReadOnlySpan<double> lift = flow.Parameters[..(m * d)];
            ReadOnlySpan<double> liftBias = flow.Parameters.Slice(m * d, m);
            var liftTransposed = new float[d * m];
            var liftBiases = new float[m];
            for (int i = 0; i < m; i++)
            {
                for (int k = 0; k < d; k++)
                {
                    liftTransposed[(k * m) + i] = Single(lift[(i * d) + k], $"the flow's lift weight of coordinate {i} on feature '{featureNames[k]}'");
                }

                liftBiases[i] = Single(liftBias[i], $"the flow's lift bias of coordinate {i}");
            }

            string lifted = graph.Node("MatMul", "flow_lift_products", [state, graph.Floats("flow_lift", liftTransposed, d, m)]);
            state = graph.Node("Add", "flow_state_0", [lifted, graph.Floats("flow_lift_biases", liftBiases, m)]);
        }
        else if (shape.Embedding is { } embedding)
        {
            state = EmbeddingGraph(graph, embedding, flow.Parameters[..shape.LiftLength], model, state);
        }

        double inverse = 1 / flow.Viscosity;
        string keys = string.Empty, offsets = string.Empty, values = string.Empty;
        for (int step = 0; step < shape.Steps; step++)
        {
            if (step == 0 || !shape.SharedControls)
            {
                string set = shape.SharedControls ? "flow_shared" : $"flow_step{step}";
                ReadOnlySpan<double> stepKeys = flow.Keys(step);
                ReadOnlySpan<double> stepOffsets = flow.Offsets(step);
                ReadOnlySpan<double> stepValues = flow.Values(step);
                var scaledKeys = new float[m * pieces];
                var scaledOffsets = new float[pieces];
                var scaledValues = new float[pieces * m];
                for (int j = 0; j < pieces; j++)
                {
                    for (int i = 0; i < m; i++)
                    {
                        scaledKeys[(i * pieces) + j] = Single(stepKeys[(j * m) + i] * inverse, $"the flow's key {j} of step {step}, coordinate {i}, divided by eps");
                        scaledValues[(j * m) + i] = Single(stepValues[(j * m) + i] * flow.StepSize, $"the flow's value {j} of step {step}, coordinate {i}, times h");
                    }

                    scaledOffsets[j] = Single(stepOffsets[j] * inverse, $"the flow's offset {j} of step {step}, divided by eps");
                }

                keys = graph.Floats(set + "_keys", scaledKeys, m, pieces);
                offsets = graph.Floats(set + "_offsets", scaledOffsets, pieces);
                values = graph.Floats(set + "_values", scaledValues, pieces, m);
            }

            string products = graph.Node("MatMul", $"flow_step{step}_key_products", [state, keys]);
            string logits = graph.Node("Add", $"flow_step{step}_logits", [products, offsets]);
            string gibbs = graph.Node("Softmax", $"flow_step{step}_gibbs_weights", [logits], Integer("axis", -1));
            string velocity = graph.Node("MatMul", $"flow_step{step}_displacement", [gibbs, values]);
            state = graph.Node("Add", $"flow_state_{step + 1}", [state, velocity]);
        }

        return state;
    }

    private static string Margin(OnnxGraphBuilder graph, string headScores)
    {
        // A scalar index removes the head axis: [N, 2] -> [N].
        string first = graph.Node("Gather", "head0_score", [headScores, graph.Int64s("head0", [0])], Integer("axis", 1));
        string second = graph.Node("Gather", "head1_score", [headScores, graph.Int64s("head1", [1])], Integer("axis", 1));
        return graph.Node("Sub", "margin", [first, second]);
    }

    private static void Regression(OnnxGraphBuilder graph, HopfColeModel model, string headScores)
    {
        string margin = Margin(graph, headScores);
        string scale = graph.Floats("label_scale", [Single(model.LabelScale, "the label scale")]);
        string mean = graph.Floats("label_mean", [Single(model.LabelMean, "the label mean")]);
        string scaled = graph.Node("Mul", "scaled_margin", [margin, scale]);
        graph.Node("Add", ScoreName, [scaled, mean]);
        graph.Output(ScoreName, DataType.Float, "Predicted value: LabelMean + LabelScale * (f_0 - f_1).", BatchDimension);
    }

    private static void Binary(OnnxGraphBuilder graph, string headScores)
    {
        string margin = Margin(graph, headScores);
        graph.Node("Identity", ScoreName, [margin]);
        graph.Node("Sigmoid", ProbabilityName, [margin]);
        graph.Node("Greater", PredictedLabelName, [margin, graph.Floats("zero", [0f])]);
        graph.Output(ScoreName, DataType.Float, "Margin f_0 - f_1 (positive favours the positive class).", BatchDimension);
        graph.Output(ProbabilityName, DataType.Float, "sigmoid(Score): probability of the positive class.", BatchDimension);
        graph.Output(PredictedLabelName, DataType.Bool, "Score > 0: true for the positive class (the second of hjml.class_labels).", BatchDimension);
    }

    private static void Multiclass(OnnxGraphBuilder graph, HopfColeModel model, string headScores)
    {
        int classes = model.NumberOfClasses;
        var labels = new float[classes];
        for (int c = 0; c < classes; c++)
        {
            labels[c] = Single(model.ClassLabels[c], $"class label {c}");
            int earlier = Array.IndexOf(labels, labels[c], 0, c);
            if (earlier >= 0)
            {
                throw new NotSupportedException($"Class labels {Text(model.ClassLabels[earlier])} and {Text(model.ClassLabels[c])} are the same float32 ({labels[c]}), so PredictedLabel could not tell them apart.");
            }
        }

        graph.Node("Identity", ClassScoresName, [headScores]);

        // softmax with the same max shift as the LSE: exponentials in (0, 1], sum in [1, K].
        string best = graph.Node("ReduceMax", "best_class_score", [headScores], Integers("axes", 1), Integer("keepdims", 1));
        string shifted = graph.Node("Sub", "shifted_class_scores", [headScores, best]);
        string exponentials = graph.Node("Exp", "class_exponentials", [shifted]);
        string sum = graph.Node("ReduceSum", "class_exponential_sum", [exponentials, graph.Int64s("class_axis", [1], 1)], Integer("keepdims", 1));
        graph.Node("Div", ScoreName, [exponentials, sum]);

        string index = graph.Node("ArgMax", PredictedClassIndexName, [headScores], Integer("axis", 1), Integer("keepdims", 0), Integer("select_last_index", 0));
        graph.Node("Gather", PredictedLabelName, [graph.Floats("class_labels", labels, classes), index], Integer("axis", 0));

        graph.Output(ScoreName, DataType.Float, "Class probabilities softmax(f_1..f_K), in the order of hjml.class_labels.", BatchDimension, classes);
        graph.Output(ClassScoresName, DataType.Float, "Raw LSE head values f_k, one per class.", BatchDimension, classes);
        graph.Output(PredictedLabelName, DataType.Float, "The predicted class's label value (from hjml.class_labels).", BatchDimension);
        graph.Output(PredictedClassIndexName, DataType.Int64, "The predicted class's 0-based index (the first of tied maxima).", BatchDimension);
    }

    private static float Single(double value, string what)
    {
        float single = (float)value;
        return float.IsFinite(single)
            ? single
            : throw new NotSupportedException($"{Capitalised(what)} is {Text(value)}, beyond float32's range (±3.4e38); the exported graph computes in float32.");
    }

    private static string PieceName(int piece, int pieces) => $"head {piece / pieces}, piece {piece % pieces}";

    private static string Capitalised(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    internal static string KindName(ModelKind kind) => kind switch
    {
        ModelKind.Regression => "regression",
        ModelKind.BinaryClassification => "binary",
        _ => "multiclass",
    };

    /// <summary>
    /// The names of the LSE stage's values: standardised features [N, d], x . w products [N, K*pieces], logits
    /// [N, K, pieces], their maximum [N, K, 1], and for eps &gt; 0 the scaled shifted logits, exponentials, their sum and
    /// its log; head scores [N, K]. Empty names were not computed.
    /// </summary>
    private readonly record struct LseGraph(string Standardised, string Products, string Logits, string Maximum, string Scaled, string Exponentials, string Sum, string LogSum, string HeadScores);
}
