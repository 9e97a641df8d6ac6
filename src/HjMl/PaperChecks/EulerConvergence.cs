using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Numerics;

namespace HjMl.PaperChecks;

/// <summary>
/// First-order convergence of the residual Gibbs flow to the flow it discretises (THEORY.md section 9): with shared
/// controls a <see cref="GibbsFlow"/> is L explicit Euler steps of one time-independent smooth velocity field
/// v(z) = sum_j pi_j(z) u_j, pi = softmax((a_j . z + c_j) / eps), so its terminal state z_L lies within C h + O(h^2) of
/// the exact z(T), h = T / L. The exact state is taken from classical Runge–Kutta (RK4) at
/// <see cref="ReferenceSteps"/> steps, whose O(h^4) error is below rounding; the error's log-log slope in L must be 1.
/// </summary>
/// <param name="Steps">The step counts L of the Euler flows.</param>
/// <param name="Errors">For each L, the largest Euclidean distance |z_L - z(T)| over the starting points.</param>
/// <param name="Slope">The fitted alpha of error ~ C L^(-alpha) (<see cref="ScalingFit"/>); 1 for a first-order method.</param>
public sealed record EulerConvergence(IReadOnlyList<int> Steps, IReadOnlyList<double> Errors, double Slope)
{
    /// <summary>Steps of the RK4 reference.</summary>
    public const int ReferenceSteps = 4096;

    /// <summary>Lowest fitted slope that passes.</summary>
    public const double SlopeLower = 0.9;

    /// <summary>Highest fitted slope that passes.</summary>
    public const double SlopeUpper = 1.1;

    /// <summary>The default step counts L = 4, 8, ..., 256.</summary>
    public static IReadOnlyList<int> DefaultSteps { get; } = [4, 8, 16, 32, 64, 128, 256];

    private const int Width = 3;
    private const int Pieces = 6;
    private const int Points = 16;
    private const double Horizon = 1.0;
    private const double Viscosity = 0.5;

    /// <summary>The claim as a row: the slope against [<see cref="SlopeLower"/>, <see cref="SlopeUpper"/>].</summary>
    public ClaimCheckRow Row => new(
        "Euler convergence: slope of the terminal error in L",
        $"shared controls, m = {Width}, J = {Pieces}, eps = {Viscosity}, T = {Horizon}, L = {Steps[0]}..{Steps[^1]}, RK4 reference ({ReferenceSteps} steps)",
        Slope,
        SlopeLower,
        SlopeUpper);

    /// <summary>
    /// Measures the terminal error of Euler flows with <paramref name="steps"/> steps (default L = 4..256) that share one
    /// set of random controls (keys, offsets and values in [-1, 1]) from random starting points in [-1.5, 1.5]^m.
    /// Deterministic for a seed.
    /// </summary>
    public static EulerConvergence Measure(int seed = 1, IReadOnlyList<int>? steps = null)
    {
        steps ??= DefaultSteps;
        if (steps.Count < 2 || steps.Any(count => count < 1 || ReferenceSteps % count != 0))
        {
            throw new ArgumentException($"steps is [{string.Join(", ", steps)}]; the fit needs at least two step counts, each a divisor of {ReferenceSteps}.", nameof(steps));
        }

        var random = new Random(seed);
        double[] controls = RandomValues.Uniform(random, new FlowShape(Width, Width, 1, Pieces, false, true).ParameterCount, 1);
        double[] starts = RandomValues.Uniform(random, Points * Width, 1.5);

        var exact = new double[Points * Width];
        var field = new VelocityField(controls);
        for (int point = 0; point < Points; point++)
        {
            field.RungeKutta(starts.AsSpan(point * Width, Width), exact.AsSpan(point * Width, Width), ReferenceSteps);
        }

        var errors = new double[steps.Count];
        var terminal = new double[Points * Width];
        for (int i = 0; i < steps.Count; i++)
        {
            // Shared controls: one parameter vector serves every L, so only the step size changes.
            var flow = new GibbsFlow(new FlowShape(Width, Width, steps[i], Pieces, false, true), Horizon, Viscosity, controls);
            flow.TransportBatch(starts, terminal);
            for (int point = 0; point < Points; point++)
            {
                errors[i] = Math.Max(errors[i], TensorPrimitives.Distance<double>(terminal.AsSpan(point * Width, Width), exact.AsSpan(point * Width, Width)));
            }
        }

        ScalingFit fit = ScalingFit.Fit(steps.Select(count => (double)count).ToArray(), errors);
        return new EulerConvergence(steps.ToArray(), errors, fit.Exponent);
    }

    // v(z) = sum_j pi_j(z) u_j with the flow's shared controls (FlowShape layout: keys A, offsets c, values U).
    private sealed class VelocityField(double[] controls)
    {
        private readonly double[] weights = new double[Pieces];

        public void RungeKutta(ReadOnlySpan<double> start, Span<double> end, int steps)
        {
            double h = Horizon / steps;
            start.CopyTo(end);
            Span<double> k1 = stackalloc double[Width], k2 = stackalloc double[Width], k3 = stackalloc double[Width], k4 = stackalloc double[Width];
            Span<double> probe = stackalloc double[Width];
            for (int step = 0; step < steps; step++)
            {
                Evaluate(end, k1);
                TensorPrimitives.MultiplyAdd(k1, h / 2, end, probe);
                Evaluate(probe, k2);
                TensorPrimitives.MultiplyAdd(k2, h / 2, end, probe);
                Evaluate(probe, k3);
                TensorPrimitives.MultiplyAdd(k3, h, end, probe);
                Evaluate(probe, k4);
                for (int k = 0; k < Width; k++)
                {
                    end[k] += h / 6 * (k1[k] + (2 * k2[k]) + (2 * k3[k]) + k4[k]);
                }
            }
        }

        private void Evaluate(ReadOnlySpan<double> state, Span<double> velocity)
        {
            ReadOnlySpan<double> keys = controls.AsSpan(0, Pieces * Width);
            ReadOnlySpan<double> offsets = controls.AsSpan(Pieces * Width, Pieces);
            ReadOnlySpan<double> values = controls.AsSpan((Pieces * Width) + Pieces, Pieces * Width);
            for (int j = 0; j < Pieces; j++)
            {
                weights[j] = TensorPrimitives.Dot(keys.Slice(j * Width, Width), state) + offsets[j];
            }

            LogSumExp.GibbsWeights<double>(weights, Viscosity, weights);
            velocity.Clear();
            for (int j = 0; j < Pieces; j++)
            {
                TensorPrimitives.MultiplyAdd(values.Slice(j * Width, Width), weights[j], velocity, velocity);
            }
        }
    }
}
