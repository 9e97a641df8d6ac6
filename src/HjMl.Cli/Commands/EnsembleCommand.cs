using System.Globalization;
using System.Text;
using HjMl.Data;
using HjMl.Ensembles;
using HjMl.Evaluation;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Cli.Commands;

/// <summary>
/// <c>hjml ensemble</c>: trains k members (widths, viscosities and seeds varied) on 60% of the rows, chooses the
/// ensemble's eps on 20% (both combinations: global Gibbs weights and per-row log-sum-exp pooling), and reports member
/// weights and metrics on those rows and on the last 20%, held out from everything, against the best member.
/// </summary>
internal sealed class EnsembleCommand : IDescribedCommand
{
    public IReadOnlyList<VerbOption> Options { get; } =
    [
        new("data", "the CSV file to read (columns found by name); without it, the breast_cancer set embedded in the tool"),
        new("label", "the label column", OptionValue.Text, "Label"),
        new("task", "regression, binary or multiclass", OptionValue.Text, "binary"),
        new("members", "members trained", OptionValue.Integer, "5"),
        new("viscosity", "range of the ensemble eps searched, <from>..<to>"),
        new("steps", "points of the eps search", OptionValue.Integer, "31"),
        new("width", "support points per head of each member", OptionValue.Integer, "8 (16 for regression)"),
        new("member-viscosity", "eps of each member", OptionValue.Number, "0.5 (2 for regression)"),
        new("epochs", "epochs per member", OptionValue.Integer, "100"),
        new("seed", "random seed", OptionValue.Integer, "1"),
        new("threads", "threads for the gradient; 0 for all cores", OptionValue.Integer, "0"),
        new("out", "write the report to this CSV"),
    ];

    public string Name => "ensemble";

    public string Summary => "viscosity-controlled ensemble: train k members, choose eps on a validation split, compare with the best member";

    public string Usage => "hjml ensemble [--data <csv>] [--label <column>] [--task regression|binary|multiclass] [--members 5] [--viscosity <from>..<to>] [--steps 31] [--width N] [--member-viscosity eps] [--epochs E] [--seed s] [--threads n] [--out report.csv]";

    public int Run(ParsedArguments arguments, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        string? dataPath = arguments.Text("data");
        string label = arguments.Text("label") ?? "Label";
        ModelKind kind = TrainingSettings.Kind(arguments.Text("task"), ModelKind.BinaryClassification);
        if (dataPath is not null && !arguments.Has("task"))
        {
            throw new UsageException("--task is required with --data: regression, binary or multiclass.");
        }

        int count = arguments.Integer("members", 5, 1, CommandLimits.Members);
        string? range = arguments.Text("viscosity");
        int steps = arguments.Integer("steps", 31, 2, CommandLimits.Steps);
        var defaults = new HopfColeTrainerOptions();
        var options = new HopfColeTrainerOptions
        {
            Kind = kind,
            NumberOfSupportPoints = arguments.Integer("width", kind == ModelKind.Regression ? 16 : 8),
            Viscosity = arguments.Number("member-viscosity", kind == ModelKind.Regression ? 2 : defaults.Viscosity),
            MaximumEpochs = arguments.Integer("epochs", defaults.MaximumEpochs),
            Seed = arguments.Integer("seed", 1),
            MaximumDegreeOfParallelism = arguments.Integer("threads", defaults.MaximumDegreeOfParallelism),
        };
        string? outPath = arguments.Text("out");
        arguments.RejectUnknown();
        double[]? grid = null;
        if (range is not null)
        {
            (double from, double to) = ViscosityRange.Parse(range, "viscosity");
            grid = ViscosityRange.Geometric(from, to, steps, keepZero: true);
        }

        (Dataset data, string name) = DataSource.Load(dataPath, label);
        if (data.Rows < 5)
        {
            throw new ArgumentException($"{name} has {data.Rows} rows; the 60/20/20 split needs at least 5.");
        }

        int[] order = data.ShuffledRows(options.Seed);
        int trainingEnd = data.Rows * 3 / 5, validationEnd = data.Rows * 4 / 5;
        Dataset training = data.Subset(order[..trainingEnd]);
        Dataset validation = data.Subset(order[trainingEnd..validationEnd]);
        Dataset test = data.Subset(order[validationEnd..]);

        // Members take up to twice the width (EnsembleTraining varies it): the given width against the rows, twice it against memory.
        TrainingSize.Check(training, options);
        TrainingSize.Check(training, options with { NumberOfSupportPoints = (int)Math.Min(int.MaxValue, 2L * options.NumberOfSupportPoints) }, checkRows: false);
        string metricName = kind == ModelKind.Regression ? "R²" : "accuracy";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ensemble of {count} {TrainingSettings.TaskName(kind)} members on {name}: {training.Rows} training, {validation.Rows} validation (eps is chosen here), {test.Rows} held-out rows; seed {options.Seed}"));
        var progress = new InlineProgress<EnsembleMember>(member => output.WriteLine($"  trained {member.Name}"));
        IReadOnlyList<EnsembleMember> members = EnsembleTraining.TrainMembers(training, options, count, progress, cancellation);

        ViscosityEnsemble gibbs = ViscosityEnsemble.Fit(members, validation, EnsembleCombination.GibbsWeights, grid);
        ViscosityEnsemble pooled = ViscosityEnsemble.Fit(members, validation, EnsembleCombination.LogSumExpPooling, grid);
        ViscosityEnsemble chosen = pooled.ValidationLoss < gibbs.ValidationLoss ? pooled : gibbs;
        string lossName = kind == ModelKind.Regression ? "1-R²" : "log-loss";

        double[] memberValidation = members.Select(member => ModelMetrics.Evaluate(member.Model!, validation).Primary).ToArray();
        double[] memberTest = members.Select(member => ModelMetrics.Evaluate(member.Model!, test).Primary).ToArray();
        double[] pooledShare = RowShares(pooled, test);
        output.WriteLine();
        output.WriteLine($"{"member",-34} {"val " + lossName,12} {"val " + metricName,12} {"test " + metricName,13} {"Gibbs weight",13} {"pooled share",13}");
        for (int k = 0; k < members.Count; k++)
        {
            string marker = k == gibbs.BestMember ? " (best)" : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{members[k].Name + marker,-34} {gibbs.ValidationLosses[k],12:F4} {memberValidation[k],12:F4} {memberTest[k],13:F4} {gibbs.GlobalWeights[k],13:F3} {pooledShare[k],13:F3}"));
        }

        output.WriteLine("(Gibbs weight: softmax(-L/eps) at the chosen eps, the same on every row; pooled share: the mean per-row weight over the held-out rows)");
        output.WriteLine();
        output.WriteLine($"{"combination",-20} {"eps",10} {"val " + lossName,12} {"val " + metricName,12} {"test " + metricName,13}");
        foreach (ViscosityEnsemble ensemble in new[] { gibbs, pooled })
        {
            string marker = ReferenceEquals(ensemble, chosen) ? " *" : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Describe(ensemble.Combination) + marker,-20} {ensemble.Viscosity,10:G4} {ensemble.ValidationLoss,12:F4} {ensemble.ValidationMetric,12:F4} {ensemble.Evaluate(test).Primary,13:F4}"));
        }

