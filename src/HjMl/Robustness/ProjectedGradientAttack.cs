using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Robustness;

/// <summary>The outcome of an attack on one row.</summary>
/// <param name="Succeeded">Whether some input within the radius changed the predicted class.</param>
/// <param name="Distance">Standardised distance from the row to the input found (the radius used, or where it succeeded).</param>
/// <param name="Class">The class reached (the predicted one if the attack failed).</param>
public readonly record struct AttackResult(bool Succeeded, double Distance, int Class);

/// <summary>
/// Projected gradient descent on the margins of a classifier, in the model's standardised feature space: for each
/// rival class c, step z against grad (f_pred - f_c) = E_pi_pred[w] - E_pi_c[w] (THEORY.md section 3), project back
/// onto the ball of the given radius, and stop when c wins. An empirical check of certified radii (which no attack may
/// beat) and a measure of how tight they are. With a flow the attack moves the standardised input z_0 and the heads read
/// z_L; the margin's gradient is carried from z_L back to z_0 by the flow's discrete adjoint (THEORY.md section 9).
/// </summary>
public sealed class ProjectedGradientAttack
{
    private readonly HopfColeModel model;
    private readonly LseLayer<double> layer;
    private readonly GibbsFlow? flow;

    /// <summary>Creates an attack on <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The model is a regressor, which has no class to change.</exception>
    public ProjectedGradientAttack(HopfColeModel model, int steps = 60, int rivals = 3)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Kind == ModelKind.Regression)
        {
            throw new ArgumentException("A regression model has no class an attack could change.", nameof(model));
        }

        if (steps < 1 || rivals < 1)
        {
            throw new ArgumentException($"steps ({steps}) and rivals ({rivals}) must be at least 1.", nameof(steps));
        }

        this.model = model;
        layer = model.Layer;
        flow = model.Flow;
        Steps = steps;
        Rivals = rivals;
    }

    /// <summary>Gradient steps per rival class.</summary>
    public int Steps { get; }

    /// <summary>How many rival classes (those with the smallest margins) are attacked.</summary>
    public int Rivals { get; }

    /// <summary>Attacks the row <paramref name="features"/> (raw units) within standardised radius <paramref name="radius"/>.</summary>
    public AttackResult Attack(ReadOnlySpan<double> features, double radius)
    {
        model.ValidateFeatures(features);
        int d = model.InputDimension;
        int heads = layer.NumberOfHeads;
        var origin = new double[d];
        model.Scaling.Apply(features, origin);
        var scores = new double[heads];
        Span<double> terminal = flow is null ? default : new double[flow.Width];
        Span<double> rivalCostate = flow is null ? default : new double[flow.Width];
        FlowInputGradient? adjoint = flow is null ? null : new FlowInputGradient(flow, 1);
        Evaluate(origin, terminal, scores);
        int predicted = TensorPrimitives.IndexOfMax<double>(scores);
        if (!(radius > 0))
        {
            return new AttackResult(false, 0, predicted);
        }

        int[] rivals = Enumerable.Range(0, heads).Where(c => c != predicted).OrderBy(c => scores[predicted] - scores[c]).Take(Rivals).ToArray();
        var z = new double[d];
        var gradient = new double[d];
        var other = new double[d];
        var step = new double[d];
        foreach (int rival in rivals)
        {
            origin.CopyTo(z, 0);
            for (int iteration = 0; iteration < Steps; iteration++)
            {
                if (adjoint is null)
                {
                    layer.Gradient(z, predicted, gradient);
                    layer.Gradient(z, rival, other);
                    TensorPrimitives.Subtract(gradient, other, gradient);
                }
                else
                {
                    MarginGradient(adjoint, z, predicted, rival, rivalCostate, gradient);
                }

                double norm = TensorPrimitives.Norm<double>(gradient);
                if (norm == 0)
                {
                    break;
                }

                // A normalised step of a fraction of the radius that shrinks, then projection onto the ball.
                double size = radius * 2.5 / Steps * (1 + ((Steps - iteration) / (double)Steps));
                TensorPrimitives.MultiplyAdd(gradient, -size / norm, z, z);
                TensorPrimitives.Subtract(z, origin, step);
                double distance = TensorPrimitives.Norm<double>(step);
                if (distance > radius)
                {
                    TensorPrimitives.MultiplyAdd(step, radius / distance, origin, z);
                }

                Evaluate(z, terminal, scores);
                int now = TensorPrimitives.IndexOfMax<double>(scores);
                if (now != predicted)
                {
                    TensorPrimitives.Subtract(z, origin, step);
                    return new AttackResult(true, TensorPrimitives.Norm<double>(step), now);
                }
            }
        }

        return new AttackResult(false, radius, predicted);
    }

    // Every head's score at standardised input z: the layer on z, or on z_L as the model scores it.
    private void Evaluate(ReadOnlySpan<double> z, Span<double> terminal, Span<double> scores)
    {
        if (flow is null)
        {
            layer.Evaluate(z, scores);
            return;
        }

        flow.Transport(z, terminal);
        layer.Evaluate(terminal, scores);
    }

    // grad_z (f_a - f_b) through the flow: p_L = E_pi_a[w] - E_pi_b[w] at z_L (section 3), carried back by the adjoint.
    private void MarginGradient(FlowInputGradient adjoint, ReadOnlySpan<double> z, int a, int b, Span<double> other, Span<double> gradient)
    {
        z.CopyTo(adjoint.Inputs);
        adjoint.Forward(1);
        Span<double> costate = adjoint.Costate(0);
        layer.Gradient(adjoint.Terminal(0), a, costate);
        layer.Gradient(adjoint.Terminal(0), b, other);
        TensorPrimitives.Subtract(costate, other, costate);
        adjoint.Backward(gradient);
    }

    /// <summary>
    /// The smallest radius, on a geometric grid of factors times <paramref name="reference"/> (1.05, 1.1, 1.25, ... up to
    /// 1000), at which the attack succeeds, or +infinity. With the certified radius as reference, its ratio says how
    /// tight the certificate is. Between the last failing and first succeeding factor, six bisection steps refine it.
    /// </summary>
    public double SmallestSuccessfulRadius(ReadOnlySpan<double> features, double reference)
    {
        double[] factors = [1.05, 1.1, 1.25, 1.5, 2, 3, 5, 8, 13, 20, 35, 60, 100, 200, 500, 1000];
        double failed = 1;
        foreach (double factor in factors)
        {
            AttackResult result = Attack(features, reference * factor);
            if (!result.Succeeded)
            {
                failed = factor;
                continue;
            }

            double succeeded = result.Distance;
            double low = reference * failed;
            for (int step = 0; step < 6; step++)
            {
                double middle = 0.5 * (low + succeeded);
                AttackResult probe = Attack(features, middle);
                if (probe.Succeeded)
                {
                    succeeded = probe.Distance;
                }
                else
                {
                    low = middle;
                }
            }

            return succeeded;
        }

        return double.PositiveInfinity;
    }
}
