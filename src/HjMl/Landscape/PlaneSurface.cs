using HjMl.Layers;
using HjMl.Numerics;

namespace HjMl.Landscape;

/// <summary>
/// log H over the grid of a plane at one eps, and the search for its basins (see <see cref="EntropyLandscape"/>).
/// Positions are in grid units: s and t run from 0 to n - 1 along u and v, so that a window's two axes weigh alike.
/// </summary>
internal sealed class PlaneSurface
{
    // Descent steps in grid units: the first, the longest, and the shortest before a descent counts as converged.
    private const double FirstStep = 1;
    private const double MaximumStep = 2;
    private const double MinimumStep = 1e-6;

    // The compass polish starts at this step (grid units) and makes at most this many moves.
    private const double PolishStep = 0.05;
    private const int PolishMoves = 2000;

    // An end closer than this (grid units) to the window's edge was stopped by the edge: its minimum lies beyond.
    private const double EdgeMargin = 1e-3;

    // How far (grid units) from an end the decision-boundary test looks.
    private const double BoundaryProbe = 1e-3;

    private readonly LseLayer<double> layer;
    private readonly LandscapePlane plane;
    private readonly int? head;
    private readonly int size;
    private readonly double firstSpacing;
    private readonly double secondSpacing;

    /// <summary>Prepares the surface of the 2-input layer <paramref name="restricted"/> (see <see cref="LandscapePlane.Restrict"/>).</summary>
    public PlaneSurface(LseLayer<double> restricted, LandscapePlane plane, int? head, int size)
    {
        layer = restricted;
        this.plane = plane;
        this.head = head;
        this.size = size;
        firstSpacing = (plane.FirstMaximum - plane.FirstMinimum) / (size - 1);
        secondSpacing = (plane.SecondMaximum - plane.SecondMinimum) / (size - 1);
    }

    /// <summary>The grid's coordinates along u (axis 0) or v (axis 1).</summary>
    public double[] Coordinates(int axis) => Enumerable.Range(0, size).Select(k => axis == 0 ? FirstAt(k) : SecondAt(k)).ToArray();

    /// <summary>log H and the head drawn at every grid point, u-major.</summary>
    public (double[] LogEntropy, int[] Heads) Evaluate()
    {
        int n = size;
        var values = new double[n * n];
        var heads = new int[n * n];
        Parallel.For(0, n, () => new Buffers(layer), (i, _, buffers) =>
        {
            for (int j = 0; j < n; j++)
            {
                values[(i * n) + j] = LogEntropyAt(i, j, buffers, out heads[(i * n) + j]);
            }

            return buffers;
        }, _ => { });
        return (values, heads);
    }

    /// <summary>
    /// The basins: a descent from every grid point, the ends that are minima, and ends no barrier separates merged into
    /// one basin whose area is the fraction of starts that reached it.
    /// </summary>
    public LandscapeLevel FindBasins(int descentSteps)
    {
        int n = size;
        var ends = new Descent?[n * n];
        Parallel.For(0, n, () => new Buffers(layer), (i, _, buffers) =>
        {
            for (int j = 0; j < n; j++)
            {
                ends[(i * n) + j] = Descend(i, j, descentSteps, buffers);
            }

            return buffers;
        }, _ => { });

        var work = new Buffers(layer);
        var basins = new List<(Descent End, int Starts)>();
        foreach (Descent end in ends.OfType<Descent>().OrderBy(e => e.LogEntropy).ThenBy(e => e.First).ThenBy(e => e.Second))
        {
            int same = basins.FindIndex(basin => SameBasin(basin.End, end, work));
            if (same >= 0)
            {
                basins[same] = (basins[same].End, basins[same].Starts + 1);
            }
            else
            {
                basins.Add((end, 1));
            }
        }

        var result = new List<Basin>(basins.Count);
        foreach ((Descent end, int starts) in basins)
        {
            double u = FirstAt(end.First), v = SecondAt(end.Second);
            work.Input[0] = u;
            work.Input[1] = v;
            layer.EntropyGradient(work.Input, end.Head, work.Gradient);
            double gradientNorm = Math.Sqrt((work.Gradient[0] * work.Gradient[0]) + (work.Gradient[1] * work.Gradient[1]));
            result.Add(new Basin(u, v, Math.Exp(end.LogEntropy), end.LogEntropy, end.Head, gradientNorm, starts / (double)(n * n)));
        }

        return new LandscapeLevel(layer.Viscosity, result);
    }

    private double FirstAt(double s) => plane.FirstMinimum + (s * firstSpacing);

    private double SecondAt(double t) => plane.SecondMinimum + (t * secondSpacing);

