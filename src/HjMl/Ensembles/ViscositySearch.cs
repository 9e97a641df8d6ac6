using System.Globalization;
using System.Numerics.Tensors;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Numerics;

namespace HjMl.Ensembles;

/// <summary>One viscosity the search tried.</summary>
/// <param name="Viscosity">eps.</param>
/// <param name="ValidationLoss">The ensemble's loss on the validation rows (see <see cref="ViscosityEnsemble"/>).</param>
/// <param name="ValidationMetric">Accuracy (classifiers) or R^2 (regression) on the validation rows.</param>
public sealed record ViscosityCandidate(double Viscosity, double ValidationLoss, double ValidationMetric);

/// <summary>
/// Chooses an ensemble's eps on held-out rows: the grid (the caller's, or 0 and a log-spaced range scaled to the
/// spread of what eps divides), the validation loss of a combination at each eps, and the eps of least loss.
/// </summary>
internal static class ViscositySearch
{
    // The automatic grid: this many values from 1e-3 to 1e3 times the spread, with 0 in front.
    private const int GridSteps = 31;

    /// <summary>Fills <paramref name="scores"/> (rows x outputs) with the ensemble's validation scores at an eps.</summary>
    public delegate void Combiner(double viscosity, double[] scores);

    /// <summary>
    /// Tries every eps of <paramref name="grid"/>: combines the members there with <paramref name="combine"/> and
    /// measures the loss and primary metric on the validation labels. Returns every candidate and the index of the
    /// least loss (the first, so the smallest eps, on ties).
    /// </summary>
    public static (ViscosityCandidate[] Candidates, int Chosen) Run(double[] grid, Combiner combine, ModelKind kind, IReadOnlyList<double> classLabels, ReadOnlySpan<double> labels, int[] truth, double labelScale, int outputs)
    {
        var candidates = new ViscosityCandidate[grid.Length];
        var ensembleScores = new double[labels.Length * outputs];
        for (int i = 0; i < grid.Length; i++)
        {
            combine(grid[i], ensembleScores);
            double loss = Loss(kind, ensembleScores, labels, truth, labelScale);
            double metric = ModelMetrics.FromScores(kind, classLabels, ensembleScores, labels).Primary;
            candidates[i] = new ViscosityCandidate(grid[i], loss, metric);
        }

        int chosen = 0;
        for (int i = 1; i < candidates.Length; i++)
        {
            if (candidates[i].ValidationLoss < candidates[chosen].ValidationLoss)
            {
                chosen = i;
            }
        }

        return (candidates, chosen);
    }

    /// <summary>The caller's grid, checked, without repeats, in increasing order.</summary>
    /// <exception cref="ArgumentException">The grid is empty or holds a value &lt; 0, NaN or infinite.</exception>
    public static double[] ValidateGrid(IReadOnlyList<double> viscosities)
    {
        if (viscosities.Count == 0)
        {
            throw new ArgumentException("viscosities is empty; the search needs at least one eps.", nameof(viscosities));
        }

        for (int i = 0; i < viscosities.Count; i++)
        {
            if (double.IsNaN(viscosities[i]) || viscosities[i] < 0 || double.IsInfinity(viscosities[i]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"viscosities[{i}] is {viscosities[i]}; every eps must be finite and >= 0 (0 selects the best member)."), nameof(viscosities));
            }
        }

