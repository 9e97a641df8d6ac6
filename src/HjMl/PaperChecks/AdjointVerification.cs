using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.PaperChecks;

/// <summary>
/// Back-propagation through a residual Gibbs flow is its discrete Pontryagin co-state (THEORY.md section 9), checked
/// two ways on small random problems in double: the adjoint gradient of the training loss (flow and LSE read-out,
/// <see cref="FlowObjective"/>) equals central differences, and the terminal co-state p_L = dL/dz_L the read-out hands
/// the flow equals the softmax residual carried through the read-out's heads. Deterministic for a seed.
/// </summary>
public static class AdjointVerification
{
    /// <summary>Relative tolerance of the adjoint gradient against central differences.</summary>
    public const double GradientTolerance = 1e-6;

    /// <summary>Relative tolerance of the terminal co-state against the softmax-residual formula.</summary>
    public const double CostateTolerance = 1e-12;

    private const int InputDimension = 3;
    private const int Rows = 150;
    private const int ReadoutPieces = 3;
    private const int FlowPieces = 4;
    private const int FlowSteps = 3;
    private const double Horizon = 1.5;
    private const double FlowViscosity = 0.7;
    private const double ReadoutViscosity = 0.4;
    private const double Regularisation = 1e-3;
    private const double DifferenceStep = 1e-3;

    /// <summary>
    /// One row per model kind: the largest gap between the adjoint gradient (every read-out and flow parameter, and
    /// log eps of the read-out) and central differences of the loss, |numeric - adjoint| / max(|numeric|, 1e-3 max |numeric|).
    /// Multiclass runs a lifted flow with per-step controls, binary a lifted flow with shared controls, regression
    /// (squared loss) an unlifted flow with per-step controls.
    /// </summary>
    public static IReadOnlyList<ClaimCheckRow> GradientRows(int seed = 1)
    {
        (ModelKind Kind, bool Lifted, bool Shared)[] cases =
        [
            (ModelKind.MulticlassClassification, true, false),
            (ModelKind.BinaryClassification, true, true),
            (ModelKind.Regression, false, false),
        ];
        var rows = new List<ClaimCheckRow>();
        foreach ((ModelKind kind, bool lifted, bool shared) in cases)
        {
            var random = new Random(unchecked((seed * 31) + (int)kind));
            int m = lifted ? InputDimension + 2 : InputDimension;
            int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
            var shape = new FlowShape(InputDimension, m, FlowSteps, FlowPieces, lifted, shared);
            (double[] inputs, double[] targets, double[] weights) = Problem(random, kind, InputDimension, Rows, heads);
            var readout = new Objective(kind, m, heads, ReadoutPieces, 1, Regularisation, RegressionLoss.Squared, 1, learnViscosity: true);
            var objective = new FlowObjective(readout, shape, Horizon, FlowViscosity, 1, Regularisation);
            double[] parameters = RandomValues.Uniform(random, objective.ParameterCount(false), 0.6);
            var gradient = new double[parameters.Length];
            objective.Evaluate(parameters, ReadoutViscosity, inputs, targets, weights, Rows, gradient, out double viscosityGradient);

            // Fourth-order central differences of every parameter, then of log eps (the read-out's learned viscosity).
            var numeric = new double[parameters.Length + 1];
            for (int i = 0; i < parameters.Length; i++)
            {
                double saved = parameters[i];
                numeric[i] = CentralDifference(step =>
                {
                    parameters[i] = saved + step;
                    double loss = objective.Evaluate(parameters, ReadoutViscosity, inputs, targets, weights, Rows, default, out _);
                    parameters[i] = saved;
                    return loss;
                });
            }

            numeric[^1] = CentralDifference(step => objective.Evaluate(parameters, ReadoutViscosity * Math.Exp(step), inputs, targets, weights, Rows, default, out _));

            double floor = 1e-3 * Math.Abs(TensorPrimitives.MaxMagnitude<double>(numeric));
            double worst = 0;
            for (int i = 0; i < numeric.Length; i++)
            {
                double adjoint = i < parameters.Length ? gradient[i] : viscosityGradient;
                worst = Math.Max(worst, Math.Abs(numeric[i] - adjoint) / Math.Max(Math.Abs(numeric[i]), floor));
            }

            rows.Add(ClaimCheckRow.WithinTolerance(
                "adjoint gradient = central differences",
                $"{KindName(kind)}, {(lifted ? "lifted" : "unlifted")}, {(shared ? "shared" : "per-step")} controls, L = {FlowSteps}, {parameters.Length + 1} parameters, {Rows} rows",
                worst,
                GradientTolerance));
        }

        return rows;
    }

