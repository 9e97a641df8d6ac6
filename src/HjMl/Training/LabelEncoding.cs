using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>Maps labels to targets: standardised values (regression), 0/1 (binary), class indices (multiclass).</summary>
internal sealed class LabelEncoding
{
    /// <summary>The class label values in increasing order (binary: negative, positive); empty for regression.</summary>
    public double[] Classes { get; private init; } = [];

    /// <summary>Regression: the labels' mean.</summary>
    public double Mean { get; private init; }

    /// <summary>Regression: the labels' sample standard deviation (1 when they are all equal).</summary>
    public double Scale { get; private init; } = 1;

    /// <summary>The kind of model the targets are for.</summary>
    public ModelKind Kind { get; private init; }

    /// <summary>Fits the encoding to <paramref name="data"/>'s labels; a classifier needs at least two classes.</summary>
    /// <exception cref="ArgumentException">The labels cannot train this kind of model (the message names the column).</exception>
    public static LabelEncoding Fit(Dataset data, ModelKind kind)
    {
        ReadOnlySpan<double> labels = data.Labels;
        if (kind == ModelKind.Regression)
        {
            double mean = TensorPrimitives.Sum(labels) / labels.Length;
            double variance = 0;
            foreach (double label in labels)
            {
                variance += (label - mean) * (label - mean);
            }

            double scale = Math.Sqrt(variance / Math.Max(1, labels.Length - 1));
            return new LabelEncoding { Kind = kind, Mean = mean, Scale = scale > 0 ? scale : 1 };
        }

        double[] classes = labels.ToArray().Distinct().Order().ToArray();
        if (classes.Length < 2)
        {
            throw new ArgumentException($"The label column '{data.LabelName}' holds a single class ({classes[0]}) in all {labels.Length} rows; classification needs at least two.", nameof(data));
        }

        if (kind == ModelKind.BinaryClassification && classes.Length != 2)
        {
            throw new ArgumentException($"The label column '{data.LabelName}' holds {classes.Length} classes ({string.Join(", ", classes.Take(10))}); binary classification needs exactly two (use multiclass).", nameof(data));
        }

        if (classes.Length > 1000)
        {
            throw new ArgumentException($"The label column '{data.LabelName}' holds {classes.Length} distinct values; that looks like a regression target, not classes.", nameof(data));
        }

        return new LabelEncoding { Kind = kind, Classes = classes };
    }

    /// <summary>The target of one label: (label - mean) / scale, or the label's class index.</summary>
    public double Encode(double label) => Kind == ModelKind.Regression ? (label - Mean) / Scale : Array.BinarySearch(Classes, label);
}
