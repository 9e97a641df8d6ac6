using System.Numerics.Tensors;
using HjMl.Training.Optimizers;

namespace HjMl.Relaxation;

/// <summary>
/// The mean training loss of a relaxation network and its exact gradient by the discrete adjoint
/// (<see cref="RelaxationPass"/>, <see cref="ReadoutPass"/>). Parameters: the network's (<see cref="RelaxationShape"/>
/// layout), then log omega when omega is learned. Rows are split into fixed chunks reduced in chunk order: deterministic
/// for a data set, parameters and thread count.
/// </summary>
internal sealed class RelaxationObjective : IObjectiveFunction
{
    private const int MinimumChunkRows = 64;

    // log omega stays where exp is finite and the steps are not frozen.
    private const double LogOmegaLimit = 5;

    private readonly RelaxationShape shape;
    private readonly RelaxationActivation activation;
    private readonly double viscosity;
    private readonly double fixedOmega;
    private readonly bool learnOmega;
    private readonly double[] inputs;
    private readonly double[] targets;
    private readonly int targetWidth;
    private readonly int threads;
    private readonly int[] everyRow;
    private Workspace[] workspaces = [];
    private double[] current = [];
    private int[] selected = [];

    public RelaxationObjective(RelaxationShape shape, RelaxationActivation activation, double viscosity, double omega, bool learnOmega, double[] inputs, double[] targets, int rows, int threads)
    {
        this.shape = shape;
        this.activation = activation;
        this.viscosity = viscosity;
        fixedOmega = omega;
        this.learnOmega = learnOmega;
        this.inputs = inputs;
        this.targets = targets;
        Rows = rows;
        targetWidth = shape.Readout == RelaxationReadout.Softmax ? 1 : shape.Outputs;
        this.threads = Math.Max(1, threads);
        everyRow = Enumerable.Range(0, rows).ToArray();
    }

    public int Rows { get; }

    /// <summary>theta's length: the network's parameters and log omega when it is learned.</summary>
    public int ParameterCount => shape.ParameterCount + (learnOmega ? 1 : 0);

    /// <summary>omega at <paramref name="parameters"/>.</summary>
    public double Omega(ReadOnlySpan<double> parameters) => learnOmega ? Math.Exp(parameters[shape.ParameterCount]) : fixedOmega;

    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, Span<double> gradient) => Evaluate(parameters, everyRow, gradient);

    public double Evaluate(ReadOnlySpan<double> parameters, double viscosity, ReadOnlySpan<int> rows, Span<double> gradient) => Evaluate(parameters, rows, gradient);

    public double ViscosityOf(ReadOnlySpan<double> parameters, double scheduled) => scheduled;

    public void Project(Span<double> parameters)
    {
        if (learnOmega)
        {
            parameters[shape.ParameterCount] = Math.Clamp(parameters[shape.ParameterCount], -LogOmegaLimit, LogOmegaLimit);
        }
    }

    private double Evaluate(ReadOnlySpan<double> parameters, ReadOnlySpan<int> rows, Span<double> gradient)
    {
        int count = rows.Length;
        int chunks = Math.Max(1, Math.Min(threads, count / MinimumChunkRows));
        int chunkRows = (count + chunks - 1) / chunks;
        if (workspaces.Length < chunks || workspaces[0].Rows < chunkRows)
        {
            workspaces = Enumerable.Range(0, chunks).Select(_ => new Workspace(shape, chunkRows, targetWidth)).ToArray();
        }

        // The chunks run as lambdas, which cannot capture a span.
        if (current.Length != parameters.Length)
        {
            current = new double[parameters.Length];
        }

        parameters.CopyTo(current);
        if (selected.Length < count)
        {
            selected = new int[count];
        }

        rows.CopyTo(selected);
        double omega = Omega(parameters);
        double[] theta = current;
        int[] chosen = selected;
        Workspace[] spaces = workspaces;
        int n = shape.InputDimension;
        void Chunk(int chunk)
        {
            Workspace space = spaces[chunk];
            int first = chunk * chunkRows;
            int size = Math.Max(0, Math.Min(chunkRows, count - first));
            space.Loss = 0;
            space.OmegaGradient = 0;
            Array.Clear(space.Gradient);
            if (size == 0)
            {
                return;
            }

            for (int i = 0; i < size; i++)
            {
                int row = chosen[first + i];
                inputs.AsSpan(row * n, n).CopyTo(space.Input.AsSpan(i * n, n));
                targets.AsSpan(row * targetWidth, targetWidth).CopyTo(space.Target.AsSpan(i * targetWidth, targetWidth));
            }

            ReadOnlySpan<double> network = theta.AsSpan(0, shape.ParameterCount);
            RelaxationPass.Forward(shape, network, activation, viscosity, omega, space.Input, size, space.States, space.Arguments);
            ReadOnlySpan<double> terminal = space.States.AsSpan(shape.Depth * size * n, size * n);
            space.Loss = ReadoutPass.Loss(shape, network, terminal, space.Target, size, space.Work, space.Costate, space.Gradient);
            space.OmegaGradient = RelaxationPass.Backward(shape, network, activation, viscosity, omega, size, space.States, space.Arguments, space.Costate, space.Scratch, space.Gradient);
        }

        if (chunks == 1)
        {
            Chunk(0);
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Chunk);
        }

        // Reduce in chunk order: deterministic for a given thread count.
        double loss = 0, omegaGradient = 0;
        Span<double> networkGradient = gradient[..shape.ParameterCount];
        networkGradient.Clear();
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            loss += workspaces[chunk].Loss;
            omegaGradient += workspaces[chunk].OmegaGradient;
            TensorPrimitives.Add(networkGradient, workspaces[chunk].Gradient, networkGradient);
        }

        TensorPrimitives.Divide(networkGradient, count, networkGradient);
        if (learnOmega)
        {
            // d/dlog(omega) = omega d/domega.
            gradient[shape.ParameterCount] = omega * omegaGradient / count;
        }

        return loss / count;
    }

    private sealed class Workspace
    {
        public Workspace(RelaxationShape shape, int rows, int targetWidth)
        {
            int block = rows * shape.InputDimension;
            Rows = rows;
            Input = new double[block];
            Target = new double[rows * targetWidth];
            States = new double[(shape.Depth + 1) * block];
            Arguments = new double[Math.Max(1, shape.Depth) * block];
            Costate = new double[block];
            Scratch = new double[2 * block];
            Work = new double[rows * shape.Outputs];
            Gradient = new double[shape.ParameterCount];
        }

        public int Rows { get; }

        public double[] Input { get; }

        public double[] Target { get; }

        public double[] States { get; }

        public double[] Arguments { get; }

        public double[] Costate { get; }

        public double[] Scratch { get; }

        public double[] Work { get; }

        public double[] Gradient { get; }

        public double Loss { get; set; }

        public double OmegaGradient { get; set; }
    }
}
