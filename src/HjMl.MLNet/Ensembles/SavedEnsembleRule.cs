using System.Reflection;
using System.Text.Json;
using HjMl.Ensembles;
using HjMl.MLNet.Persistence;
using HjMl.Models;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// An ensemble's <see cref="EnsembleRule"/> as the saved graph's metadata records it (<see cref="SavedStage"/>), and
/// back: the task, class labels, combination, eps, label scale, the members' losses and the eps search. The losses
/// and eps are written as round-trip text, so the rule comes back with the same weights bit for bit.
/// </summary>
/// <remarks>
/// The engine's rule is made only by fitting (<see cref="EnsembleRule.Fit(ModelKind, IReadOnlyList{double}, int, ReadOnlySpan{double}, ReadOnlySpan{double}, IReadOnlyList{double}?)"/>)
/// and has no factory from recorded state, so <see cref="Read"/> calls its private constructor by reflection, in this
/// one place, until the engine offers one; a test of LoadWithHopfCole fails if that constructor changes.
/// </remarks>
internal static class SavedEnsembleRule
{
    private const string KindSetting = "kind", ClassesSetting = "classes", CombinationSetting = "combination", ViscositySetting = "viscosity", LabelScaleSetting = "label_scale", LossesSetting = "losses", SearchSetting = "search";

    private static readonly Type[] ConstructorParameters = [typeof(ModelKind), typeof(double[]), typeof(double[]), typeof(EnsembleCombination), typeof(double), typeof(double), typeof(ViscosityCandidate[])];

    /// <summary>The settings recording <paramref name="rule"/> of an ensemble of <paramref name="kind"/>.</summary>
    public static (string Name, string Value)[] Settings(ModelKind kind, EnsembleRule rule) =>
    [
        (KindSetting, kind.ToString()),
        (ClassesSetting, JsonSerializer.Serialize(rule.ClassLabels)),
        (CombinationSetting, rule.Combination.ToString()),
        (ViscositySetting, SavedStage.Format(rule.Viscosity)),
        (LabelScaleSetting, SavedStage.Format(rule.LabelScale)),
        (LossesSetting, JsonSerializer.Serialize(rule.ValidationLosses.Select(SavedStage.Format))),
        (SearchSetting, JsonSerializer.Serialize(rule.Search.Select(candidate => new[] { candidate.Viscosity, candidate.ValidationLoss, candidate.ValidationMetric }.Select(SavedStage.Format)))),
    ];

    /// <summary>The task and rule <paramref name="stage"/> records.</summary>
    /// <exception cref="InvalidDataException">A setting is missing or damaged.</exception>
    public static (ModelKind Kind, EnsembleRule Rule) Read(SavedStage stage)
    {
        try
        {
            ModelKind kind = Enum.Parse<ModelKind>(stage.Text(KindSetting));
            double[] classes = JsonSerializer.Deserialize<double[]>(stage.Text(ClassesSetting)) ?? [];
            var combination = Enum.Parse<EnsembleCombination>(stage.Text(CombinationSetting));
            double[] losses = [.. (JsonSerializer.Deserialize<string[]>(stage.Text(LossesSetting)) ?? []).Select(Number)];
            ViscosityCandidate[] search = [.. (JsonSerializer.Deserialize<string[][]>(stage.Text(SearchSetting)) ?? []).Select(Candidate)];
            if (losses.Length == 0)
            {
                throw new InvalidDataException("The saved ensemble records no member losses.");
            }

            ConstructorInfo constructor = typeof(EnsembleRule).GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic, null, ConstructorParameters, null)
                ?? throw new InvalidOperationException($"HjMl's EnsembleRule has no constructor ({string.Join(", ", ConstructorParameters.Select(type => type.Name))}), which HjMl.MLNet uses to give a saved ensemble back; this HjMl.MLNet does not match its HjMl.");
            var rule = (EnsembleRule)constructor.Invoke([kind, classes, losses, combination, stage.Number(ViscositySetting), stage.Number(LabelScaleSetting), search]);
            return (kind, rule);
        }
        catch (Exception exception) when (exception is JsonException or FormatException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"The saved ensemble's rule is damaged: {exception.Message}", exception);
        }
    }

    private static double Number(string text) => double.Parse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);

    private static ViscosityCandidate Candidate(string[] values)
        => values.Length == 3
            ? new ViscosityCandidate(Number(values[0]), Number(values[1]), Number(values[2]))
            : throw new InvalidDataException($"A saved eps candidate has {values.Length} values instead of eps, loss and metric.");
}
