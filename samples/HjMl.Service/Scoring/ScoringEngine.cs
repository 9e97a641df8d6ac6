using System.Buffers;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Service.Scoring;

/// <summary>
/// One pooled scorer of one served model: its own input row, the pipeline's row mapper over it, the getters of the
/// columns a response reports, and the buffer the response is written to. It parses a body (one row object or an array
/// of them), scores each row as it is read and writes its JSON; a fault anywhere throws a <see cref="RequestException"/>
/// and the buffer is discarded. What ML.NET's PredictionEngine is, driven by the saved schema instead of classes.
/// Not thread-safe: the pool hands it to one request at a time.
/// </summary>
internal sealed class ScoringEngine : IDisposable
{
    private static readonly JsonEncodedText LabelProperty = JsonEncodedText.Encode("label");
    private static readonly JsonEncodedText ScoreProperty = JsonEncodedText.Encode("score");
    private static readonly JsonEncodedText ProbabilityProperty = JsonEncodedText.Encode("probability");
    private static readonly JsonEncodedText ProbabilitiesProperty = JsonEncodedText.Encode("probabilities");
    private static readonly JsonEncodedText ExplanationProperty = JsonEncodedText.Encode("explanation");
    private static readonly JsonEncodedText ExplainedScoreProperty = JsonEncodedText.Encode("explainedScore");
    private static readonly JsonEncodedText ContributionsProperty = JsonEncodedText.Encode("featureContributions");
    private static readonly JsonEncodedText TermsProperty = JsonEncodedText.Encode("scoreTerms");
    private static readonly JsonEncodedText SupportProperty = JsonEncodedText.Encode("topSupportRows");
    private static readonly JsonEncodedText RowProperty = JsonEncodedText.Encode("row");
    private static readonly JsonEncodedText WeightProperty = JsonEncodedText.Encode("weight");
    private static readonly JsonEncodedText EntropyProperty = JsonEncodedText.Encode("attributionEntropy");
    private static readonly JsonEncodedText EffectiveProperty = JsonEncodedText.Encode("effectiveSupportPoints");
    private static readonly JsonEncodedText RadiusProperty = JsonEncodedText.Encode("certifiedRadius");
    private static readonly JsonEncodedText OutOfSupportScoreProperty = JsonEncodedText.Encode("outOfSupportScore");
    private static readonly JsonEncodedText OutOfSupportProperty = JsonEncodedText.Encode("outOfSupport");

    private readonly RequestColumns columns;
    private readonly OutputLayout layout;
    private readonly InputRow input;
    private readonly DataViewRow output;
    private readonly bool[] seen;
    private readonly Utf8JsonWriter writer;
    private readonly Action label;
    private readonly ValueGetter<float>? score;
    private readonly ValueGetter<float>? probability;
    private readonly ValueGetter<VBuffer<float>>? probabilities;
    private readonly Action? explanation;
    private VBuffer<float> vector;

    public ScoringEngine(ITransformer pipeline, RequestColumns columns, OutputLayout layout)
    {
        this.columns = columns;
        this.layout = layout;
        input = new InputRow(columns);
        IRowToRowMapper mapper = pipeline.GetRowToRowMapper(columns.InputSchema);
        output = mapper.GetRow(input, layout.Active);
        seen = new bool[columns.InputSchema.Count];
        Buffer = new ArrayBufferWriter<byte>(1024);
        writer = new Utf8JsonWriter(Buffer, new JsonWriterOptions { SkipValidation = true, Encoder = OutputLayout.Encoder });
        label = Label(output, layout, writer);
        if (layout.ClassNames is null)
        {
            score = output.GetGetter<float>(layout.Score!.Value);
        }
        else
        {
            probabilities = output.GetGetter<VBuffer<float>>(layout.Score!.Value);
        }

        probability = layout.Probability is { } column ? output.GetGetter<float>(column) : null;
        explanation = layout.FeatureContributions is null ? null : Explanation();
    }

    // A buffer grown by a large batch is not kept in the pool beyond this.
    private const int KeptBufferBytes = 1 << 20;

    /// <summary>The response written by the last <see cref="Run"/>.</summary>
    public ArrayBufferWriter<byte> Buffer { get; private set; }

