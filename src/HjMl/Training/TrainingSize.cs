using HjMl.Data;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// Checks a training run's sizes against its data before anything is allocated, and refuses, naming the sizes, one
/// that cannot be represented, that places more support points on rows than the data has, or that would hold more than
/// half the memory this process may use. <see cref="HopfColeTrainer.Train"/> runs it first; the command line runs it
/// before reading further input. Messages name the option and, in parentheses, the command line's flag for it.
/// </summary>
public static class TrainingSize
{
    // L-BFGS keeps 10 pairs of parameter-sized vectors; with theta, gradient, trial, direction, best and last-finite
    // copies that is about 30 parameter vectors, and every thread's chunk reduces into one more.
    private const int ParameterCopies = 30;

    /// <summary>
    /// Refuses <paramref name="options"/> on <paramref name="data"/> when the parameters overflow an array, when data-placed
    /// support asks for more points per head than there are rows (<paramref name="checkRows"/>), or when the estimate of
    /// what training holds exceeds half the available memory.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range, or the sizes cannot fit (the message names them).</exception>
    public static void Check(Dataset data, HopfColeTrainerOptions options, bool checkRows = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int d = data.Columns;
        int heads = options.Kind == ModelKind.MulticlassClassification ? data.Labels.ToArray().Distinct().Count() : 2;
        int pieces = options.NumberOfSupportPoints;
        bool lifted = options.Depth > 0 && options.FlowWidth > d;
        long width = lifted ? options.FlowWidth : d;
        Int128 flow = options.Depth <= 0 ? 0
            : (lifted ? (width * d) + width : 0) + ((Int128)(options.SharedFlowControls ? 1 : options.Depth) * ((2 * (Int128)options.FlowSupportPoints * width) + options.FlowSupportPoints));
        Int128 parameters = ((Int128)heads * pieces * (width + 1)) + flow + 1;
        string sizes = $"{heads} heads x {pieces} support points on {width} features{(options.Depth > 0 ? $" with a flow of depth {options.Depth}" : string.Empty)}";
        if (parameters > Array.MaxLength)
        {
            throw new ArgumentException($"Option NumberOfSupportPoints (--width) is {pieces}: {sizes} make {parameters} parameters, more than one array holds ({Array.MaxLength}).");
        }

        if (checkRows && options.Initialisation != SupportInitialisation.Random && pieces > data.Rows)
        {
            throw new ArgumentException($"Option NumberOfSupportPoints (--width) is {pieces}, but the data has {data.Rows} rows: support points start on training rows, so a head cannot have more distinct ones than there are rows.");
        }

        int threads = options.MaximumDegreeOfParallelism > 0 ? Math.Min(options.MaximumDegreeOfParallelism, Environment.ProcessorCount) : Environment.ProcessorCount;
        Int128 perRow = (4 * ((Int128)d + 1)) + ((Int128)heads * pieces) + (options.Depth > 0 ? FlowDoublesPerRow(options.Depth, width, options.FlowSupportPoints) : 0);
        // Pooled ensemble members (trained one after another) add the pooled read-out's parameters once.
        int members = options.EnsembleMembers == 0 ? HopfColeTrainerOptions.AutomaticEnsembleMembers : options.EnsembleMembers;
        Int128 pooled = members > 1 ? (Int128)members * heads * pieces * (width + 1) : 0;
        Int128 bytes = ((parameters * (ParameterCopies + threads)) + pooled + (perRow * data.Rows)) * sizeof(double);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available / 2)
        {
            throw new ArgumentException($"Training {sizes} on {data.Rows} rows needs about {bytes >> 20} MiB ({parameters} parameters, {perRow} numbers per row), more than half of the {available >> 20} MiB this process may use. Lower NumberOfSupportPoints (--width) or the flow's sizes (Depth, FlowWidth, FlowSupportPoints), or train on fewer columns.");
        }
    }

    // FlowShape.TrainingDoublesPerRow without its int arithmetic: L + 1 states of width m, L rows of Gibbs weights, the
    // read-out's row [z_L 1], the co-state and the logit co-state.
    private static Int128 FlowDoublesPerRow(int depth, long width, int pieces)
        => (((Int128)depth + 1) * width) + ((Int128)depth * pieces) + (2 * (Int128)width) + 1 + pieces;
}
