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
internal static class SavedEnsembleRule
{
    private const string KindSetting = "kind", ClassesSetting = "classes", CombinationSetting = "combination", ViscositySetting = "viscosity", LabelScaleSetting = "label_scale", LossesSetting = "losses", SearchSetting = "search";

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

            return (kind, EnsembleRule.Restore(kind, classes, losses, combination, stage.Number(ViscositySetting), stage.Number(LabelScaleSetting), search));
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
