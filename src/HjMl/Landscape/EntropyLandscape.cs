using System.Globalization;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Landscape;

/// <summary>
/// The attribution-entropy landscape (THEORY.md section 4): H(pi(x)) over a 2-D plane of input space, its basins
/// (local minima), and how they merge as the viscosity eps grows.
/// </summary>
/// <remarks>
/// <para>
/// <b>Algorithm.</b> The layer is restricted exactly to the plane (<see cref="LandscapePlane.Restrict"/>) and a descent
/// starts from every point of an n x n grid: quasi-Newton (BFGS) steps along grad_x log H, with grad_x H =
/// -Cov_pi(w, z) / eps^2 (THEORY.md section 4; <see cref="LseLayer{T}.EntropyGradient"/>), then a compass search that
/// needs no gradient and confirms the end is lower than its 8 neighbours. A step is refused if it would cross a
/// ridge: where the segment passes from one piece's tropical cell into another's (the exact breakpoints of the upper
/// envelope of the affine logits along it), log H must not rise above the start. Ends no ridge separates are one
/// basin; its area is the fraction of grid points that drain into it. Ends stopped by the window's edge are not
/// basins (their minimum lies outside), and when following the predicted head, neither are ends on a decision
/// boundary (there H jumps from one head's entropy to another's, and no head's entropy is stationary). Everything is
/// compared in log H, computed so that it stays finite where H underflows to 0 (deep inside a piece's cell at small
/// eps): there H is otherwise exactly 0 on whole regions and its minima vanish into flat plateaus. Descents run in
/// parallel but each is independent, so results are deterministic.
/// </para>
/// <para>
/// <b>Why not just the grid's local minima.</b> A grid point lower than its 8 neighbours finds wide basins only. At
/// small eps a basin is a narrow kink (log H is nearly -(smallest logit gap) / eps, piecewise linear, lowest where
/// several gaps tie), and on data the grid then misses basins at small eps that it resolves at larger eps, so the
/// measured count rose with eps; plain gradient descent stalled on the kinks, and unguarded steps jumped thin ridges
/// into other basins. Each of these made counts along a sweep non-monotone where the landscape itself was not.
/// </para>
/// <para>
/// <b>What to expect.</b> dH/deps = Var_pi(z)/eps^3 &gt;= 0 (THEORY.md section 4): entropy never falls as eps grows,
/// and the landscape flattens. At small eps a piece whose cell is bounded (its weight vector lies inside the convex
/// hull of the others') has a basin inside its cell; pieces on the hull have unbounded cells in which H keeps falling
/// outward, so they have none. As eps grows, basins meet saddles and vanish (fold bifurcations). For large eps,
/// H = log N - Var_uniform(z(x)) / (2 eps^2) + O(eps^-3) is concave in x ([derived]: the variance of affine logits is
/// a convex quadratic), so a single head keeps no interior basin once eps exceeds the spread of its logits over the
/// window: the count ends at 0, not 1. The count is of basins inside the window: a basin can also leave it (or, in
/// principle, enter it) as it moves with eps, and following the predicted head, decision regions move too. The paper's
/// critical scale eps* = N^(-1/d) is reported beside the sweep for reference.
/// </para>
/// </remarks>
public static class EntropyLandscape
{
    /// <summary>The default number of grid points per side.</summary>
    public const int DefaultGridSize = 41;

    /// <summary>The default cap on gradient-descent steps from each grid point.</summary>
    public const int DefaultDescentSteps = 200;

