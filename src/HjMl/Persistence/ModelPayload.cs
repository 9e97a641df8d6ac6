using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using HjMl.Embeddings;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Persistence;

/// <summary>
/// The payload of a model file, format version 1 (little-endian): kind (byte), d, K, N (int32), eps, t, label mean,
/// label scale (double), feature names (int32 count, then int32 byte length + UTF-8 each), class labels (int32 count,
/// doubles), d means, d scales, K*N*d weights, K*N biases (doubles), K*N support rows (int32), metadata (int32 count,
/// then key and value strings). Format version 2, written only for a model with a flow (a single layer keeps version 1,
/// byte for byte, so that every HjMl reads it), adds after N: the flow's depth L (int32) and, when L &gt; 0, J and m (int32), lifted and
/// shared (byte 0/1), T and the flow's eps (double); the read-out's weights are then K*N*m; after the support rows come
/// the flow's parameters (doubles, <see cref="FlowShape"/> layout). Format version 3, written only for a flow whose start
/// is a periodic feature embedding (<see cref="FlowShape.Embedding"/>; other flows keep version 2), writes after the depth
/// L (which may be 0) always J, m, the flags, T and eps as version 2 does, then the embedding: n embedded features, K
/// frequencies and e width (int32), and the n embedded feature indices (int32, ascending); its parameters lead the
/// flow's parameters where a lift's would be.
/// </summary>
internal static class ModelPayload
{
    // Raw kind bytes are fixed by the format, independent of the enum's numeric values.
    private const byte RegressionKind = 0;
    private const byte BinaryKind = 1;
    private const byte MulticlassKind = 2;

    /// <summary>The metadata key that carries <see cref="HopfColeModel.CoverageRadius"/>.</summary>
    public const string CoverageRadiusKey = "hjml.coverageRadius";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The format version <see cref="Write"/> uses for <paramref name="model"/>: 1 for a single layer, 2 with a flow, 3 with an embedded flow.</summary>
    public static int FormatVersion(HopfColeModel model) => model.Flow is null ? 1 : model.Flow.Shape.Embedding is null ? 2 : 3;

    /// <summary>The payload of <paramref name="model"/> in format version <see cref="FormatVersion"/>.</summary>
    public static byte[] Write(HopfColeModel model, IReadOnlyDictionary<string, string> metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        LseLayer<double> layer = model.Layer;
        buffer.GetSpan(1)[0] = model.Kind switch
        {
            ModelKind.Regression => RegressionKind,
            ModelKind.BinaryClassification => BinaryKind,
            ModelKind.MulticlassClassification => MulticlassKind,
            _ => throw new ArgumentException($"Model kind {model.Kind} has no model file encoding.", nameof(model)),
        };
        buffer.Advance(1);
        Int32(buffer, model.InputDimension);
        Int32(buffer, layer.NumberOfHeads);
        Int32(buffer, layer.NumberOfPieces);
        if (model.Flow is { } flow)
        {
            Int32(buffer, flow.Shape.Steps);
            Int32(buffer, flow.Shape.Pieces);
            Int32(buffer, flow.Shape.Width);
            buffer.GetSpan(2)[0] = flow.Shape.Lifted ? (byte)1 : (byte)0;
            buffer.GetSpan(2)[1] = flow.Shape.SharedControls ? (byte)1 : (byte)0;
            buffer.Advance(2);
            Double(buffer, flow.Horizon);
            Double(buffer, flow.Viscosity);
            if (flow.Shape.Embedding is { } embedding)
            {
                Int32(buffer, embedding.Features.Count);
                Int32(buffer, embedding.Frequencies);
                Int32(buffer, embedding.Width);
                foreach (int feature in embedding.Features)
                {
                    Int32(buffer, feature);
                }
            }
        }

        Double(buffer, layer.Viscosity);
        Double(buffer, model.Time);
        Double(buffer, model.LabelMean);
        Double(buffer, model.LabelScale);
        Int32(buffer, model.FeatureNames.Count);
        foreach (string name in model.FeatureNames)
        {
            Text(buffer, name);
        }

        Int32(buffer, model.ClassLabels.Count);
        foreach (double label in model.ClassLabels)
        {
            Double(buffer, label);
        }

        Doubles(buffer, model.Scaling.Means);
        Doubles(buffer, model.Scaling.Scales);
        Doubles(buffer, layer.Weights);
        Doubles(buffer, layer.Biases);
        foreach (int row in model.SupportRows)
        {
            Int32(buffer, row);
        }

        if (model.Flow is { } written)
        {
            Doubles(buffer, written.Parameters);
        }

        // The coverage calibration travels as a reserved metadata entry, so the layout stays version 1.
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in metadata)
        {
            entries[key] = value;
        }

        if (!double.IsNaN(model.CoverageRadius))
        {
            entries[CoverageRadiusKey] = model.CoverageRadius.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }

