using System.Globalization;

namespace HjMl.Relaxation;

/// <summary>Advection U, diffusion D and reaction R of u_t = -U u_q + D u_qq + R u at one site (lattice units: dq = 1).</summary>
/// <param name="Advection">U, the transport speed (sites per unit time, positive to the right).</param>
/// <param name="Diffusion">D.</param>
/// <param name="Reaction">R, the growth rate.</param>
public readonly record struct AdrCoefficients(double Advection, double Diffusion, double Reaction)
{
    /// <summary>
    /// Reads (U, D, R) from the moments of a one-step kernel K of time step dt by its cumulants: log M0 = R dt,
    /// M1 / M0 = -U dt (the mean displacement), M2 / M0 - (M1 / M0)^2 = 2 D dt (the variance) [derived: the kernel of
    /// exp(dt L) has cumulant generating function dt sum_r w_r e^(s r) for the generator's weights w, whose moments are
    /// R, -U and 2D; THEORY.md section 10, step moments as dynamics]. To first order in dt this is M0 = 1 + R dt, M1 = -U dt, M2 = 2 D dt.
    /// </summary>
    /// <exception cref="ArgumentException">M0 &lt;= 0 (no positive kernel), dt &lt;= 0, or a moment is not finite.</exception>
    public static AdrCoefficients FromStepMoments(double reaction, double advection, double diffusion, double timeStep)
    {
        if (!(timeStep > 0) || !double.IsFinite(timeStep))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The time step is {timeStep}; it must be finite and > 0."), nameof(timeStep));
        }

        if (!(reaction > 0) || !double.IsFinite(reaction) || !double.IsFinite(advection) || !double.IsFinite(diffusion))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The step's moments are M0 = {reaction}, M1 = {advection}, M2 = {diffusion}; a cumulant reading needs finite moments and M0 > 0."), nameof(reaction));
        }

        double mean = advection / reaction;
        return new AdrCoefficients(-mean / timeStep, ((diffusion / reaction) - (mean * mean)) / (2 * timeStep), Math.Log(reaction) / timeStep);
    }
}

/// <summary>
/// Known advection–diffusion–reaction dynamics on a line of sites with zero (Dirichlet) boundary, the data source of
/// the recovery experiment: du/dt = L u, (L u)_q = R_q u_q - U_q (u_{q+1} - u_{q-1}) / 2 + D_q (u_{q+1} - 2 u_q + u_{q-1}),
/// integrated by classical Runge–Kutta with steps small against the fastest rate (the generator's weights have the
/// moments R, -U and 2D per site, THEORY.md section 10).
/// </summary>
public sealed class AdrDynamics
{
    private readonly AdrCoefficients[] sites;

    /// <summary>Dynamics with the given coefficients per site.</summary>
    /// <exception cref="ArgumentException">There are no sites, or a coefficient is not finite or D &lt; 0.</exception>
    public AdrDynamics(IReadOnlyList<AdrCoefficients> coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        if (coefficients.Count == 0)
        {
            throw new ArgumentException("The dynamics need at least one site.", nameof(coefficients));
        }

        for (int q = 0; q < coefficients.Count; q++)
        {
            AdrCoefficients c = coefficients[q];
            if (!double.IsFinite(c.Advection) || !double.IsFinite(c.Reaction) || !(c.Diffusion >= 0) || !double.IsFinite(c.Diffusion))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Site {q}'s coefficients are {c}; U and R must be finite and D finite and >= 0."), nameof(coefficients));
            }
        }

        sites = [.. coefficients];
    }

    /// <summary>N, the sites.</summary>
    public int Sites => sites.Length;

    /// <summary>The coefficients per site.</summary>
    public IReadOnlyList<AdrCoefficients> Coefficients => sites;

    /// <summary>Writes u(t + <paramref name="time"/>) of u(t) = <paramref name="state"/> to <paramref name="result"/>.</summary>
    public void Evolve(ReadOnlySpan<double> state, double time, Span<double> result)
    {
        Guard.Length(state, Sites, nameof(state), "the dynamics");
        Guard.AtLeast(result, Sites, nameof(result), "the dynamics");
        double rate = sites.Max(c => Math.Abs(c.Reaction) + (4 * c.Diffusion) + Math.Abs(c.Advection));
        int steps = Math.Max(1, (int)Math.Ceiling(time * rate / 0.05));
        double h = time / steps;
        int n = Sites;
        var u = state.ToArray();
        var k1 = new double[n];
        var k2 = new double[n];
        var k3 = new double[n];
        var k4 = new double[n];
        var stage = new double[n];
        for (int step = 0; step < steps; step++)
        {
            Generator(u, k1);
            Stage(u, k1, 0.5 * h, stage);
            Generator(stage, k2);
            Stage(u, k2, 0.5 * h, stage);
            Generator(stage, k3);
            Stage(u, k3, h, stage);
            Generator(stage, k4);
            for (int q = 0; q < n; q++)
            {
                u[q] += h / 6 * (k1[q] + (2 * k2[q]) + (2 * k3[q]) + k4[q]);
            }
        }

        u.CopyTo(result);
    }

    // (L u)_q with u = 0 beyond the ends.
    private void Generator(ReadOnlySpan<double> u, Span<double> result)
    {
        int n = u.Length;
        for (int q = 0; q < n; q++)
        {
            double left = q > 0 ? u[q - 1] : 0;
            double right = q < n - 1 ? u[q + 1] : 0;
            AdrCoefficients c = sites[q];
            result[q] = (c.Reaction * u[q]) - (0.5 * c.Advection * (right - left)) + (c.Diffusion * (right - (2 * u[q]) + left));
        }
    }

    private static void Stage(ReadOnlySpan<double> u, ReadOnlySpan<double> slope, double h, Span<double> result)
    {
        for (int q = 0; q < u.Length; q++)
        {
            result[q] = u[q] + (h * slope[q]);
        }
    }
}
