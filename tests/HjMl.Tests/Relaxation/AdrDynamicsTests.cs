using HjMl.Relaxation;

namespace HjMl.Tests.Relaxation;

public class AdrDynamicsTests
{
    [Theory]
    [InlineData(1, 0.4, -0.3)]
    [InlineData(5, 0.1, 0.2)]
    [InlineData(12, 0.7, 0.0)]
    public void ASineModeDecaysAtItsLatticeEigenvalue(int mode, double diffusion, double reaction)
    {
        // With U = 0 and a zero boundary, sin(pi m (q + 1) / (N + 1)) is an eigenvector of the lattice generator with
        // eigenvalue R - 4 D sin^2(pi m / (2 (N + 1))), so u(t) = exp(t lambda) u(0): the integrator (RK4, steps of 0.05 over
        // the fastest rate, error about 1e-9) and the boundary at once.
        const int n = 20;
        const double time = 1.7;
        var dynamics = new AdrDynamics(Enumerable.Repeat(new AdrCoefficients(0, diffusion, reaction), n).ToArray());
        double[] field = Enumerable.Range(0, n).Select(q => Math.Sin(Math.PI * mode * (q + 1) / (n + 1))).ToArray();
        double half = Math.Sin(Math.PI * mode / (2.0 * (n + 1)));
        double growth = Math.Exp(time * (reaction - (4 * diffusion * half * half)));
        var evolved = new double[n];
        dynamics.Evolve(field, time, evolved);
        for (int q = 0; q < n; q++)
        {
            Assert.Equal(growth * field[q], evolved[q], 1e-7);
        }
    }

    [Fact]
    public void NegativeDiffusionIsRefusedNamingTheSite()
    {
        var problem = Assert.Throws<ArgumentException>(() => new AdrDynamics([new AdrCoefficients(0, 0.1, 0), new AdrCoefficients(0, -0.1, 0)]));
        Assert.Contains("Site 1's coefficients", problem.Message);
    }
}
