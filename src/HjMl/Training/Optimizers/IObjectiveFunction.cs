namespace HjMl.Training.Optimizers;

/// <summary>
/// What an optimiser minimises: a mean loss over training rows and its exact gradient at a parameter vector theta, at a
/// viscosity eps the optimiser passes on from the <see cref="IEpochSchedule"/>. The implementation owns the rows, the
/// layout of theta and its constraints; the optimisers see theta as a plain vector.
/// </summary>
internal interface IObjectiveFunction
{
    /// <summary>The number of training rows, which mini-batches index from 0.</summary>
    int Rows { get; }

    /// <summary>L(theta) over every training row at <paramref name="viscosity"/>, and dL/dtheta into <paramref name="gradient"/> (the length of theta).</summary>
    double Evaluate(ReadOnlySpan<double> parameters, double viscosity, Span<double> gradient);

    /// <summary>L(theta) over the training rows <paramref name="rows"/> (a mini-batch) at <paramref name="viscosity"/>, and dL/dtheta into <paramref name="gradient"/>.</summary>
    double Evaluate(ReadOnlySpan<double> parameters, double viscosity, ReadOnlySpan<int> rows, Span<double> gradient);

    /// <summary>The eps a trial point stands for: its own when eps is one of the parameters, else <paramref name="scheduled"/>.</summary>
    double ViscosityOf(ReadOnlySpan<double> parameters, double scheduled);

    /// <summary>Returns theta to the feasible set after a step (a learned log eps is clamped).</summary>
    void Project(Span<double> parameters);

    /// <summary>The threads the optimiser's own work on theta may use besides the objective's: the objective's own, else 1.</summary>
    int Threads => 1;
}