    /// <summary>
    /// One row per classification kind: the largest gap between the read-out's terminal co-state (the
    /// <c>inputGradient</c> of its objective, dL/dz_L of the weighted mean loss) and the formula
    /// p_L = (w_r / sum w) sum_k (softmax_k(f) - e_k) E_pi_k[w] [derived, THEORY.md section 9], computed independently
    /// from the layer's per-head gradients E_pi_k[w]; e is the one-hot label (binary: e = (y, 1 - y), the two-class
    /// softmax). The gap of each row is relative to the size of its terms, (w_r / sum w) sum_k |softmax_k - e_k| |E_pi_k[w]|.
    /// The terminal states are those of a random lifted flow with per-step controls.
    /// </summary>
    public static IReadOnlyList<ClaimCheckRow> TerminalCostateRows(int seed = 1)
    {
        var rows = new List<ClaimCheckRow>();
        foreach (ModelKind kind in (ModelKind[])[ModelKind.MulticlassClassification, ModelKind.BinaryClassification])
        {
            var random = new Random(unchecked((seed * 31) + (int)kind + 7));
            int m = InputDimension + 2;
            int heads = kind == ModelKind.MulticlassClassification ? 3 : 2;
            var shape = new FlowShape(InputDimension, m, FlowSteps, FlowPieces, true, false);
            (double[] inputs, double[] targets, double[] weights) = Problem(random, kind, InputDimension, Rows, heads);
            var flow = new GibbsFlow(shape, Horizon, FlowViscosity, RandomValues.Uniform(random, shape.ParameterCount, 0.6));
            var features = new double[Rows * InputDimension];
            for (int row = 0; row < Rows; row++)
            {
                inputs.AsSpan(row * (InputDimension + 1), InputDimension).CopyTo(features.AsSpan(row * InputDimension));
            }

            var terminal = new double[Rows * m];
            flow.TransportBatch(features, terminal);
            var augmented = new double[Rows * (m + 1)];
            for (int row = 0; row < Rows; row++)
            {
                Objective.Augment(terminal.AsSpan(row * m, m), augmented.AsSpan(row * (m + 1), m + 1));
            }

            var readout = new Objective(kind, m, heads, ReadoutPieces, 1, Regularisation, RegressionLoss.Squared, 1, false);
            double[] parameters = RandomValues.Uniform(random, readout.ParameterCount(false), 0.8);
            var costate = new double[Rows * m];
            readout.Evaluate(parameters, ReadoutViscosity, augmented, targets, weights, Rows, default, out _, costate);

            var layer = new LseLayer<double>(parameters.AsSpan(0, readout.WeightCount), parameters.AsSpan(readout.WeightCount, readout.AllPieces), m, ReadoutViscosity, heads);
            double weightSum = TensorPrimitives.Sum<double>(weights);
            var scores = new double[heads];
            var expectations = new double[heads * m];
            var expected = new double[m];
            double worst = 0;
            for (int row = 0; row < Rows; row++)
            {
                ReadOnlySpan<double> z = terminal.AsSpan(row * m, m);
                for (int head = 0; head < heads; head++)
                {
                    scores[head] = layer.Gradient(z, head, expectations.AsSpan(head * m, m));
                }

                // softmax(f) with the max shift, written out rather than through the library's kernel.
                double largest = scores.Max();
                double normaliser = scores.Sum(score => Math.Exp(score - largest));
                double share = weights[row] / weightSum;
                double scale = 0;
                Array.Clear(expected);
                for (int head = 0; head < heads; head++)
                {
                    double label = kind == ModelKind.BinaryClassification
                        ? (head == 0 ? targets[row] : 1 - targets[row])
                        : (head == (int)targets[row] ? 1 : 0);
                    double residual = share * ((Math.Exp(scores[head] - largest) / normaliser) - label);
                    ReadOnlySpan<double> expectation = expectations.AsSpan(head * m, m);
                    TensorPrimitives.MultiplyAdd(expectation, residual, expected, expected);
                    scale += Math.Abs(residual) * TensorPrimitives.Norm(expectation);
                }

                double gap = TensorPrimitives.Distance<double>(costate.AsSpan(row * m, m), expected);
                worst = Math.Max(worst, gap / Math.Max(scale, double.Epsilon));
            }

            rows.Add(ClaimCheckRow.WithinTolerance(
                "terminal co-state = softmax residual through the read-out",
                $"{KindName(kind)}, K = {heads} heads of N = {ReadoutPieces}, z_L of a lifted flow (m = {m}, L = {FlowSteps}), {Rows} weighted rows",
                worst,
                CostateTolerance));
        }

        return rows;
    }

    // (8 (L(h) - L(-h)) - (L(2h) - L(-2h))) / (12 h): truncation O(h^4), so that the gap measures the adjoint, not the stencil.
    private static double CentralDifference(Func<double, double> loss)
        => ((8 * (loss(DifferenceStep) - loss(-DifferenceStep))) - (loss(2 * DifferenceStep) - loss(-2 * DifferenceStep))) / (12 * DifferenceStep);

    private static string KindName(ModelKind kind) => kind switch
    {
        ModelKind.MulticlassClassification => "multiclass",
        ModelKind.BinaryClassification => "binary",
        _ => "regression",
    };

    // Rows of d features in [-1, 1] and a trailing 1 (the read-out's layout), targets from a fixed rule, weights in [0.5, 1.5].
    internal static (double[] Inputs, double[] Targets, double[] Weights) Problem(Random random, ModelKind kind, int d, int rows, int heads)
    {
        var inputs = new double[rows * (d + 1)];
        var targets = new double[rows];
        var weights = new double[rows];
        for (int row = 0; row < rows; row++)
        {
            double sum = 0;
            for (int k = 0; k < d; k++)
            {
                double value = (2 * random.NextDouble()) - 1;
                inputs[(row * (d + 1)) + k] = value;
                sum += value * (k + 1);
            }

            inputs[(row * (d + 1)) + d] = 1;
            targets[row] = kind switch
            {
                ModelKind.Regression => Math.Sin(sum),
                ModelKind.BinaryClassification => sum > 0 ? 1 : 0,
                _ => Math.Abs((int)Math.Floor(sum * 2)) % heads,
            };
            weights[row] = 0.5 + random.NextDouble();
        }

        return (inputs, targets, weights);
    }
}