    private bool Contains(double s, double t) => s >= 0 && s <= size - 1 && t >= 0 && t <= size - 1;

    // Descent on log H from grid point (i, j): quasi-Newton (BFGS) steps along -grad log H (THEORY.md section 4's
    // gradient, in logarithms) with a backtracking (Armijo) line search, then a compass polish. At small eps log H is
    // nearly piecewise linear (-(smallest logit gap) / eps plus a logarithm) and its minima sit where several gaps tie,
    // at kinks that plain gradient steps zigzag across; BFGS learns the valley's shape and the compass search, which
    // needs no gradient, settles on the kink and confirms it is a minimum (no move in 8 directions lowers log H).
    // A step is taken only if it crosses no barrier (see CrossesBarrier), so a descent stays in the basin it started
    // in instead of jumping a thin ridge into another. Null if the path leaves the window (the minimum it runs to, if
    // any, lies outside) or if H is exactly 0 where it starts.
    private Descent? Descend(int i, int j, int steps, Buffers buffers)
    {
        double s = i, t = j;
        double current = LogEntropyAt(s, t, buffers, out int usedHead);
        if (double.IsNegativeInfinity(current))
        {
            return null;
        }

        (double gs, double gt) = LogEntropyGradientAt(s, t, usedHead, buffers);
        double norm = Math.Sqrt((gs * gs) + (gt * gt));

        // The inverse-Hessian estimate [a b; b c]; it starts as the multiple of I that makes the first step FirstStep long.
        double a = FirstStep / Math.Max(norm, double.Epsilon), b = 0, c = a;
        for (int iteration = 0; iteration < steps && norm > 0 && double.IsFinite(norm); iteration++)
        {
            double ds = -((a * gs) + (b * gt)), dt = -((b * gs) + (c * gt));
            double slope = (ds * gs) + (dt * gt);
            if (!(slope < 0))
            {
                a = c = FirstStep / norm;
                b = 0;
                (ds, dt, slope) = (-a * gs, -a * gt, -a * norm * norm);
            }

            double length = Math.Sqrt((ds * ds) + (dt * dt));
            if (length > MaximumStep)
            {
                (ds, dt, slope) = (ds * MaximumStep / length, dt * MaximumStep / length, slope * MaximumStep / length);
                length = MaximumStep;
            }

            double fraction = 1;
            double nextS = s, nextT = t, next = current;
            int nextHead = usedHead;
            bool accepted = false;
            while (fraction * length >= MinimumStep)
            {
                nextS = s + (fraction * ds);
                nextT = t + (fraction * dt);
                if (!Contains(nextS, nextT))
                {
                    if (fraction * length <= FirstStep)
                    {
                        return null;
                    }

                    fraction *= 0.5;
                    continue;
                }

                next = LogEntropyAt(nextS, nextT, buffers, out nextHead);
                if (next <= current + (1e-4 * fraction * slope) && next < current && !CrossesBarrier(s, t, nextS, nextT, current, buffers))
                {
                    accepted = true;
                    break;
                }

                fraction *= 0.5;
            }

            if (!accepted)
            {
                break;
            }

            (double nextGs, double nextGt) = LogEntropyGradientAt(nextS, nextT, nextHead, buffers);
            double stepS = nextS - s, stepT = nextT - t;
            double changeS = nextGs - gs, changeT = nextGt - gt;
            double curvature = (stepS * changeS) + (stepT * changeT);
            if (curvature > 1e-12 * Math.Sqrt(((stepS * stepS) + (stepT * stepT)) * ((changeS * changeS) + (changeT * changeT))))
            {
                // BFGS: H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T with rho = 1 / (y . s).
                double rho = 1 / curvature;
                double hyS = (a * changeS) + (b * changeT), hyT = (b * changeS) + (c * changeT);
                double yhy = (changeS * hyS) + (changeT * hyT);
                double factor = rho * (1 + (rho * yhy));
                a += (factor * stepS * stepS) - (rho * 2 * hyS * stepS);
                b += (factor * stepS * stepT) - (rho * ((hyS * stepT) + (hyT * stepS)));
                c += (factor * stepT * stepT) - (rho * 2 * hyT * stepT);
            }

            (s, t, current, usedHead, gs, gt) = (nextS, nextT, next, nextHead, nextGs, nextGt);
            norm = Math.Sqrt((gs * gs) + (gt * gt));
            if (Math.Sqrt((stepS * stepS) + (stepT * stepT)) < MinimumStep)
            {
                break;
            }
        }

        return Polish(ref s, ref t, ref current, ref usedHead, buffers) && !OnDecisionBoundary(s, t, usedHead, buffers) ? new Descent(s, t, current, usedHead) : null;
    }