        Int32(buffer, entries.Count);
        foreach ((string key, string value) in entries)
        {
            Text(buffer, key);
            Text(buffer, value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static (HopfColeModel Model, IReadOnlyDictionary<string, string> Metadata) Read(ReadOnlySpan<byte> payload, string source, int version = 1)
    {
        var reader = new PayloadReader(payload, source);
        byte kindByte = reader.Byte("the model kind");
        ModelKind kind = kindByte switch
        {
            RegressionKind => ModelKind.Regression,
            BinaryKind => ModelKind.BinaryClassification,
            MulticlassKind => ModelKind.MulticlassClassification,
            _ => throw reader.Problem($"the model kind is {kindByte}, which is none of 0 (regression), 1 (binary), 2 (multiclass)."),
        };

        int dimension = reader.Positive("the input dimension d");
        int heads = reader.Positive("the number of heads K");
        int pieces = reader.Positive("the number of pieces per head N");
        FlowShape? shape = null;
        double horizon = 0, flowViscosity = 0;
        if (version >= 2)
        {
            int depth = reader.Int32("the flow's depth L");
            if (depth < 0)
            {
                throw reader.Problem($"the flow's depth L is {depth}; it must be >= 0.");
            }

            if (depth > 0 || version >= 3)
            {
                int flowPieces = reader.Positive("the flow's support points per step J");
                int width = reader.Positive("the flow's width m");
                byte lifted = reader.Byte("whether the flow is lifted");
                byte shared = reader.Byte("whether the flow's controls are shared");
                if (lifted > 1 || shared > 1)
                {
                    throw reader.Problem($"the flow's lifted and shared flags are {lifted} and {shared}; each must be 0 or 1.");
                }

                horizon = reader.Double();
                flowViscosity = reader.Double();
                EmbeddingShape? embedding = version >= 3 ? ReadEmbedding(ref reader, dimension) : null;
                shape = new FlowShape(dimension, width, depth, flowPieces, lifted == 1, shared == 1) { Embedding = embedding };
                try
                {
                    shape.Value.Validate();
                }
                catch (ArgumentException invalid)
                {
                    throw reader.Problem(invalid.Message);
                }
            }
        }

        // Bound the arrays the header fields imply by the bytes left, before allocating any of them.
        int readoutDimension = shape?.Width ?? dimension;
        Int128 pieceCount = (Int128)heads * pieces;
        Int128 flowCount = shape is { } flowShape ? (Int128)flowShape.ParameterCount : 0;
        Int128 arrayBytes = (((pieceCount * readoutDimension) + pieceCount + (2 * (Int128)dimension) + flowCount) * sizeof(double)) + (pieceCount * sizeof(int));
        if (arrayBytes > reader.Remaining)
        {
            throw reader.Problem($"d = {dimension}, K = {heads}, N = {pieces} need {arrayBytes} bytes of weights, biases, scaling and support rows but only {reader.Remaining} bytes remain.");
        }

        double viscosity = reader.Double();
        double time = reader.Double();
        double labelMean = reader.Double();
        double labelScale = reader.Double();

        int nameCount = reader.Count(sizeof(int), "feature names");
        if (nameCount != dimension)
        {
            throw reader.Problem($"there are {nameCount} feature names for d = {dimension} features.");
        }

        var featureNames = new string[nameCount];
        for (int k = 0; k < nameCount; k++)
        {
            featureNames[k] = reader.Text($"feature name {k}");
        }

        var classLabels = reader.Doubles(reader.Count(sizeof(double), "class labels"));
        var means = reader.Doubles(dimension);
        var scales = reader.Doubles(dimension);
        var weights = reader.Doubles((int)(pieceCount * readoutDimension));
        var biases = reader.Doubles((int)pieceCount);
        var supportRows = new int[(int)pieceCount];
        for (int j = 0; j < supportRows.Length; j++)
        {
            supportRows[j] = reader.Int32();
            if (supportRows[j] < -1)
            {
                throw reader.Problem($"piece {j} has support row {supportRows[j]}; a support row is a 0-based training row or -1.");
            }
        }

        double[] flowParameters = shape is { } stored ? reader.Doubles(stored.ParameterCount) : [];
        int entryCount = reader.Count(2 * sizeof(int), "metadata entries");
        var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < entryCount; i++)
        {
            string key = reader.Text($"metadata key {i}");
            string value = reader.Text($"metadata value {i}");
            if (key.Length == 0 || !metadata.TryAdd(key, value))
            {
                throw reader.Problem($"metadata key {i} ('{key}') is empty or repeated.");
            }
        }

        if (reader.Remaining != 0)
        {
            throw reader.Problem($"{reader.Remaining} bytes are left over after the metadata.");
        }

        double coverageRadius = double.NaN;
        if (metadata.TryGetValue(CoverageRadiusKey, out string? coverageText)
            && !double.TryParse(coverageText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out coverageRadius))
        {
            throw reader.Problem($"the coverage radius '{coverageText}' is not a number.");
        }

        try
        {
            var layer = new LseLayer<double>(weights, biases, readoutDimension, viscosity, heads);
            var scaling = new FeatureScaling(means, scales);
            GibbsFlow? flow = shape is { } trained ? new GibbsFlow(trained, horizon, flowViscosity, flowParameters) : null;
            var model = new HopfColeModel(kind, layer, scaling, featureNames, classLabels, labelMean, labelScale, supportRows, time, coverageRadius, flow);
            return (model, metadata);
        }
        catch (ArgumentException invalid)
        {
            throw new InvalidDataException($"{source}: not a valid HjMl model file: its checksum matches but the model it holds is invalid: {invalid.Message}", invalid);
        }
    }

    // The embedding section of format version 3: n, K, e, then n feature indices.
    private static EmbeddingShape ReadEmbedding(ref PayloadReader reader, int dimension)
    {
        int count = reader.Positive("the number of embedded features n");
        int frequencies = reader.Positive("the embedding's frequencies per feature K");
        int width = reader.Positive("the embedding's width per feature e");
        if (count > dimension || (long)count * sizeof(int) > reader.Remaining)
        {
            throw reader.Problem($"the embedding names {count} embedded features for d = {dimension} features ({reader.Remaining} bytes remain); it can embed at most d.");
        }

        var features = new int[count];
        for (int i = 0; i < count; i++)
        {
            features[i] = reader.Int32($"embedded feature {i}");
        }

        try
        {
            return new EmbeddingShape(dimension, features, frequencies, width);
        }
        catch (ArgumentException invalid)
        {
            throw reader.Problem($"the embedding section is inconsistent: {invalid.Message}");
        }
    }

    private static void Int32(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(sizeof(int)), value);
        buffer.Advance(sizeof(int));
    }