    /// <summary>
    /// Sweeps eps over <paramref name="viscosities"/> (strictly increasing, all &gt; 0) and finds the basins of H on
    /// <paramref name="plane"/> at each; the layer's own eps is ignored (<see cref="LseLayer{T}.WithViscosity"/>).
    /// </summary>
    /// <param name="layer">The layer.</param>
    /// <param name="plane">A plane in the layer's input space.</param>
    /// <param name="viscosities">The sweep, strictly increasing, each finite and &gt; 0.</param>
    /// <param name="head">The head whose entropy is drawn, or null for the predicted head argmax_k f_k(x) at each point.</param>
    /// <param name="gridSize">Grid points per side, 5 to 2001.</param>
    /// <param name="descentSteps">The cap on gradient-descent steps from each grid point.</param>
    /// <param name="progress">Receives each level as it is finished.</param>
    /// <param name="cancellation">Stops the sweep between viscosities.</param>
    /// <exception cref="ArgumentException">The plane is in another dimension, the sweep is empty, not increasing or has an eps &lt;= 0 or NaN, the head is out of range, or the grid or steps are out of range.</exception>
    public static LandscapeSweep Sweep(LseLayer<double> layer, LandscapePlane plane, IReadOnlyList<double> viscosities, int? head = null, int gridSize = DefaultGridSize, int descentSteps = DefaultDescentSteps, IProgress<LandscapeLevel>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(plane);
        ArgumentNullException.ThrowIfNull(viscosities);
        ValidateSweep(viscosities);
        ValidateSettings(layer, head, gridSize, descentSteps);
        LseLayer<double> restricted = plane.Restrict(layer);
        var levels = new List<LandscapeLevel>(viscosities.Count);
        var merges = new List<BasinMerge>();
        foreach (double viscosity in viscosities)
        {
            cancellation.ThrowIfCancellationRequested();
            LandscapeLevel level = FindBasins(restricted.WithViscosity(viscosity), plane, head, gridSize, descentSteps);
            if (levels.Count > 0 && level.Count < levels[^1].Count)
            {
                merges.Add(new BasinMerge(levels[^1].Viscosity, viscosity, levels[^1].Count, level.Count));
            }

            levels.Add(level);
            progress?.Report(level);
        }

        return new LandscapeSweep(plane, head, gridSize, CriticalViscosity(layer), levels, merges);
    }

    /// <summary>
    /// Sweeps the landscape of <paramref name="model"/> on the principal-component plane of <paramref name="features"/>
    /// (raw rows, standardised with the model's scaling; see <see cref="LandscapePlane.ForModel"/>).
    /// </summary>
    public static LandscapeSweep Sweep(HopfColeModel model, ReadOnlySpan<double> features, IReadOnlyList<double> viscosities, int? head = null, int gridSize = DefaultGridSize, int descentSteps = DefaultDescentSteps, IProgress<LandscapeLevel>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.RequireSingleLayer("The entropy landscape");
        return Sweep(model.Layer, LandscapePlane.ForModel(model, features), viscosities, head, gridSize, descentSteps, progress, cancellation);
    }