    // Following the predicted head, H jumps where the prediction changes, and the lower side of a jump can look like a
    // minimum although no head's entropy is stationary there; such ends are not basins. A basin must lie inside the
    // region of its own head: the same head is predicted a short way off in all 8 directions.
    private bool OnDecisionBoundary(double s, double t, int usedHead, Buffers buffers)
    {
        if (head is not null)
        {
            return false;
        }

        for (int direction = 0; direction < 8; direction++)
        {
            double angle = direction * Math.PI / 4;
            LogEntropyAt(s + (BoundaryProbe * Math.Cos(angle)), t + (BoundaryProbe * Math.Sin(angle)), buffers, out int nearbyHead);
            if (nearbyHead != usedHead)
            {
                return true;
            }
        }

        return false;
    }

    // Compass search: move to the lowest of 8 points at distance `step` while one is lower (and then try a step twice
    // as long, up to FirstStep), else halve the step, down to MinimumStep. Its end is lower than its 8 neighbours at
    // the final step: a minimum at that resolution, not a saddle or a kink the descent stalled on. False if the end lies
    // on the window's edge (the minimum is beyond it) or the search has not settled within PolishMoves.
    private bool Polish(ref double s, ref double t, ref double current, ref int usedHead, Buffers buffers)
    {
        double step = PolishStep;
        for (int move = 0; move < PolishMoves; move++)
        {
            if (step < MinimumStep)
            {
                return s >= EdgeMargin && s <= size - 1 - EdgeMargin && t >= EdgeMargin && t <= size - 1 - EdgeMargin;
            }

            double bestS = s, bestT = t, best = current;
            int bestHead = usedHead;
            for (int direction = 0; direction < 8; direction++)
            {
                double angle = direction * Math.PI / 4;
                double nextS = Math.Clamp(s + (step * Math.Cos(angle)), 0, size - 1), nextT = Math.Clamp(t + (step * Math.Sin(angle)), 0, size - 1);
                double next = LogEntropyAt(nextS, nextT, buffers, out int nextHead);
                if (next < best && !CrossesBarrier(s, t, nextS, nextT, current, buffers))
                {
                    (bestS, bestT, best, bestHead) = (nextS, nextT, next, nextHead);
                }
            }

            if (best < current)
            {
                (s, t, current, usedHead) = (bestS, bestT, best, bestHead);
                step = Math.Min(2 * step, FirstStep);
            }
            else
            {
                step *= 0.5;
            }
        }

        return false;
    }

    // Two descent ends are one basin when they are within half a grid spacing, or when no barrier rises between them:
    // log H along the segment never exceeds the higher end by more than rounding (ends spread along a flat valley floor).
    private bool SameBasin(Descent kept, Descent candidate, Buffers buffers)
    {
        double ds = candidate.First - kept.First, dt = candidate.Second - kept.Second;
        double distance = Math.Sqrt((ds * ds) + (dt * dt));
        if (distance < 0.5)
        {
            return true;
        }

        double ceiling = Math.Max(kept.LogEntropy, candidate.LogEntropy);
        double tolerance = 1e-9 * Math.Max(1, Math.Abs(ceiling));
        if (CrossesBarrier(kept.First, kept.Second, candidate.First, candidate.Second, ceiling + tolerance, buffers))
        {
            return false;
        }

        int samples = Math.Max(8, (int)Math.Ceiling(4 * distance));
        for (int k = 1; k < samples; k++)
        {
            double fraction = k / (double)samples;
            if (LogEntropyAt(kept.First + (fraction * ds), kept.Second + (fraction * dt), buffers, out _) > ceiling + tolerance)
            {
                return false;
            }
        }

        return true;
    }