        int best = gibbs.BestMember;
        double chosenTest = chosen.Evaluate(test).Primary;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"best member",-20} {"-",10} {gibbs.ValidationLosses[best],12:F4} {memberValidation[best],12:F4} {memberTest[best],13:F4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ensemble ({Describe(chosen.Combination)}, eps {chosen.Viscosity:G4}) held-out {metricName} {chosenTest:F4} vs best member {memberTest[best]:F4} ({chosenTest - memberTest[best]:+0.0000;-0.0000;0.0000})"));

        if (outPath is not null)
        {
            string report = Report(members, gibbs, pooled, chosen, memberValidation, memberTest, pooledShare, test);
            AtomicFile.Write(outPath, stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                writer.Write(report);
            });
            output.WriteLine($"report written to {outPath}");
        }

        return 0;
    }

    private static string Describe(EnsembleCombination combination) => combination == EnsembleCombination.GibbsWeights ? "Gibbs weights" : "LSE pooling";

    // The mean per-row member weight over the rows: how much of the data each member carries.
    private static double[] RowShares(ViscosityEnsemble ensemble, Dataset rows)
    {
        int count = ensemble.NumberOfMembers;
        var weights = new double[rows.Rows * count];
        ensemble.ScoreBatch(rows.Features, new double[rows.Rows * ensemble.OutputLength], weights);
        var share = new double[count];
        for (int row = 0; row < rows.Rows; row++)
        {
            for (int k = 0; k < count; k++)
            {
                share[k] += weights[(row * count) + k] / rows.Rows;
            }
        }

        return share;
    }

    // Long format: one row per member, per combination and per eps the search tried.
    private static string Report(IReadOnlyList<EnsembleMember> members, ViscosityEnsemble gibbs, ViscosityEnsemble pooled, ViscosityEnsemble chosen, double[] memberValidation, double[] memberTest, double[] pooledShare, Dataset test)
    {
        var text = new StringBuilder();
        text.AppendLine("row,name,viscosity,validation_loss,validation_metric,test_metric,gibbs_weight,pooled_share,chosen");
        for (int k = 0; k < members.Count; k++)
        {
            text.AppendLine(Line("member", members[k].Name, double.NaN, gibbs.ValidationLosses[k], memberValidation[k], memberTest[k], gibbs.GlobalWeights[k], pooledShare[k], k == gibbs.BestMember));
        }

        foreach (ViscosityEnsemble ensemble in new[] { gibbs, pooled })
        {
            string name = Describe(ensemble.Combination);
            text.AppendLine(Line("ensemble", name, ensemble.Viscosity, ensemble.ValidationLoss, ensemble.ValidationMetric, ensemble.Evaluate(test).Primary, double.NaN, double.NaN, ReferenceEquals(ensemble, chosen)));
            foreach (ViscosityCandidate candidate in ensemble.Search)
            {
                text.AppendLine(Line("search", name, candidate.Viscosity, candidate.ValidationLoss, candidate.ValidationMetric, double.NaN, double.NaN, double.NaN, candidate.Viscosity == ensemble.Viscosity));
            }
        }

        return text.ToString();
    }

    private static string Line(string row, string name, double viscosity, double loss, double validation, double test, double weight, double share, bool chosen)
        => string.Join(',', row, '"' + name.Replace("\"", "\"\"", StringComparison.Ordinal) + '"', Format(viscosity), Format(loss), Format(validation), Format(test), Format(weight), Format(share), chosen ? "1" : "0");

    private static string Format(double value) => double.IsNaN(value) ? string.Empty : value.ToString("R", CultureInfo.InvariantCulture);
}
