namespace HjMl.Relaxation;

/// <summary>Settings of <see cref="OverRelaxationSweep"/>.</summary>
public sealed record OverRelaxationSettings
{
    /// <summary>The relaxation factors swept. Default 0.5, 0.6, ..., 1.5.</summary>
    public IReadOnlyList<double> Factors { get; init; } = [.. Enumerable.Range(0, 11).Select(i => Math.Round(0.5 + (0.1 * i), 2))];

    /// <summary>The depths trained. Default 1, 2, 4, 8, 16.</summary>
    public IReadOnlyList<int> Depths { get; init; } = [1, 2, 4, 8, 16];

    /// <summary>Seeds of the training runs. Default 1, 2, 3.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [1, 2, 3];

    /// <summary>N, the sites of the line. Default 32.</summary>
    public int Sites { get; init; } = 32;

    /// <summary>Training rows (random fields). Default 256.</summary>
    public int Rows { get; init; } = 256;

    /// <summary>Adam epochs a run. Default 300.</summary>
    public int Epochs { get; init; } = 300;

    /// <summary>The horizon T of the target map u(0) -&gt; u(T): the longer, the more three-point steps it takes. Default 6.</summary>
    public double Horizon { get; init; } = 6.0;

    /// <summary>The relative loss a depth must reach to count as converged: mean squared error over the target's mean square. Default 0.01.</summary>
    public double Target { get; init; } = 0.01;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        foreach (double factor in Factors)
        {
            RelaxationTrainerOptions.RequireRelaxationFactor(factor);
        }

        if (Factors.Count == 0 || Depths.Count == 0 || Depths.Any(d => d < 1) || Seeds.Count == 0 || Sites < 3 || Rows < 1 || Epochs < 1 || !(Target > 0) || !(Horizon > 0) || !double.IsFinite(Horizon))
        {
            throw new ArgumentException($"Sweep settings out of range: {Factors.Count} factors, depths [{string.Join(", ", Depths)}] (each >= 1), {Seeds.Count} seeds, Sites {Sites} (>= 3), Rows {Rows}, Epochs {Epochs}, Target {Target} and Horizon {Horizon} (> 0).", nameof(Factors));
        }
    }
}

/// <summary>
/// The forward question for one omega: iterations of a weight-tied step z = (1 - omega) z + omega tanh(W z + x) to its
/// fixed point, for a smoothing ADR kernel (spectrum of W in about [0.05, 0.95]) and an oscillating one (about
/// [-0.9, 0.3]), with the contraction factor the linearisation predicts, rho(omega) = max over the spectrum of
/// |1 - omega (1 - lambda)| [derived: Richardson / SOR theory applied to the relaxation step; THEORY.md section 10,
/// over-relaxation contraction factor].
/// </summary>
/// <param name="RelaxationFactor">omega.</param>
/// <param name="SmoothingIterations">Iterations to ||z_(k+1) - z_k||_inf &lt;= 1e-8 for the smoothing kernel (-1: not within 100 000).</param>
/// <param name="SmoothingContraction">rho(omega) of the smoothing kernel's linear part.</param>
/// <param name="OscillatingIterations">The same for the oscillating kernel.</param>
/// <param name="OscillatingContraction">rho(omega) of the oscillating kernel's linear part.</param>
public sealed record FixedPointRow(double RelaxationFactor, int SmoothingIterations, double SmoothingContraction, int OscillatingIterations, double OscillatingContraction);

/// <summary>The training question for one omega: relaxation networks of every depth fitted to one target.</summary>
/// <param name="RelaxationFactor">omega.</param>
/// <param name="RelativeLoss">Per depth (settings order): the mean over seeds of the final relative loss.</param>
/// <param name="WorstRelativeLoss">Per depth: the worst seed's.</param>
/// <param name="DepthToTarget">The smallest depth whose mean relative loss reaches the target; -1 if none does.</param>
/// <param name="UnstableRuns">Runs that diverged or whose epoch loss rose tenfold above its lowest so far.</param>
/// <param name="Runs">Runs in all.</param>
public sealed record DepthRow(double RelaxationFactor, IReadOnlyList<double> RelativeLoss, IReadOnlyList<double> WorstRelativeLoss, int DepthToTarget, int UnstableRuns, int Runs);