        return [.. viscosities.Distinct().Order()];
    }

    /// <summary>
    /// The default grid: 0, then <see cref="GridSteps"/> values from 1e-3 to 1e3 times the spread of what eps divides
    /// (the losses for Gibbs weights; for pooling, the members' spread of the pooled quantity, averaged over rows).
    /// </summary>
    /// <param name="combination">The combination the grid is for.</param>
    /// <param name="losses">L_k, the members' validation losses.</param>
    /// <param name="memberScores">Every member's scores on every validation row, [row][member][output].</param>
    /// <param name="rows">Validation rows.</param>
    /// <param name="count">K, the members.</param>
    /// <param name="outputs">Scores per row.</param>
    /// <param name="kind">The members' kind.</param>
    /// <param name="labelScale">Regression: the unit of eps for pooling.</param>
    public static double[] AutomaticGrid(EnsembleCombination combination, double[] losses, double[] memberScores, int rows, int count, int outputs, ModelKind kind, double labelScale)
    {
        double spread;
        if (combination == EnsembleCombination.GibbsWeights)
        {
            spread = TensorPrimitives.Max<double>(losses) - TensorPrimitives.Min<double>(losses);
        }
        else
        {
            double sum = 0;
            var column = new double[count];
            for (int row = 0; row < rows; row++)
            {
                for (int c = 0; c < outputs; c++)
                {
                    for (int k = 0; k < count; k++)
                    {
                        column[k] = memberScores[(((row * count) + k) * outputs) + c];
                    }

                    sum += TensorPrimitives.Max<double>(column) - TensorPrimitives.Min<double>(column);
                }
            }

            spread = sum / (rows * outputs) / (kind == ModelKind.Regression ? labelScale : 1);
        }

        if (!(spread > 0) || !double.IsFinite(spread))
        {
            spread = 1;
        }

        var grid = new double[GridSteps + 1];
        for (int i = 0; i < GridSteps; i++)
        {
            grid[i + 1] = spread * Math.Pow(10, -3 + (6.0 * i / (GridSteps - 1)));
        }

        return grid;
    }

    /// <summary>Class index of each label (-1 for regression).</summary>
    /// <exception cref="ArgumentException">A label is none of the member's classes (the message names its row).</exception>
    public static int[] TruthIndices(ModelKind kind, IReadOnlyList<double> classLabels, ReadOnlySpan<double> labels)
    {
        var truth = new int[labels.Length];
        if (kind == ModelKind.Regression)
        {
            truth.AsSpan().Fill(-1);
            return truth;
        }

        for (int row = 0; row < labels.Length; row++)
        {
            int index = -1;
            for (int c = 0; c < classLabels.Count; c++)
            {
                index = classLabels[c] == labels[row] ? c : index;
            }

            if (index < 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Validation row {row + 1} has label {labels[row]}, which is none of the members' classes [{string.Join(", ", classLabels)}]."), nameof(labels));
            }

            truth[row] = index;
        }

        return truth;
    }

    /// <summary>The population standard deviation of the labels (1 when they are all equal, so eps keeps a unit).</summary>
    public static double LabelDeviation(ReadOnlySpan<double> labels)
    {
        double mean = TensorPrimitives.Sum(labels) / labels.Length;
        double sum = 0;
        foreach (double label in labels)
        {
            sum += (label - mean) * (label - mean);
        }

        double deviation = Math.Sqrt(sum / labels.Length);
        return deviation > 0 ? deviation : 1;
    }

    /// <summary>Mean loss of row-major scores: log-loss for classifiers, mean squared error over the labels' variance for regression.</summary>
    public static double Loss(ModelKind kind, ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int[] truth, double labelScale)
    {
        double total = 0;
        int rows = labels.Length;
        Span<double> pair = stackalloc double[2];
        if (kind == ModelKind.Regression)
        {
            for (int row = 0; row < rows; row++)
            {
                double error = scores[row] - labels[row];
                total += error * error;
            }

            return total / rows / (labelScale * labelScale);
        }

        if (kind == ModelKind.BinaryClassification)
        {
            for (int row = 0; row < rows; row++)
            {
                // -log sigmoid(+/-m) = log(1 + exp(-/+m)) = LSE(0, -/+m), max-shifted by the kernel.
                pair[0] = 0;
                pair[1] = truth[row] == 1 ? -scores[row] : scores[row];
                total += LogSumExp.Evaluate<double>(pair, 1.0, pair);
            }

            return total / rows;
        }

        int classes = scores.Length / rows;
        var work = new double[classes];
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<double> classScores = scores.Slice(row * classes, classes);
            total += LogSumExp.Evaluate(classScores, 1.0, work) - classScores[truth[row]];
        }

        return total / rows;
    }
}