    private static void Double(ArrayBufferWriter<byte> buffer, double value)
    {
        // The bit pattern itself, so a save/load round trip returns identical doubles.
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(sizeof(double)), value);
        buffer.Advance(sizeof(double));
    }

    private static void Doubles(ArrayBufferWriter<byte> buffer, ReadOnlySpan<double> values)
    {
        foreach (double value in values)
        {
            Double(buffer, value);
        }
    }

    private static void Text(ArrayBufferWriter<byte> buffer, string value)
    {
        int length = StrictUtf8.GetByteCount(value);
        Int32(buffer, length);
        StrictUtf8.GetBytes(value, buffer.GetSpan(length));
        buffer.Advance(length);
    }

    /// <summary>Reads the payload front to back; every failure names what it was reading and how many bytes remained.</summary>
    private ref struct PayloadReader(ReadOnlySpan<byte> payload, string source)
    {
        private readonly ReadOnlySpan<byte> payload = payload;
        private int position;

        public readonly int Remaining => payload.Length - position;

        public readonly InvalidDataException Problem(string problem)
            => new($"{source}: not a valid HjMl model file: its checksum matches but its contents are inconsistent (at payload byte {position}): {problem}");

        public byte Byte(string what)
        {
            Need(1, what);
            return payload[position++];
        }

        public int Int32(string what = "an integer")
        {
            Need(sizeof(int), what);
            int value = BinaryPrimitives.ReadInt32LittleEndian(payload[position..]);
            position += sizeof(int);
            return value;
        }

        public double Double(string what = "a number")
        {
            Need(sizeof(double), what);
            double value = BinaryPrimitives.ReadDoubleLittleEndian(payload[position..]);
            position += sizeof(double);
            return value;
        }

        public int Positive(string what)
        {
            int value = Int32(what);
            return value > 0 ? value : throw Problem($"{what} is {value}; it must be at least 1.");
        }

        /// <summary>A count of elements that take at least <paramref name="bytesEach"/> bytes each, checked against what remains.</summary>
        public int Count(int bytesEach, string what)
        {
            int count = Int32($"the number of {what}");
            if (count < 0 || (long)count * bytesEach > Remaining)
            {
                throw Problem($"the file gives {count} {what}, but {Remaining} bytes remain (at least {bytesEach} bytes each).");
            }

            return count;
        }

        public double[] Doubles(int count)
        {
            Need((long)count * sizeof(double), $"{count} numbers");
            var values = new double[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = BinaryPrimitives.ReadDoubleLittleEndian(payload[position..]);
                position += sizeof(double);
            }

            return values;
        }

        public string Text(string what)
        {
            int length = Count(1, $"bytes in {what}");
            try
            {
                string value = StrictUtf8.GetString(payload.Slice(position, length));
                position += length;
                return value;
            }
            catch (DecoderFallbackException invalid)
            {
                throw Problem($"{what} is not valid UTF-8 ({invalid.Message}).");
            }
        }

        private readonly void Need(long bytes, string what)
        {
            if (bytes > Remaining)
            {
                throw Problem($"{what} needs {bytes} bytes but only {Remaining} remain.");
            }
        }
    }
}