/// <summary>The sweep's answer.</summary>
/// <param name="FixedPoints">The forward question, one row per omega.</param>
/// <param name="Training">The training question, one row per omega.</param>
/// <param name="Depths">The depths trained.</param>
/// <param name="LearnedFactor">omega learned from 1 by a network of the middle depth (seed 1).</param>
public sealed record OverRelaxationResult(IReadOnlyList<FixedPointRow> FixedPoints, IReadOnlyList<DepthRow> Training, IReadOnlyList<int> Depths, double LearnedFactor);

/// <summary>
/// The paper's third open experiment (arXiv:2502.06739): does over-relaxation (omega &gt; 1) help? Forward: iterations to a
/// fixed point. Training: a fixed target, the map u(0) -&gt; u(T) of the ADR dynamics of the recovery experiment on a line
/// (U = 0.6, D = 0.4, R = -0.3), fitted by tanh relaxation networks of homogeneous ADR steps at each depth and omega.
/// </summary>
public static class OverRelaxationSweep
{
    private const int MaximumIterations = 100_000;

    /// <summary>Runs both questions for every omega.</summary>
    public static OverRelaxationResult Run(OverRelaxationSettings settings, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var fixedPoints = settings.Factors.Select(omega => FixedPoint(settings.Sites, omega)).ToList();
        (double[] inputs, double[] targets, double scale) = Problem(settings);
        var training = new List<DepthRow>();
        foreach (double omega in settings.Factors)
        {
            var mean = new double[settings.Depths.Count];
            var worst = new double[settings.Depths.Count];
            int unstable = 0;
            for (int i = 0; i < settings.Depths.Count; i++)
            {
                foreach (int seed in settings.Seeds)
                {
                    cancellation.ThrowIfCancellationRequested();
                    RelaxationFit fit = Train(settings, settings.Depths[i], omega, learn: false, seed, inputs, targets, cancellation);
                    double relative = fit.Epochs.Count > 0 ? fit.Epochs[^1].Loss / scale : double.PositiveInfinity;
                    mean[i] += relative / settings.Seeds.Count;
                    worst[i] = Math.Max(worst[i], relative);
                    unstable += Unstable(fit) ? 1 : 0;
                }
            }

            int reached = Enumerable.Range(0, mean.Length).FirstOrDefault(i => mean[i] <= settings.Target, -1);
            var row = new DepthRow(omega, mean, worst, reached < 0 ? -1 : settings.Depths[reached], unstable, settings.Depths.Count * settings.Seeds.Count);
            training.Add(row);
            progress?.Report($"omega {omega:F2}: relative loss by depth [{string.Join(", ", mean.Select(v => v.ToString("E2", System.Globalization.CultureInfo.InvariantCulture)))}]");
        }

        int middle = settings.Depths[settings.Depths.Count / 2];
        double learned = Train(settings, middle, 1.0, learn: true, settings.Seeds[0], inputs, targets, cancellation).Network.RelaxationFactor;
        return new OverRelaxationResult(fixedPoints, training, settings.Depths, learned);
    }

    /// <summary>Iterations of z = (1 - omega) z + omega tanh(W z + x) from 0 to its fixed point, and the predicted rate.</summary>
    public static FixedPointRow FixedPoint(int sites, double omega)
    {
        RelaxationTrainerOptions.RequireRelaxationFactor(omega);

        // Smoothing: centre 0.5, neighbours 0.225 (M0 = 0.95, M1 = 0, M2 = 0.45); oscillating: centre -0.3, neighbours 0.3 and 0.3.
        double[] smoothing = [0.95, 0.0, 0.45];
        double[] oscillating = [0.3, 0.0, 0.6];
        return new FixedPointRow(omega, Iterations(sites, omega, smoothing), Contraction(sites, omega, smoothing), Iterations(sites, omega, oscillating), Contraction(sites, omega, oscillating));
    }

