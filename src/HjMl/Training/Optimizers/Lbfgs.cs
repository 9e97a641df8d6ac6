using System.Numerics.Tensors;

namespace HjMl.Training.Optimizers;

/// <summary>
/// Limited-memory BFGS on the full batch (Nocedal and Wright, Algorithm 7.4 and 7.5): the two-loop recursion over the
/// last ten steps, a backtracking (Armijo) line search, and a restart from steepest descent when the direction does
/// not descend, when annealing changes eps, or when the loss stalls.
/// </summary>
internal static class Lbfgs
{
    // Curvature pairs kept.
    private const int Memory = 10;

    /// <summary>Minimises <paramref name="objective"/> from <paramref name="parameters"/>, which it updates in place; one iteration per epoch.</summary>
    public static void Minimize(IObjectiveFunction objective, IEpochSchedule schedule, double[] parameters, int maximumEpochs, CancellationToken cancellation)
    {
        int n = parameters.Length;
        var gradient = new double[n];
        var trialGradient = new double[n];
        var direction = new double[n];
        var trial = new double[n];
        var alphas = new double[Memory];
        var steps = new List<double[]>();
        var changes = new List<double[]>();
        double viscosity = schedule.ViscosityAt(1);
        double loss = objective.Evaluate(parameters, viscosity, gradient);
        for (int epoch = 1; epoch <= maximumEpochs; epoch++)
        {
            cancellation.ThrowIfCancellationRequested();
            double nextViscosity = schedule.ViscosityAt(epoch);
            if (nextViscosity != viscosity)
            {
                // Annealing changes the objective: restart the curvature history.
                viscosity = nextViscosity;
                loss = objective.Evaluate(parameters, viscosity, gradient);
                steps.Clear();
                changes.Clear();
            }

            // Two-loop recursion: direction = -H g (Nocedal and Wright, Algorithm 7.4).
            gradient.CopyTo(direction, 0);
            for (int i = steps.Count - 1; i >= 0; i--)
            {
                alphas[i] = TensorPrimitives.Dot<double>(steps[i], direction) / TensorPrimitives.Dot<double>(changes[i], steps[i]);
                TensorPrimitives.MultiplyAdd(changes[i], -alphas[i], direction, direction);
            }

            if (steps.Count > 0)
            {
                double scale = TensorPrimitives.Dot<double>(steps[^1], changes[^1]) / TensorPrimitives.Dot<double>(changes[^1], changes[^1]);
                TensorPrimitives.Multiply(direction, scale, direction);
            }

            for (int i = 0; i < steps.Count; i++)
            {
                double beta = TensorPrimitives.Dot<double>(changes[i], direction) / TensorPrimitives.Dot<double>(changes[i], steps[i]);
                TensorPrimitives.MultiplyAdd(steps[i], alphas[i] - beta, direction, direction);
            }

            TensorPrimitives.Negate(direction, direction);
            double slope = TensorPrimitives.Dot<double>(gradient, direction);
            if (!(slope < 0))
            {
                TensorPrimitives.Negate(gradient, direction);
                slope = -TensorPrimitives.Dot<double>(gradient, gradient);
                steps.Clear();
                changes.Clear();
            }

            double length = steps.Count == 0 ? Math.Min(1, 1 / Math.Max(1e-12, TensorPrimitives.Norm<double>(gradient))) : 1;
            double trialLoss = double.PositiveInfinity;
            for (int attempt = 0; attempt < 30; attempt++)
            {
                TensorPrimitives.MultiplyAdd(direction, length, parameters, trial);
                trialLoss = objective.Evaluate(trial, objective.ViscosityOf(trial, viscosity), trialGradient);
                if (trialLoss <= loss + (1e-4 * length * slope))
                {
                    break;
                }

                length *= 0.5;
            }

            if (!(trialLoss <= loss))
            {
                schedule.EndEpoch(epoch, loss);
                break;
            }

            // The loss no longer moves at double precision: restart from steepest descent once, and stop if that
            // cannot move it either (further line searches would only burn time).
            bool stalled = loss - trialLoss <= 1e-13 * Math.Max(1, Math.Abs(loss));
            bool converged = stalled && steps.Count == 0;

            var step = new double[n];
            var change = new double[n];
            TensorPrimitives.Subtract(trial, parameters, step);
            TensorPrimitives.Subtract(trialGradient, gradient, change);
            if (stalled)
            {
                steps.Clear();
                changes.Clear();
            }
            else if (TensorPrimitives.Dot<double>(step, change) > 1e-12)
            {
                if (steps.Count == Memory)
                {
                    steps.RemoveAt(0);
                    changes.RemoveAt(0);
                }

                steps.Add(step);
                changes.Add(change);
            }

            trial.CopyTo(parameters, 0);
            objective.Project(parameters);
            trialGradient.CopyTo(gradient, 0);
            loss = trialLoss;
            if (schedule.EndEpoch(epoch, loss) || converged)
            {
                break;
            }
        }
    }
}
