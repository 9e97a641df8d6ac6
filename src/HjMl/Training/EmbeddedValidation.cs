using System.Numerics.Tensors;
using HjMl.Evaluation;
using HjMl.Flows;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// Validation of a periodic embedding alone before the read-out (depth 0) in one pass over the held-out rows: the loss
/// exactly as the trainer's objective computes it on its fused double path (<see cref="EmbeddedObjective{T}"/>, plus
/// lambda/2 |embedding|^2), and the accuracy or R^2 from the scores that pass leaves, where
/// <see cref="TrainingObjective.Validate"/> would carry the rows through the flow a second time to score them.
/// </summary>
internal sealed class EmbeddedValidation
{
    private readonly EmbeddedObjective<double> objective;
    private readonly ModelKind kind;
    private readonly int heads;
    private readonly int readoutLength;
    private readonly int embeddingLength;
    private readonly double regularisation;
    private double[] scores = [];

    private EmbeddedValidation(HopfColeTrainerOptions options, int heads, FlowShape shape, Embeddings.EmbeddingShape embedding)
    {
        kind = options.Kind;
        this.heads = heads;
        regularisation = options.L2Regularisation;
        readoutLength = heads * options.NumberOfSupportPoints * (shape.Width + 1);
        embeddingLength = shape.ParameterCount;
        int threads = options.MaximumDegreeOfParallelism == 0 ? Environment.ProcessorCount : options.MaximumDegreeOfParallelism;
        var loss = new ReadoutLoss(options.Kind, heads, options.NumberOfSupportPoints, options.L2Regularisation, options.RegressionLoss, options.HuberDelta, LearnViscosity: false, SinglePrecision: false);
        objective = new EmbeddedObjective<double>(loss, embedding, threads);
    }

    /// <summary>
    /// The validation for a run of <paramref name="options"/> whose flow has <paramref name="shape"/>, when the trainer's
    /// objective takes the fused path (an embedding without steps and a viscosity that is not learned); else null.
    /// </summary>
    public static EmbeddedValidation? For(HopfColeTrainerOptions options, int heads, FlowShape? shape)
        => shape is { Steps: 0, Embedding: { } embedding } && options.ViscosityMode != ViscosityMode.Learned
            ? new EmbeddedValidation(options, heads, shape.Value, embedding)
            : null;

    /// <summary>The loss of theta on <paramref name="rows"/> at <paramref name="viscosity"/> and the accuracy (classifiers) or R^2 (regression) of its scores.</summary>
    public (double Loss, double Metric) Validate(double[] parameters, double viscosity, TrainingBlock rows)
    {
        int length = ScoreInterpretation.OutputLength(kind, heads) * rows.Rows;
        if (scores.Length < length)
        {
            scores = new double[length];
        }

        ReadOnlySpan<double> embedding = parameters.AsSpan(readoutLength, embeddingLength);
        double loss = objective.Evaluate(parameters.AsSpan(0, readoutLength), embedding, viscosity, rows.Inputs, rows.Targets, rows.Weights, rows.Rows, default, default, scores);
        loss += 0.5 * regularisation * TensorPrimitives.Dot(embedding, embedding);
        double[] classes = kind == ModelKind.Regression ? [] : [.. Enumerable.Range(0, heads).Select(c => (double)c)];
        return (loss, ModelMetrics.FromScores(kind, classes, scores.AsSpan(0, length), rows.Targets.AsSpan(0, rows.Rows)).Primary);
    }
}
