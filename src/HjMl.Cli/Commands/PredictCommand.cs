using System.Globalization;
using HjMl.Cli.Data;
using HjMl.Models;
using HjMl.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml predict</c>: scores every row of a CSV file with a model and writes one output row per input row:
/// Score (regression); Score, Probability, PredictedLabel (binary); PredictedLabel, Probability and one
/// Score.&lt;class&gt; per class (multiclass). Feature columns are found by name; other columns (a label) are ignored.
/// Rows are streamed: the input is read and the output written a batch at a time, so memory does not grow with the
/// file, and the output appears, whole, only when every row is scored.
/// </summary>
internal sealed class PredictCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the CSV file to read (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("out", "the CSV of predictions to write (written whole at the end, or not at all)"),
    ];

    private const int BatchRows = 4096;

    public string Name => "predict";

    public string Summary => "score a CSV file with a model, one output row per input row (streamed)";

    public string Usage => "hjml predict --model <model.zip|model.hjml> [--data <csv>] --out <csv>";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        string outPath = arguments.Required("out");
        arguments.RejectUnknown();
        ModelData model = ModelData.Load(modelPath);
        long rows = 0;
        AtomicFile.Write(outPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            rows = model.IsPipeline ? ThroughPipeline(model, dataPath, writer, cancellation) : ThroughEngine(model, dataPath, writer, cancellation);
        });
        output.WriteLine($"{rows} predictions written to {outPath}");
        return 0;
    }

    private static long ThroughEngine(ModelData data, string? dataPath, StreamWriter writer, CancellationToken cancellation)
    {
        HopfColeModel model = data.Model;
        int outputs = model.OutputLength;
        var scores = new double[BatchRows * outputs];
        var probabilities = new double[Math.Max(1, model.NumberOfClasses)];
        writer.WriteLine(model.Kind switch
        {
            ModelKind.Regression => "Score",
            ModelKind.BinaryClassification => "Score,Probability,PredictedLabel",
            _ => "PredictedLabel,Probability," + string.Join(',', model.ClassLabels.Select(c => "Score." + c.ToString(CultureInfo.InvariantCulture))),
        });
        long rows = 0;
        foreach (RowBatch batch in data.Read(dataPath, "Label", BatchRows, cancellation))
        {
            cancellation.ThrowIfCancellationRequested();
            model.ScoreBatch(batch.Features.AsSpan(0, batch.Rows * model.InputDimension), scores.AsSpan(0, batch.Rows * outputs));
            for (int row = 0; row < batch.Rows; row++)
            {
                ReadOnlySpan<double> rowScores = scores.AsSpan(row * outputs, outputs);
                Prediction prediction = model.Interpret(rowScores, probabilities);
                writer.WriteLine(model.Kind switch
                {
                    ModelKind.Regression => Format(prediction.Score),
                    ModelKind.BinaryClassification => $"{Format(prediction.Score)},{Format(prediction.Probability)},{Format(prediction.PredictedLabel)}",
                    _ => $"{Format(prediction.PredictedLabel)},{Format(prediction.Probability)},{string.Join(',', rowScores.ToArray().Select(Format))}",
                });
            }

            rows += batch.Rows;
        }

        return rows;
    }

    // An ML.NET zip scores through its own pipeline (featurisers, the Hopf–Cole stage in HjMl's engine, the predicted
    // class as the label's value), one streamed row at a time.
    private static long ThroughPipeline(ModelData data, string? dataPath, StreamWriter writer, CancellationToken cancellation)
    {
        IDataView scored = data.Pipeline!.Transform(data.StreamedView(dataPath, cancellation));
        DataViewSchema schema = scored.Schema;
        DataViewSchema.Column score = schema["Score"];
        DataViewSchema.Column? probability = schema.GetColumnOrNull("Probability");
        DataViewSchema.Column? predicted = schema.GetColumnOrNull(Featurization.PredictedClassColumn);
        ModelKind kind = data.Model.Kind;
        string[] classes = kind == ModelKind.MulticlassClassification ? Featurization.SlotNames(score, ((VectorDataViewType)score.Type).Size) : [];
        writer.WriteLine(kind switch
        {
            ModelKind.Regression => "Score",
            ModelKind.BinaryClassification => "Score,Probability,PredictedLabel",
            _ => "PredictedLabel,Probability," + string.Join(',', classes.Select(c => "Score." + Cell(c))),
        });
        var active = new List<DataViewSchema.Column> { score };
        active.AddRange(new[] { probability, predicted }.Where(c => c is not null).Select(c => c!.Value));
        using DataViewRowCursor cursor = scored.GetRowCursor(active);
        ValueGetter<ReadOnlyMemory<char>>? getClass = predicted is { } p ? cursor.GetGetter<ReadOnlyMemory<char>>(p) : null;
        ReadOnlyMemory<char> text = default;
        long rows = 0;
        if (kind == ModelKind.MulticlassClassification)
        {
            ValueGetter<VBuffer<float>> getScores = cursor.GetGetter<VBuffer<float>>(score);
            VBuffer<float> values = default;
            while (cursor.MoveNext())
            {
                getScores(ref values);
                getClass!(ref text);
                float[] dense = values.DenseValues().ToArray();
                writer.WriteLine($"{Cell(text.ToString())},{Format(dense.Max())},{string.Join(',', dense.Select(v => Format(v)))}");
                rows++;
                Check(rows, cancellation);
            }

            return rows;
        }

        ValueGetter<float> getScore = cursor.GetGetter<float>(score);
        ValueGetter<float>? getProbability = probability is { } q ? cursor.GetGetter<float>(q) : null;
        float value = 0, chance = 0;
        while (cursor.MoveNext())
        {
            getScore(ref value);
            if (kind == ModelKind.Regression)
            {
                writer.WriteLine(Format(value));
            }
            else
            {
                getProbability!(ref chance);
                getClass!(ref text);
                writer.WriteLine($"{Format(value)},{Format(chance)},{Cell(text.ToString())}");
            }

            rows++;
            Check(rows, cancellation);
        }

        return rows;
    }

    private static void Check(long rows, CancellationToken cancellation)
    {
        if ((rows & 0x3FF) == 0)
        {
            cancellation.ThrowIfCancellationRequested();
        }
    }

    private static string Cell(string text) => text.Contains(',') || text.Contains('"') ? $"\"{text.Replace("\"", "\"\"")}\"" : text;

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
