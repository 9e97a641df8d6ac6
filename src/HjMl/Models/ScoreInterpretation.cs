using System.Numerics.Tensors;
using HjMl.Numerics;

namespace HjMl.Models;

/// <summary>How scores with <see cref="HopfColeModel.Score(ReadOnlySpan{double}, Span{double})"/>'s convention turn into a prediction; shared by models and ensembles.</summary>
internal static class ScoreInterpretation
{
    /// <summary>The number of scores per row for a kind: K for multiclass, 1 otherwise.</summary>
    public static int OutputLength(ModelKind kind, int classes) => kind == ModelKind.MulticlassClassification ? classes : 1;

    /// <summary>
    /// Regression: the value. Binary: the margin, P(positive) = sigmoid(margin), positive iff margin &gt; 0. Multiclass:
    /// the largest class score (the first on ties) and softmax probabilities, written to <paramref name="probabilities"/> if it holds K.
    /// </summary>
    public static Prediction Interpret(ModelKind kind, IReadOnlyList<double> classLabels, ReadOnlySpan<double> scores, Span<double> probabilities)
    {
        switch (kind)
        {
            case ModelKind.Regression:
                return new Prediction(scores[0], double.NaN, -1, scores[0]);
            case ModelKind.BinaryClassification:
                double probability = HopfColeModel.Sigmoid(scores[0]);
                int positive = scores[0] > 0 ? 1 : 0;
                return new Prediction(scores[0], probability, positive, classLabels[positive]);
            default:
                int classes = classLabels.Count;
                int best = TensorPrimitives.IndexOfMax(scores[..classes]);
                Span<double> softmax = probabilities.Length >= classes ? probabilities[..classes] : stackalloc double[classes];
                LogSumExp.GibbsWeights(scores[..classes], 1.0, softmax);
                return new Prediction(scores[best], softmax[best], best, classLabels[best]);
        }
    }
}
