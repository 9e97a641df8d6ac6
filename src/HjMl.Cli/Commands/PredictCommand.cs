using System.Globalization;
using System.Text;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml predict</c>: scores every row of a CSV file with a model and writes one output row per input row:
/// Score (regression); Score, Probability, PredictedLabel (binary); PredictedLabel, Probability and one
/// Score.&lt;class&gt; per class (multiclass). Feature columns are found by name; other columns (a label) are ignored.
/// </summary>
internal sealed class PredictCommand : ICommand
{
    public string Name => "predict";

    public string Summary => "score a CSV file with a model, one output row per input row";

    public string Usage => "hjml predict --model <model> --data <csv> --out <csv>";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string dataPath = arguments.Required("data");
        string outPath = arguments.Required("out");
        arguments.RejectUnknown();
        HopfColeModel model = ModelFile.Load(modelPath);
        FeatureTable table = FeatureTable.Load(dataPath, model.FeatureNames);
        int outputs = model.OutputLength;
        var scores = new double[table.Rows * outputs];
        model.ScoreBatch(table.Features, scores);

        var text = new StringBuilder();
        var probabilities = new double[Math.Max(1, model.NumberOfClasses)];
        text.AppendLine(model.Kind switch
        {
            ModelKind.Regression => "Score",
            ModelKind.BinaryClassification => "Score,Probability,PredictedLabel",
            _ => "PredictedLabel,Probability," + string.Join(',', model.ClassLabels.Select(c => "Score." + c.ToString(CultureInfo.InvariantCulture))),
        });
        for (int row = 0; row < table.Rows; row++)
        {
            cancellation.ThrowIfCancellationRequested();
            ReadOnlySpan<double> rowScores = scores.AsSpan(row * outputs, outputs);
            Prediction prediction = model.Interpret(rowScores, probabilities);
            text.AppendLine(model.Kind switch
            {
                ModelKind.Regression => Format(prediction.Score),
                ModelKind.BinaryClassification => $"{Format(prediction.Score)},{Format(prediction.Probability)},{Format(prediction.PredictedLabel)}",
                _ => $"{Format(prediction.PredictedLabel)},{Format(prediction.Probability)},{string.Join(',', rowScores.ToArray().Select(Format))}",
            });
        }

        AtomicFile.Write(outPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text.ToString());
        });
        output.WriteLine($"{table.Rows} predictions written to {outPath}");
        return 0;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
