using System.Globalization;
using HjMl.Attribution;
using HjMl.Cli.Data;
using HjMl.Models;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml explain</c>: for each row, the prediction, the support points that carried it (with the training rows
/// they started on), the attribution entropy, and the feature contributions that sum exactly to the score.
/// </summary>
internal sealed class ExplainCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("model", "the model file: an ML.NET zip written by hjml train --out m.zip, or a .hjml file"),
        new("data", "the CSV file to read (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("top", "support points listed per row", OptionValue.Integer, "3"),
        new("rows", "explain only the first n rows of the data, on screen and in --out; without it, 5 rows are shown and every row goes to --out", OptionValue.Integer),
        new("out", "write every explanation to this .csv or .json"),
        new("label", "the label column, left out of the features", OptionValue.Text, "Label"),
    ];

    public string Name => "explain";

    public string Summary => "explain predictions: top support points, entropy, feature contributions that sum to the score";

    public string Usage => "hjml explain --model <model.zip|model.hjml> [--data <csv>] [--label <column>] [--top k] [--rows n] [--out explanations.csv|.json]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string modelPath = arguments.Required("model");
        string? dataPath = arguments.Text("data");
        int top = arguments.Integer("top", 3);
        int? limit = arguments.Text("rows") is null ? null : arguments.Integer("rows", 5, 1, int.MaxValue);
        int shown = limit ?? 5;
        string? outPath = arguments.Text("out");
        string label = arguments.Text("label") ?? "Label";
        arguments.RejectUnknown();
        ModelData data = ModelData.Load(modelPath);
        HopfColeModel model = data.Model;
        var explainer = new ModelExplainer(model);
        var explanation = new Explanation(model, top);
        int d = model.InputDimension;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model.Kind} model, eps {model.Viscosity:G4}, {model.Layer.NumberOfPieces} support points per head; explaining the rows of {CsvSource.NameOf(dataPath)}"));
        output.WriteLine(model.Flow is null
            ? "the margin's parts: feature contributions + bias + eps·entropy (+ label mean) = score, exactly"
            : $"a flow of depth {model.Depth} carries the features to {model.Flow.Width} terminal coordinates z; the score's parts: baseline + input-feature contributions (integrated gradients) + quadrature remainder, and at z: contributions + bias + eps·entropy");
        long count = 0;

        // Rows stream from the file through the explainer to the output, a batch at a time.
        IEnumerable<IReadOnlyList<object>> Records()
        {
            var features = new double[d];
            var progress = new RowProgress(error, "explain");
            foreach (RowBatch batch in data.Read(dataPath, label, 1024, cancellation))
            {
                // With --rows, or with nothing but the screen to write to, the rows past the last shown are not read.
                if ((limit is not null || outPath is null) && batch.FirstRow >= shown)
                {
                    yield break;
                }

                ScoredRows.Check(model, batch);
                int rows = (limit is not null || outPath is null) ? (int)Math.Min(batch.Rows, shown - batch.FirstRow) : batch.Rows;
                for (int i = 0; i < rows; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    int row = checked((int)(batch.FirstRow + i));
                    progress.Report(row);
                    Array.Copy(batch.Features, i * d, features, 0, d);
                    yield return Record(model, explainer, explanation, features, row, row < shown ? output : null);
                    count++;
                }
            }
        }

        if (outPath is not null)
        {
            var columns = new List<string> { "Row", "PredictedLabel", "Score", "Probability", "AttributionEntropy", "EffectiveSupportCount", "ExplainedValue", "Baseline", "BiasTerm", "EntropyTerm" };
            columns.AddRange(model.FeatureNames.Select(name => "Contribution." + name));
            if (model.Flow is not null)
            {
                columns.Add("QuadratureRemainder");
            }

            for (int k = 1; k <= top; k++)
            {
                columns.AddRange([$"Top{k}.TrainingRow", $"Top{k}.Head", $"Top{k}.Weight", $"Top{k}.Influence"]);
            }

            TableOutput.Write(outPath, columns, Records());
            output.WriteLine($"{count} explanations written to {outPath}");
        }
        else
        {
            foreach (IReadOnlyList<object> record in Records())
            {
                _ = record;
            }
        }

        return 0;
    }

    private static List<object> Record(HopfColeModel model, ModelExplainer explainer, Explanation explanation, double[] features, int row, TextWriter? screen)
    {
        explainer.Explain(features, explanation);
        Decomposition parts = model.Kind == ModelKind.MulticlassClassification ? explanation.Class : explanation.Margin;
        InputDecomposition? input = model.Kind == ModelKind.MulticlassClassification ? explanation.InputClass : explanation.InputMargin;
        ScoredRows.RequireFinite(row, "explained", "explained value, bias and entropy terms and feature contributions", [parts.Value, parts.BiasTerm, parts.EntropyTerm, explanation.Entropy, .. parts.FeatureContributions, .. input?.FeatureContributions ?? []]);
        if (screen is not null)
        {
            WriteRow(screen, model, row, explanation, parts, input);
        }

        var record = new List<object>
        {
            row + 1,
            explanation.Prediction.PredictedLabel,
            explanation.Prediction.Score,
            explanation.Prediction.Probability,
            explanation.Entropy,
            explanation.EffectiveSupportCount,
            parts.Value,
            parts.Baseline,
            parts.BiasTerm,
            parts.EntropyTerm,
        };
        if (input is null)
        {
            record.AddRange(parts.FeatureContributions.Select(c => (object)c));
        }
        else
        {
            // With a flow the CSV's columns decompose the score over the input features: the value at the
            // training means, the contributions and the quadrature remainder (no bias or entropy term in that
            // decomposition: the terminal coordinates' parts stay on screen), so the columns still sum to the score.
            record[7] = input.Baseline;
            record[8] = 0.0;
            record[9] = 0.0;
            record.AddRange(input.FeatureContributions.Select(c => (object)c));
            record.Add(input.Remainder);
        }

        foreach (SupportAttribution support in explanation.TopSupport)
        {
            record.Add(support.SupportRow);
            record.Add(support.Head);
            record.Add(support.Weight);
            record.Add(support.Influence);
        }

        return record;
    }

    private static void WriteRow(TextWriter output, HopfColeModel model, int row, Explanation explanation, Decomposition parts, InputDecomposition? input)
    {
        Prediction prediction = explanation.Prediction;
        string probability = double.IsNaN(prediction.Probability) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", probability {prediction.Probability:F3}");
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"row {row + 1}: predicted {prediction.PredictedLabel:G6}{probability}"));
        string what = model.Kind == ModelKind.MulticlassClassification ? $"class {prediction.ClassIndex}'s score" : model.Kind == ModelKind.Regression ? "prediction" : "margin (positive minus negative)";
        string features = input is null ? "features" : "terminal coordinates";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what} {parts.Value:G6} = {parts.FeatureContributions.Sum():G6} ({features}) + {parts.BiasTerm:G6} (bias) + {parts.EntropyTerm:G6} (eps·H){(parts.Baseline != 0 ? $" + {parts.Baseline:G6} (label mean)" : string.Empty)}"));
        output.WriteLine("  " + HjMl.Cli.Report.ExplanationSection.Entropy(model, explanation));
        double[] contributions = parts.FeatureContributions;
        IReadOnlyList<string> names = explanation.CoordinateNames;
        if (input is not null)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what} {input.Value:G6} = {input.Baseline:G6} (at the training means) + {input.FeatureContributions.Sum():G6} (features) + {input.Remainder:G2} (quadrature, {input.QuadratureNodes} nodes)"));
            contributions = input.FeatureContributions;
            names = model.FeatureNames;
        }

        int[] order = Enumerable.Range(0, contributions.Length).OrderByDescending(k => Math.Abs(contributions[k])).Take(3).ToArray();
        output.WriteLine("  largest feature contributions: " + string.Join("; ", order.Select(k => string.Create(CultureInfo.InvariantCulture, $"{names[k]} {contributions[k]:+0.###;-0.###}"))));
        output.WriteLine("  carried by: " + string.Join("; ", explanation.TopSupport.Select(s => string.Create(CultureInfo.InvariantCulture, $"{TrainingRows.Name(s.SupportRow)}, head {s.Head}, pi {s.Weight:F3}"))));
    }
}