    /// <summary>The basins of H on <paramref name="plane"/> at the layer's own eps (which must be &gt; 0).</summary>
    /// <exception cref="ArgumentException">eps = 0 (H is then piecewise constant and has no isolated minima), or a setting is out of range.</exception>
    public static LandscapeLevel Basins(LseLayer<double> layer, LandscapePlane plane, int? head = null, int gridSize = DefaultGridSize, int descentSteps = DefaultDescentSteps)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(plane);
        ValidateSweep([layer.Viscosity]);
        ValidateSettings(layer, head, gridSize, descentSteps);
        return FindBasins(plane.Restrict(layer), plane, head, gridSize, descentSteps);
    }

    /// <summary>H on the n x n grid of <paramref name="plane"/> at the layer's eps, for drawing the landscape.</summary>
    public static LandscapeSurface Surface(LseLayer<double> layer, LandscapePlane plane, int? head = null, int gridSize = DefaultGridSize)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(plane);
        ValidateSettings(layer, head, gridSize, 0);
        var surface = new PlaneSurface(plane.Restrict(layer), plane, head, gridSize);
        (double[] logEntropy, int[] heads) = surface.Evaluate();
        double[] entropy = Array.ConvertAll(logEntropy, Math.Exp);
        return new LandscapeSurface(layer.Viscosity, surface.Coordinates(0), surface.Coordinates(1), entropy, logEntropy, heads);
    }

    /// <summary><paramref name="steps"/> viscosities from <paramref name="from"/> to <paramref name="to"/>, equally spaced in log eps.</summary>
    /// <exception cref="ArgumentException">from or to not finite and &gt; 0, from &gt;= to, or fewer than 2 steps.</exception>
    public static double[] GeometricViscosities(double from, double to, int steps)
    {
        if (!(from > 0) || !double.IsFinite(from) || !(to > from) || !double.IsFinite(to))
        {
            throw new ArgumentException($"The sweep from {from} to {to} is not a range of positive viscosities (it needs 0 < from < to, both finite).", nameof(from));
        }

        if (steps < 2)
        {
            throw new ArgumentException($"steps is {steps}; a sweep needs at least 2.", nameof(steps));
        }

        var values = new double[steps];
        double ratio = Math.Log(to / from) / (steps - 1);
        for (int i = 0; i < steps; i++)
        {
            values[i] = from * Math.Exp(ratio * i);
        }

        values[^1] = to;
        return values;
    }

    /// <summary>eps* = N^(-1/d), the paper's critical scale, for N pieces per head and the layer's input dimension d (THEORY.md section 4).</summary>
    public static double CriticalViscosity(LseLayer<double> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return Math.Pow(layer.NumberOfPieces, -1.0 / layer.InputDimension);
    }

    private static void ValidateSweep(IReadOnlyList<double> viscosities)
    {
        if (viscosities.Count == 0)
        {
            throw new ArgumentException("viscosities is empty; the sweep needs at least one eps.", nameof(viscosities));
        }

        for (int i = 0; i < viscosities.Count; i++)
        {
            double viscosity = viscosities[i];
            if (!(viscosity > 0) || !double.IsFinite(viscosity))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"viscosities[{i}] is {viscosity}; the landscape needs a finite eps > 0 (at eps = 0 the entropy is piecewise constant and has no isolated minima)."),
                    nameof(viscosities));
            }

            if (i > 0 && !(viscosity > viscosities[i - 1]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"viscosities[{i}] = {viscosity} does not exceed viscosities[{i - 1}] = {viscosities[i - 1]}; the sweep must increase strictly."), nameof(viscosities));
            }
        }
    }

    private static void ValidateSettings(LseLayer<double> layer, int? head, int gridSize, int descentSteps)
    {
        if (head is int chosen)
        {
            Guard.Index(chosen, layer.NumberOfHeads, nameof(head), "heads");
        }

        if (gridSize < 5 || gridSize > 2001)
        {
            throw new ArgumentException($"gridSize is {gridSize}; it must be between 5 and 2001 points per side.", nameof(gridSize));
        }

        if (descentSteps < 0)
        {
            throw new ArgumentException($"descentSteps is {descentSteps}; it must be >= 0.", nameof(descentSteps));
        }
    }

    private static LandscapeLevel FindBasins(LseLayer<double> restricted, LandscapePlane plane, int? head, int gridSize, int descentSteps)
        => new PlaneSurface(restricted, plane, head, gridSize).FindBasins(descentSteps);
}

/// <summary>H on a grid of a plane, for drawing: <c>Entropy[i * n + j]</c> is H at (U[i], V[j]).</summary>
/// <param name="Viscosity">eps.</param>
/// <param name="U">The grid's u coordinates.</param>
/// <param name="V">The grid's v coordinates.</param>
/// <param name="Entropy">H at each grid point, u-major.</param>
/// <param name="LogEntropy">log H at each grid point (finite where H underflows).</param>
/// <param name="Heads">The head drawn at each grid point.</param>
public sealed record LandscapeSurface(double Viscosity, IReadOnlyList<double> U, IReadOnlyList<double> V, IReadOnlyList<double> Entropy, IReadOnlyList<double> LogEntropy, IReadOnlyList<int> Heads)
{
    /// <summary>Writes u,v,entropy,log_entropy,head rows (round-trip numbers), one per grid point.</summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine("u,v,entropy,log_entropy,head");
        int n = V.Count;
        for (int i = 0; i < U.Count; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int k = (i * n) + j;
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{U[i]:R},{V[j]:R},{Entropy[k]:R},{LogEntropy[k]:R},{Heads[k]}"));
            }
        }
    }
}
