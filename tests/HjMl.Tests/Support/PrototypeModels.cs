using HjMl.Data;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Tests.Support;

/// <summary>
/// Valid <see cref="HopfColeModel"/>s built without a trainer: support points placed on standardised data rows.
/// A support point y with initial value g = 0 is the piece w = y / (2t), b = -|y|^2 / (4t) (THEORY.md section 1, m = 1),
/// so each head is a soft nearest-prototype score: f(x) = |x|^2/(4t) - u(x, t) with u a soft minimum of |x - y_j|^2/(4t).
/// </summary>
public static class PrototypeModels
{
    /// <summary>
    /// A classifier with one head per class, each holding <paramref name="perClass"/> rows of that class drawn with
    /// <paramref name="seed"/>. Two classes give a binary model (head 0 the positive, i.e. larger, label).
    /// </summary>
    public static HopfColeModel Classifier(Dataset data, int perClass, double viscosity, double time = 1.0, int seed = 1)
    {
        FeatureScaling scaling = FeatureScaling.Fit(data);
        double[] labels = data.Labels.ToArray().Distinct().Order().ToArray();
        ModelKind kind = labels.Length == 2 ? ModelKind.BinaryClassification : ModelKind.MulticlassClassification;

        // Binary models put the positive class (classLabels[1]) in head 0 and the negative class in head 1.
        double[] headLabels = kind == ModelKind.BinaryClassification ? [labels[1], labels[0]] : labels;
        int[] order = data.ShuffledRows(seed);
        var rows = new List<int>();
        foreach (double label in headLabels)
        {
            int[] chosen = order.Where(row => data.Labels[row] == label).Take(perClass).ToArray();
            if (chosen.Length != perClass)
            {
                throw new ArgumentException($"Class {label} has {chosen.Length} rows, fewer than {perClass}.", nameof(perClass));
            }

            rows.AddRange(chosen);
        }

        (double[] weights, double[] pieceNorms) = SupportPieces(data, scaling, rows, time);
        double[] biases = pieceNorms.Select(norm => -norm / (4 * time)).ToArray();
        var layer = new LseLayer<double>(weights, biases, data.Columns, viscosity, headLabels.Length);
        return new HopfColeModel(kind, layer, scaling, data.FeatureNames, labels, 0, 1, [.. rows], time);
    }

    /// <summary>
    /// A regression model on <paramref name="pieces"/> rows: both heads hold the same support points, with initial values
    /// -l_j/2 in head 0 and +l_j/2 in head 1 (l_j the standardised label), so the margin f_0 - f_1 interpolates the labels
    /// of nearby support points; the output is LabelMean + LabelScale * margin.
    /// </summary>
    public static HopfColeModel Regression(Dataset data, int pieces, double viscosity, double time = 1.0, int seed = 1)
    {
        FeatureScaling scaling = FeatureScaling.Fit(data);
        double labelMean = data.Labels.ToArray().Average();
        double labelScale = Math.Sqrt(data.Labels.ToArray().Sum(label => (label - labelMean) * (label - labelMean)) / (data.Rows - 1));
        int[] rows = data.ShuffledRows(seed).Take(pieces).ToArray();
        (double[] headWeights, double[] pieceNorms) = SupportPieces(data, scaling, rows, time);
        var biases = new double[2 * pieces];
        for (int j = 0; j < pieces; j++)
        {
            double standardisedLabel = (data.Labels[rows[j]] - labelMean) / labelScale;
            biases[j] = (-pieceNorms[j] / (4 * time)) + (standardisedLabel / 2);
            biases[pieces + j] = (-pieceNorms[j] / (4 * time)) - (standardisedLabel / 2);
        }

        var layer = new LseLayer<double>([.. headWeights, .. headWeights], biases, data.Columns, viscosity, numberOfHeads: 2);
        return new HopfColeModel(ModelKind.Regression, layer, scaling, data.FeatureNames, [], labelMean, labelScale, [.. rows, .. rows], time);
    }

    // w_j = y_j / (2t) for the standardised rows y_j, and |y_j|^2.
    private static (double[] Weights, double[] SquaredNorms) SupportPieces(Dataset data, FeatureScaling scaling, IReadOnlyList<int> rows, double time)
    {
        int d = data.Columns;
        var weights = new double[rows.Count * d];
        var squaredNorms = new double[rows.Count];
        for (int j = 0; j < rows.Count; j++)
        {
            Span<double> y = weights.AsSpan(j * d, d);
            scaling.Apply(data.Row(rows[j]), y);
            squaredNorms[j] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(y, y);
            System.Numerics.Tensors.TensorPrimitives.Divide(y, 2 * time, y);
        }

        return (weights, squaredNorms);
    }
}
