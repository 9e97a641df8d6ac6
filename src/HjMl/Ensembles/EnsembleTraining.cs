using System.Globalization;
using HjMl.Data;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Ensembles;

/// <summary>Trains the members of an ensemble: one set of options, varied in width, viscosity and seed.</summary>
public static class EnsembleTraining
{
    // Member i takes the i-th entries cyclically: with lengths 4 and 3 the first 12 members are all different.
    private static readonly double[] WidthFactors = [1, 2, 0.5, 1.5];
    private static readonly double[] ViscosityFactors = [1, 0.5, 2];

    /// <summary>
    /// The options of member <paramref name="index"/>: width N x (1, 2, 0.5, 1.5)[i mod 4] (at least 1), eps x
    /// (1, 0.5, 2)[i mod 3] and seed + i, so that members differ in capacity, sharpness and initialisation.
    /// </summary>
    public static HopfColeTrainerOptions MemberOptions(HopfColeTrainerOptions options, int index)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (index < 0)
        {
            throw new ArgumentException($"index is {index}; members are numbered from 0.", nameof(index));
        }

        return options with
        {
            NumberOfSupportPoints = Math.Max(1, (int)Math.Round(options.NumberOfSupportPoints * WidthFactors[index % WidthFactors.Length])),
            Viscosity = options.Viscosity * ViscosityFactors[index % ViscosityFactors.Length],
            Seed = options.Seed + index,
        };
    }

    /// <summary>Trains <paramref name="count"/> members on <paramref name="training"/> with <see cref="MemberOptions"/>; deterministic for the options' seed.</summary>
    /// <exception cref="ArgumentException">count &lt; 1, or the options or data cannot train (the trainer's message).</exception>
    public static IReadOnlyList<EnsembleMember> TrainMembers(Dataset training, HopfColeTrainerOptions options, int count, IProgress<EnsembleMember>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(options);
        if (count < 1)
        {
            throw new ArgumentException($"count is {count}; an ensemble needs at least one member.", nameof(count));
        }

        var members = new List<EnsembleMember>(count);
        for (int i = 0; i < count; i++)
        {
            HopfColeTrainerOptions memberOptions = MemberOptions(options, i);
            HopfColeModel model = new HopfColeTrainer(memberOptions).Fit(training, cancellation: cancellation);
            var member = EnsembleMember.FromModel(model, string.Create(CultureInfo.InvariantCulture, $"width {memberOptions.NumberOfSupportPoints}, eps {memberOptions.Viscosity:G3}, seed {memberOptions.Seed}"));
            members.Add(member);
            progress?.Report(member);
        }

        return members;
    }
}