    // Whether log H rises above `level` where the segment from (s0, t0) to (s1, t1) crosses from one piece's cell into
    // another's. At small eps the ridges of H sit on the cell boundaries of the tropical limit (THEORY.md section 2), and
    // are thinner than any step, so sampling the segment would miss them; the crossings are the breakpoints of the upper
    // envelope of the affine logits along the segment, found exactly. The pieces are the followed head's, or every
    // head's when the landscape follows the predicted head (whose tropical limit is the head of the largest logit).
    private bool CrossesBarrier(double s0, double t0, double s1, double t1, double level, Buffers buffers)
    {
        int pieces = layer.NumberOfPieces;
        int first = head is int chosen ? chosen * pieces : 0;
        int count = head is null ? layer.Biases.Length : pieces;
        Span<double> start = buffers.Start.AsSpan(0, count);
        Span<double> slope = buffers.Slope.AsSpan(0, count);
        AllLogits(FirstAt(s0), SecondAt(t0), buffers.Logits);
        buffers.Logits.AsSpan(first, count).CopyTo(start);
        AllLogits(FirstAt(s1), SecondAt(t1), buffers.Logits);
        for (int j = 0; j < count; j++)
        {
            slope[j] = buffers.Logits[first + j] - start[j];
        }

        int winner = 0;
        for (int j = 1; j < count; j++)
        {
            if (start[j] > start[winner] || (start[j] == start[winner] && slope[j] > slope[winner]))
            {
                winner = j;
            }
        }

        double position = 0;
        for (int crossing = 0; crossing < count; crossing++)
        {
            int next = -1;
            double nextPosition = 1;
            for (int j = 0; j < count; j++)
            {
                if (slope[j] <= slope[winner])
                {
                    continue;
                }

                double meets = (start[winner] - start[j]) / (slope[j] - slope[winner]);
                if (meets > position && (meets < nextPosition || (meets == nextPosition && next >= 0 && slope[j] > slope[next])))
                {
                    next = j;
                    nextPosition = meets;
                }
            }

            if (next < 0)
            {
                return false;
            }

            // Strictly above, by more than rounding: a segment starting on a boundary meets it at its own level.
            double s = s0 + (nextPosition * (s1 - s0)), t = t0 + (nextPosition * (t1 - t0));
            if (LogEntropyAt(s, t, buffers, out _) > level + (1e-12 * Math.Max(1, Math.Abs(level))))
            {
                return true;
            }

            winner = next;
            position = nextPosition;
        }

        return false;
    }

    // log H at grid position (s, t) of the followed head, or of the predicted head (the largest f_k; the first on ties).
    private double LogEntropyAt(double s, double t, Buffers buffers, out int usedHead)
    {
        AllLogits(FirstAt(s), SecondAt(t), buffers.Logits);
        int pieces = layer.NumberOfPieces;
        usedHead = head ?? PredictedHead(buffers);
        return LogEntropy.Evaluate(buffers.Logits.AsSpan(usedHead * pieces, pieces), layer.Viscosity, buffers.Work);
    }

    // grad log H in grid units at (s, t) for head `usedHead`.
    private (double First, double Second) LogEntropyGradientAt(double s, double t, int usedHead, Buffers buffers)
    {
        AllLogits(FirstAt(s), SecondAt(t), buffers.Logits);
        int pieces = layer.NumberOfPieces;
        LogEntropy.Evaluate(buffers.Logits.AsSpan(usedHead * pieces, pieces), layer.Viscosity, buffers.Work, layer.HeadWeights(usedHead), 2, buffers.Gradient);
        return (buffers.Gradient[0] * firstSpacing, buffers.Gradient[1] * secondSpacing);
    }

    // z = w . (u, v) + b for every piece of every head; the restricted layer has two inputs, so a loop beats a matrix product.
    private void AllLogits(double u, double v, double[] logits)
    {
        ReadOnlySpan<double> weights = layer.Weights;
        ReadOnlySpan<double> biases = layer.Biases;
        for (int j = 0; j < logits.Length; j++)
        {
            logits[j] = (weights[2 * j] * u) + (weights[(2 * j) + 1] * v) + biases[j];
        }
    }

    private int PredictedHead(Buffers buffers)
    {
        int pieces = layer.NumberOfPieces;
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int k = 0; k < layer.NumberOfHeads; k++)
        {
            double score = LogSumExp.Evaluate<double>(buffers.Logits.AsSpan(k * pieces, pieces), layer.Viscosity, buffers.Work);
            if (score > bestScore)
            {
                bestScore = score;
                best = k;
            }
        }

        return best;
    }

    private double LogEntropyAt(int i, int j, Buffers buffers, out int usedHead) => LogEntropyAt((double)i, j, buffers, out usedHead);

    // A descent's end in grid units.
    private sealed record Descent(double First, double Second, double LogEntropy, int Head);

    // Per-thread scratch, so that the search allocates nothing per point.
    private sealed class Buffers(LseLayer<double> layer)
    {
        public double[] Input { get; } = new double[2];

        public double[] Logits { get; } = new double[layer.Biases.Length];

        public double[] Start { get; } = new double[layer.Biases.Length];

        public double[] Slope { get; } = new double[layer.Biases.Length];

        public double[] Work { get; } = new double[Math.Max(3 * layer.NumberOfPieces, layer.Biases.Length)];

        public double[] Gradient { get; } = new double[2];
    }
}
