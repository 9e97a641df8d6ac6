using System.Numerics;
using System.Runtime.CompilerServices;
using HjMl.Kernels;

namespace HjMl.Training.Optimizers;

/// <summary>Adam's settings.</summary>
/// <param name="MaximumEpochs">Passes over the training rows.</param>
/// <param name="BatchSize">Rows per step; 0 (or at least the training rows) for full batch.</param>
/// <param name="LearningRate">The step size.</param>
/// <param name="CosineDecay">Whether the rate decays on a cosine to a tenth of itself over the epochs (else constant).</param>
internal readonly record struct AdamSettings(int MaximumEpochs, int BatchSize, double LearningRate, bool CosineDecay);

/// <summary>
/// Adam (Kingma and Ba 2015), mini-batch or full batch: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// theta -= rate m_hat / (sqrt(v_hat) + epsilon). Mini-batches come from a seeded shuffle of the rows each epoch.
/// </summary>
internal static class Adam
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    /// <summary>Minimises <paramref name="objective"/> from <paramref name="parameters"/>, which it updates in place.</summary>
    public static void Minimize(IObjectiveFunction objective, IEpochSchedule schedule, double[] parameters, AdamSettings settings, Random random, CancellationToken cancellation)
    {
        int n = parameters.Length;
        int all = objective.Rows;
        var gradient = new double[n];
        var firstMoment = new double[n];
        var secondMoment = new double[n];
        int batch = settings.BatchSize == 0 || settings.BatchSize >= all ? all : settings.BatchSize;
        int[] rows = Enumerable.Range(0, all).ToArray();
        var update = new StepJob(parameters, gradient, firstMoment, secondMoment, objective.Threads);
        long step = 0;
        for (int epoch = 1; epoch <= settings.MaximumEpochs; epoch++)
        {
            double rate = settings.CosineDecay
                ? settings.LearningRate * (0.1 + (0.45 * (1 + Math.Cos(Math.PI * (epoch - 1) / Math.Max(1, settings.MaximumEpochs - 1)))))
                : settings.LearningRate;
            double viscosity = schedule.ViscosityAt(epoch);
            double lossSum = 0;
            int batches = 0;
            if (batch < all)
            {
                random.Shuffle(rows);
            }

            for (int first = 0; first < all; first += batch)
            {
                cancellation.ThrowIfCancellationRequested();
                int count = Math.Min(batch, all - first);
                double loss = count == all
                    ? objective.Evaluate(parameters, viscosity, gradient)
                    : objective.Evaluate(parameters, viscosity, rows.AsSpan(first, count), gradient);

                step++;
                update.Run(rate, 1 - Math.Pow(Beta1, step), 1 - Math.Pow(Beta2, step));
                objective.Project(parameters);
                lossSum += loss * count;
                batches += count;
            }

            if (schedule.EndEpoch(epoch, lossSum / batches))
            {
                break;
            }
        }
    }

    // One update, parameter by parameter in one pass: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    // theta -= rate (m / c1) / (sqrt(v / c2) + epsilon) with the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t.
    // Vectors take the same operations in the same order (no fused multiply-add; square root and division are
    // correctly rounded), so every parameter gets the bits the scalar loop gives it. Compiled fully optimised at once:
    // it runs every step from the first.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Step(Span<double> parameters, ReadOnlySpan<double> gradient, Span<double> firstMoment, Span<double> secondMoment, double rate, double correction1, double correction2)
    {
        double scale = -rate / correction1;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var beta1 = new Vector<double>(Beta1);
            var complement1 = new Vector<double>(1 - Beta1);
            var beta2 = new Vector<double>(Beta2);
            var complement2 = new Vector<double>(1 - Beta2);
            var epsilon = new Vector<double>(Epsilon);
            var second = new Vector<double>(correction2);
            var factor = new Vector<double>(scale);
            for (; i <= parameters.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var g = new Vector<double>(gradient[i..]);
                Vector<double> m = (g * complement1) + (new Vector<double>(firstMoment[i..]) * beta1);
                Vector<double> v = ((g * g) * complement2) + (new Vector<double>(secondMoment[i..]) * beta2);
                m.CopyTo(firstMoment[i..]);
                v.CopyTo(secondMoment[i..]);
                ((m / (Vector.SquareRoot(v / second) + epsilon) * factor) + new Vector<double>(parameters[i..])).CopyTo(parameters[i..]);
            }
        }

        for (; i < parameters.Length; i++)
        {
            double g = gradient[i];
            double m = (g * (1 - Beta1)) + (firstMoment[i] * Beta1);
            double v = ((g * g) * (1 - Beta2)) + (secondMoment[i] * Beta2);
            firstMoment[i] = m;
            secondMoment[i] = v;
            parameters[i] = ((m / (Math.Sqrt(v / correction2) + Epsilon)) * scale) + parameters[i];
        }
    }

    // The update over shares of the parameters on several threads: each share is the same elementwise work wherever it
    // runs, so the result does not depend on the thread count.
    private sealed class StepJob(double[] parameters, double[] gradient, double[] firstMoment, double[] secondMoment, int threads) : TileJob
    {
        // Parameters per share: large enough that a share outweighs waking a thread.
        private const int ShareLength = 16384;

        private double rate;
        private double correction1;
        private double correction2;

        public void Run(double stepRate, double firstCorrection, double secondCorrection)
        {
            rate = stepRate;
            correction1 = firstCorrection;
            correction2 = secondCorrection;
            int shares = (parameters.Length + ShareLength - 1) / ShareLength;
            if (threads == 1 || shares == 1)
            {
                Step(parameters, gradient, firstMoment, secondMoment, rate, correction1, correction2);
            }
            else if (threads >= Environment.ProcessorCount)
            {
                Run(shares);
            }
            else
            {
                Parallel.For(0, shares, new ParallelOptions { MaxDegreeOfParallelism = threads }, share => RunTile(share, -1));
            }
        }

        public override void RunTile(int tile, int worker)
        {
            int first = tile * ShareLength;
            int length = Math.Min(ShareLength, parameters.Length - first);
            Step(parameters.AsSpan(first, length), gradient.AsSpan(first, length), firstMoment.AsSpan(first, length), secondMoment.AsSpan(first, length), rate, correction1, correction2);
        }

        public override void PrepareWorkers(int workers)
        {
        }
    }
}
