using HjMl.MLNet.Trainers;
using Microsoft.ML.SearchSpace;

namespace HjMl.MLNet.AutoML;

/// <summary>
/// The hyper-parameters AutoML sweeps for a Hopf–Cole trainer: the width N (support points per head) and the viscosity
/// eps, both on a log scale. Build ML.NET AutoML's search space from it (<c>new SearchSpace&lt;HopfColeSearchSpace&gt;()</c>,
/// Microsoft.ML.AutoML) and hand each sampled point to <see cref="ApplyTo{TOptions}"/>:
/// <code language="csharp">
/// var sweepable = mlContext.Auto().CreateSweepableEstimator(
///     (context, point) => context.BinaryClassification.Trainers.HopfCole(point.ApplyTo(new HopfColeBinaryTrainer.Options())),
///     new SearchSpace&lt;HopfColeSearchSpace&gt;());
/// </code>
/// The attributes come from Microsoft.ML itself (namespace Microsoft.ML.SearchSpace), so this class needs no AutoML
/// reference. Override a range by building the search space from an instance with other values, or by editing its entries.
/// </summary>
public sealed class HopfColeSearchSpace
{
    /// <summary>The smallest width swept.</summary>
    public const int MinimumNumberOfSupportPoints = 2;

    /// <summary>The largest width swept.</summary>
    public const int MaximumNumberOfSupportPoints = 64;

    /// <summary>The smallest viscosity swept.</summary>
    public const double MinimumViscosity = 0.02;

    /// <summary>The largest viscosity swept.</summary>
    public const double MaximumViscosity = 5.0;

    /// <summary>N, support points per head, in [2, 64] on a log scale; the search starts at 16.</summary>
    [Range(MinimumNumberOfSupportPoints, MaximumNumberOfSupportPoints, init: 16, logBase: true)]
    public int NumberOfSupportPoints { get; set; } = 16;

    /// <summary>eps, in [0.02, 5] on a log scale; the search starts at 0.5.</summary>
    [Range(MinimumViscosity, MaximumViscosity, init: HopfColeTrainingOptions.DefaultViscosity, logBase: true)]
    public double Viscosity { get; set; } = HopfColeTrainingOptions.DefaultViscosity;

    /// <summary>Writes this point's width and viscosity into <paramref name="options"/> and returns them.</summary>
    public TOptions ApplyTo<TOptions>(TOptions options)
        where TOptions : HopfColeTrainingOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        options.NumberOfSupportPoints = NumberOfSupportPoints;
        options.Viscosity = Viscosity;
        return options;
    }
}