    // rho(omega) = max |1 - omega (1 - lambda)| (THEORY.md section 10, over-relaxation contraction factor) over the
    // eigenvalues of the symmetric tridiagonal Toeplitz kernel: c + 2 s cos(m pi / (N + 1)), c = M0 - M2, s = M2 / 2.
    private static double Contraction(int sites, double omega, double[] moments)
    {
        double centre = moments[0] - moments[2], side = moments[2] / 2;
        double worst = 0;
        for (int m = 1; m <= sites; m++)
        {
            double lambda = centre + (2 * side * Math.Cos(m * Math.PI / (sites + 1)));
            worst = Math.Max(worst, Math.Abs(1 - (omega * (1 - lambda))));
        }

        return worst;
    }

    private static int Iterations(int sites, double omega, double[] moments)
    {
        var stencil = new AdrStencil(GridShape.Line(sites), 0);
        var z = new double[sites];
        var mixed = new double[sites];
        var source = new double[sites];
        for (int q = 0; q < sites; q++)
        {
            source[q] = 0.3 * Math.Sin(2 * Math.PI * q / sites);
        }

        for (int k = 1; k <= MaximumIterations; k++)
        {
            stencil.Apply(moments, z, mixed);
            double change = 0;
            for (int q = 0; q < sites; q++)
            {
                double next = ((1 - omega) * z[q]) + (omega * Math.Tanh(mixed[q] + source[q]));
                change = Math.Max(change, Math.Abs(next - z[q]));
                z[q] = next;
            }

            if (!double.IsFinite(change))
            {
                return -1;
            }

            if (change <= 1e-8)
            {
                return k;
            }
        }

        return -1;
    }

    private static RelaxationFit Train(OverRelaxationSettings settings, int depth, double omega, bool learn, int seed, double[] inputs, double[] targets, CancellationToken cancellation)
    {
        var options = new RelaxationTrainerOptions
        {
            Depth = depth,
            Mixing = RelaxationMixing.HomogeneousAdr,
            Activation = RelaxationActivation.Tanh,
            Readout = RelaxationReadout.State,
            RelaxationFactor = omega,
            LearnRelaxationFactor = learn,
            Epochs = settings.Epochs,
            BatchSize = 64,
            LearningRate = 0.01,
            Seed = seed,
            Threads = 1,
        };
        return new RelaxationTrainer(options).Fit(inputs, settings.Sites, targets, cancellation: cancellation);
    }

    // Diverged, or an epoch's loss ten times the lowest before it.
    private static bool Unstable(RelaxationFit fit)
    {
        double lowest = double.PositiveInfinity;
        foreach (RelaxationEpoch epoch in fit.Epochs)
        {
            if (epoch.Loss > 10 * lowest)
            {
                return true;
            }

            lowest = Math.Min(lowest, epoch.Loss);
        }

        return fit.Diverged;
    }

    // Random smooth fields of amplitude about 0.5 and their state after the horizon; the scale is half the target's mean square.
    private static (double[] Inputs, double[] Targets, double Scale) Problem(OverRelaxationSettings settings)
    {
        int n = settings.Sites;
        var dynamics = new AdrDynamics(RecoveryExperiment.Coefficients(n, varying: false));
        var random = new Random(12345);
        var inputs = new double[settings.Rows * n];
        var targets = new double[settings.Rows * n];
        for (int row = 0; row < settings.Rows; row++)
        {
            Span<double> field = inputs.AsSpan(row * n, n);
            for (int m = 1; m <= 6; m++)
            {
                double amplitude = 0.5 * ((2 * random.NextDouble()) - 1) / Math.Sqrt(m);
                for (int q = 0; q < n; q++)
                {
                    field[q] += amplitude * Math.Sin(Math.PI * m * (q + 1) / (n + 1));
                }
            }

            dynamics.Evolve(field, settings.Horizon, targets.AsSpan(row * n, n));
        }

        double meanSquare = targets.Sum(value => value * value) / targets.Length;
        return (inputs, targets, 0.5 * meanSquare);
    }
}