    /// <summary>
    /// Scores the body: a JSON object (one row; the response is one object) or an array of at most
    /// <paramref name="maximumRows"/> objects (the response is an array, row for row). Returns the rows scored.
    /// </summary>
    /// <exception cref="RequestException">The body is not JSON, a row is invalid (the message names its column and row), or the batch is too large.</exception>
    public int Run(ReadOnlySequence<byte> body, int maximumRows)
    {
        if (Buffer.Capacity > KeptBufferBytes)
        {
            Buffer = new ArrayBufferWriter<byte>(1024);
        }

        Buffer.ResetWrittenCount();
        writer.Reset(Buffer);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
        int rows = 0;
        try
        {
            if (body.IsEmpty || !reader.Read())
            {
                throw new RequestException(StatusCodes.Status400BadRequest, "The body is empty; send a JSON object of column name → value, or an array of them.");
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (rows == maximumRows)
                    {
                        throw new RequestException(StatusCodes.Status413PayloadTooLarge, $"The batch has more than {maximumRows} rows (HjMl:MaxBatchRows); send at most {maximumRows} per request.", "rows");
                    }

                    ScoreRow(ref reader, rows++);
                }

                writer.WriteEndArray();
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                ScoreRow(ref reader, rows++);
            }
            else
            {
                throw new RequestException(StatusCodes.Status400BadRequest, $"The body is {RowParser.Describe(reader.TokenType)}; send a JSON object of column name → value, or an array of them.");
            }

            // Anything after the value is refused by the reader itself ("... is invalid after a single JSON value").
            reader.Read();
        }
        catch (JsonException exception)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {exception.Message}");
        }

        writer.Flush();
        return rows;
    }

    /// <summary>Releases the engine's rows and writer (the pipeline and its sessions belong to the served model).</summary>
    public void Dispose()
    {
        writer.Dispose();
        output.Dispose();
        input.Dispose();
    }

    private void ScoreRow(ref Utf8JsonReader reader, int row)
    {
        RowParser.Read(ref reader, columns, input, seen, row);
        try
        {
            writer.WriteStartObject();
            label();
            if (score is not null)
            {
                float value = 0;
                score(ref value);
                Number(ScoreProperty, value);
            }

            if (probability is not null)
            {
                float value = 0;
                probability(ref value);
                Number(ProbabilityProperty, value);
            }

            if (probabilities is not null)
            {
                probabilities(ref vector);
                writer.WriteStartObject(ProbabilitiesProperty);
                ReadOnlySpan<float> values = vector.GetValues();
                for (int i = 0; i < values.Length; i++)
                {
                    Number(layout.ClassNames![i], values[i]);
                }

                writer.WriteEndObject();
            }

            explanation?.Invoke();
            writer.WriteEndObject();
        }
        catch (InvalidOperationException exception)
        {
            // HjMl's transformers refuse a row they cannot score (a feature that is not finite after featurising).
            throw new RequestException(StatusCodes.Status400BadRequest, $"Row {row} cannot be scored: {exception.Message}", row: row);
        }
    }

    private void Number(JsonEncodedText property, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumber(property, value);
        }
        else
        {
            writer.WriteNull(property);
        }
    }

    private static Action Label(DataViewRow output, OutputLayout layout, Utf8JsonWriter writer)
    {
        if (layout.Label is not { } column)
        {
            return () => { };
        }

        switch (column.Type)
        {
            case BooleanDataViewType:
            {
                ValueGetter<bool> getter = output.GetGetter<bool>(column);
                return () =>
                {
                    bool value = false;
                    getter(ref value);
                    writer.WriteBoolean(LabelProperty, value);
                };
            }

            case KeyDataViewType:
            {
                ValueGetter<uint> getter = output.GetGetter<uint>(column);
                (JsonEncodedText[] Names, double[]? Numbers)? values = layout.LabelValues;
                return () =>
                {
                    uint key = 0;
                    getter(ref key);
                    if (key == 0 || values is not { } known || key > known.Names.Length)
                    {
                        writer.WriteNumber(LabelProperty, key);
                    }
                    else if (known.Numbers is { } numbers)
                    {
                        writer.WriteNumber(LabelProperty, numbers[key - 1]);
                    }
                    else
                    {
                        writer.WriteString(LabelProperty, known.Names[key - 1]);
                    }
                };
            }

            case NumberDataViewType number when number.RawType == typeof(float):
            {
                ValueGetter<float> getter = output.GetGetter<float>(column);
                return () =>
                {
                    float value = 0;
                    getter(ref value);
                    writer.WriteNumber(LabelProperty, value);
                };
            }

            default:
                return () => { };
        }
    }

    private Action Explanation()
    {
        ValueGetter<VBuffer<float>> weights = output.GetGetter<VBuffer<float>>(layout.TopSupportWeights!.Value);
        Action<int> supportRow = SupportRows(layout.TopSupportRows!.Value);
        ValueGetter<float> entropy = output.GetGetter<float>(layout.AttributionEntropy!.Value);
        ValueGetter<VBuffer<float>> contributions = output.GetGetter<VBuffer<float>>(layout.FeatureContributions!.Value);
        ValueGetter<float> explained = output.GetGetter<float>(layout.ExplainedScore!.Value);
        ValueGetter<VBuffer<float>> terms = output.GetGetter<VBuffer<float>>(layout.ScoreTerms!.Value);
        ValueGetter<float>? radius = layout.CertifiedRadius is { } radiusColumn ? output.GetGetter<float>(radiusColumn) : null;
        ValueGetter<float>? outOfSupportScore = layout.OutOfSupportScore is { } scoreColumn ? output.GetGetter<float>(scoreColumn) : null;
        ValueGetter<bool>? outOfSupport = layout.OutOfSupport is { } flagColumn ? output.GetGetter<bool>(flagColumn) : null;
        int[] order = new int[layout.FeatureNames.Length];
        float[] magnitudes = new float[layout.FeatureNames.Length];
        VBuffer<float> contributionBuffer = default, termBuffer = default, weightBuffer = default;
        return () =>
        {
            writer.WriteStartObject(ExplanationProperty);
            float value = 0;
            explained(ref value);
            Number(ExplainedScoreProperty, value);

            // The decomposition: ExplainedScore = sum(featureContributions) + sum(scoreTerms). Every feature, largest
            // contribution first, as one object (feature name → value): the cheapest JSON that keeps the order.
            contributions(ref contributionBuffer);
            ReadOnlySpan<float> values = Dense(contributionBuffer);
            for (int i = 0; i < order.Length; i++)
            {
                order[i] = i;
                magnitudes[i] = -Math.Abs(values[i]);
            }

            Array.Sort(magnitudes, order);
            writer.WriteStartObject(ContributionsProperty);
            foreach (int i in order)
            {
                Number(layout.FeatureNames[i], values[i]);
            }

            writer.WriteEndObject();
            terms(ref termBuffer);
            ReadOnlySpan<float> termValues = Dense(termBuffer);
            writer.WriteStartObject(TermsProperty);
            for (int i = 0; i < termValues.Length && i < layout.TermNames.Length; i++)
            {
                Number(layout.TermNames[i], termValues[i]);
            }

            writer.WriteEndObject();

            weights(ref weightBuffer);
            ReadOnlySpan<float> weightValues = Dense(weightBuffer);
            writer.WriteStartArray(SupportProperty);
            for (int i = 0; i < weightValues.Length; i++)
            {
                writer.WriteStartObject();
                supportRow(i);
                Number(WeightProperty, weightValues[i]);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            entropy(ref value);
            Number(EntropyProperty, value);
            Number(EffectiveProperty, MathF.Exp(value));
            if (radius is not null)
            {
                radius(ref value);
                Number(RadiusProperty, value);
            }

            if (outOfSupportScore is not null)
            {
                outOfSupportScore(ref value);
                Number(OutOfSupportScoreProperty, value);
            }

            if (outOfSupport is not null)
            {
                bool flag = false;
                outOfSupport(ref flag);
                writer.WriteBoolean(OutOfSupportProperty, flag);
            }

            writer.WriteEndObject();
        };
    }

    // TopSupportRows: training-row positions (Int64), or the values of the id column the attribution was fitted with.
    private Action<int> SupportRows(DataViewSchema.Column column)
    {
        DataViewType item = column.Type is VectorDataViewType vectorType ? vectorType.ItemType : column.Type;
        if (item.RawType == typeof(long))
        {
            ValueGetter<VBuffer<long>> getter = output.GetGetter<VBuffer<long>>(column);
            VBuffer<long> rows = default;
            return i =>
            {
                if (i == 0)
                {
                    getter(ref rows);
                }

                writer.WriteNumber(RowProperty, i < rows.Length ? rows.GetItemOrDefault(i) : -1);
            };
        }

        if (item is TextDataViewType)
        {
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = output.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
            VBuffer<ReadOnlyMemory<char>> ids = default;
            return i =>
            {
                if (i == 0)
                {
                    getter(ref ids);
                }

                writer.WriteString(RowProperty, i < ids.Length ? ids.GetItemOrDefault(i).Span : []);
            };
        }

        if (item.RawType == typeof(float) || item.RawType == typeof(double))
        {
            ValueGetter<VBuffer<double>>? doubles = item.RawType == typeof(double) ? output.GetGetter<VBuffer<double>>(column) : null;
            ValueGetter<VBuffer<float>>? singles = doubles is null ? output.GetGetter<VBuffer<float>>(column) : null;
            VBuffer<double> doubleIds = default;
            VBuffer<float> singleIds = default;
            return i =>
            {
                if (i == 0)
                {
                    doubles?.Invoke(ref doubleIds);
                    singles?.Invoke(ref singleIds);
                }

                double id = doubles is not null ? (i < doubleIds.Length ? doubleIds.GetItemOrDefault(i) : double.NaN) : (i < singleIds.Length ? singleIds.GetItemOrDefault(i) : float.NaN);
                if (double.IsFinite(id))
                {
                    writer.WriteNumber(RowProperty, id);
                }
                else
                {
                    writer.WriteNull(RowProperty);
                }
            };
        }

        return _ => writer.WriteNull(RowProperty);
    }

    private static ReadOnlySpan<float> Dense(in VBuffer<float> buffer)
        => buffer.IsDense ? buffer.GetValues() : buffer.DenseValues().ToArray();
}
