using System.Globalization;
using HjMl.Ensembles;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// Every member's out-of-fold scores: for each fold, each member is fitted on the other folds and scores the fold's
/// rows, so every row is scored by every member once, by a fit that did not see it (<see cref="MemberScores"/>'s
/// convention, laid out [row][member][output] as <see cref="EnsembleRule.Fit(ModelKind, IReadOnlyList{double}, int, ReadOnlySpan{double}, ReadOnlySpan{double}, IReadOnlyList{double}?)"/>
/// reads them), with the rows' labels. Rows whose label is missing (a NaN regression label, a key of 0) are left out,
/// as ML.NET's evaluators leave them out.
/// </summary>
/// <remarks>
/// <b>Failed runs.</b> A fit that does worse on its held-out fold than the fold's prior, the constant prediction that
/// knows only the labels (R^2 &lt; 0 for regression, a negative log-loss reduction for classifiers, in ML.NET's terms),
/// has failed: it learnt less than nothing, as when a run stops at its first epoch far from any fit. When such a run is
/// the exception for its member (the member's runs on more than half of the folds beat their prior), the fold's rows
/// are left out of the rule's fit for every member, so the failure neither decides that member's weight nor the eps;
/// the refit on all rows is a different run. A member that fails on most folds is measured as it is. If every fold
/// holds an exceptional failure, no row is left out. Each such fold is reported to MLContext.Log as a warning.
/// </remarks>
internal sealed class HeldOutScores
{
    private HeldOutScores(double[] scores, double[] labels, double[] classLabels, int outputs)
    {
        Scores = scores;
        Labels = labels;
        ClassLabels = classLabels;
        Outputs = outputs;
    }

    /// <summary>Rows x members x outputs scores.</summary>
    public double[] Scores { get; }

    /// <summary>The rows' labels: the regression target, 0/1 for binary, the 0-based class index for multiclass.</summary>
    public double[] Labels { get; }

    /// <summary>The classes in the rule's terms: none, [0, 1], or [0, ..., K-1].</summary>
    public double[] ClassLabels { get; }

    /// <summary>Scores per member and row: the class count for multiclass, 1 otherwise.</summary>
    public int Outputs { get; }

    /// <summary>Fits every member on every fold's complement and collects its scores on the fold (see the class remarks).</summary>
    /// <exception cref="ArgumentException">The label column is missing or of a type the task does not take, or no row has a label.</exception>
    /// <exception cref="InvalidOperationException">A member writes no prediction column, drops rows, or writes a non-finite value.</exception>
    public static HeldOutScores Collect(ModelKind kind, IReadOnlyList<IEstimator<ITransformer>> members, IDataView input, string labelColumnName, Folds folds, IChannel channel)
    {
        (double[] labels, int classes) = ReadLabels(kind, input, labelColumnName);
        int count = members.Count, outputs = kind == ModelKind.MulticlassClassification ? classes : 1;
        var scores = new double[folds.Rows * count * outputs];
        var foldLosses = new double[count, folds.Count];
        for (int fold = 0; fold < folds.Count; fold++)
        {
            int[] rows = folds.HeldOutRows(fold);
            for (int k = 0; k < count; k++)
            {
                string member = string.Create(CultureInfo.InvariantCulture, $"{Describe(members, k)} fitted without fold {fold + 1} of {folds.Count}");
                ITransformer fitted = members[k].Fit(folds.Training(fold));
                try
                {
                    Score(kind, fitted.Transform(folds.HeldOut(fold)), member, rows, scores, k, count, outputs);
                }
                finally
                {
                    (fitted as IDisposable)?.Dispose();
                }

                foldLosses[k, fold] = Loss(kind, scores, labels, rows, k, count, outputs, classes);
            }
        }

        bool[] failed = FailedFolds(members, folds, foldLosses, labels, classes, kind, channel);
        int[] kept = [.. Enumerable.Range(0, labels.Length).Where(row => !double.IsNaN(labels[row]) && !failed[folds.FoldOf(row)])];
        if (kept.Length == 0)
        {
            throw new ArgumentException($"Every row's '{labelColumnName}' is missing; the members' losses are measured on labelled rows.", nameof(input));
        }

        int width = count * outputs;
        var keptScores = new double[kept.Length * width];
        for (int i = 0; i < kept.Length; i++)
        {
            scores.AsSpan(kept[i] * width, width).CopyTo(keptScores.AsSpan(i * width, width));
        }

        for (int k = 0; k < count; k++)
        {
            string perFold = string.Join(", ", Enumerable.Range(0, folds.Count).Select(fold => foldLosses[k, fold].ToString("G4", CultureInfo.InvariantCulture)));
            channel.Info(MessageSensitivity.None, $"{Describe(members, k)}: held-out loss per fold {perFold}.");
        }

        double[] classLabels = kind == ModelKind.Regression ? [] : [.. Enumerable.Range(0, classes).Select(c => (double)c)];
        return new HeldOutScores(keptScores, [.. kept.Select(row => labels[row])], classLabels, outputs);
    }

    /// <summary>"Member k (its type)", as messages and the log name members.</summary>
    public static string Describe(IReadOnlyList<IEstimator<ITransformer>> members, int k)
        => string.Create(CultureInfo.InvariantCulture, $"Member {k} ({members[k].GetType().Name.Split('`')[0]})");

    // The folds holding a run that did worse than the fold's prior where its member's runs mostly did not (see the remarks).
    private static bool[] FailedFolds(IReadOnlyList<IEstimator<ITransformer>> members, Folds folds, double[,] foldLosses, double[] labels, int classes, ModelKind kind, IChannel channel)
    {
        double[] priors = [.. Enumerable.Range(0, folds.Count).Select(fold => PriorLoss(kind, [.. folds.HeldOutRows(fold).Select(row => labels[row]).Where(label => !double.IsNaN(label))], classes))];
        var failed = new bool[folds.Count];
        for (int k = 0; k < members.Count; k++)
        {
            bool[] worse = [.. Enumerable.Range(0, folds.Count).Select(fold => foldLosses[k, fold] > priors[fold])];
            if (2 * worse.Count(isWorse => !isWorse) > folds.Count)
            {
                for (int fold = 0; fold < folds.Count; fold++)
                {
                    failed[fold] |= worse[fold];
                }
            }
        }

        if (failed.All(isFailed => isFailed))
        {
            channel.Warning(MessageSensitivity.None, "Every fold holds a member's run that did worse than the fold's prior; the ensemble is fitted on every row.");
            return new bool[folds.Count];
        }

        for (int k = 0; k < members.Count; k++)
        {
            for (int fold = 0; fold < folds.Count; fold++)
            {
                if (failed[fold] && foldLosses[k, fold] > priors[fold])
                {
                    channel.Warning(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture, $"{Describe(members, k)} fitted without fold {fold + 1} of {folds.Count} did worse on it than the fold's prior (held-out loss {foldLosses[k, fold]:G4} > {priors[fold]:G4}) where its other runs did not: a failed run, so fold {fold + 1}'s rows are left out of the ensemble's fit."));
                }
            }
        }

        return failed;
    }

    // The loss of the constant prediction that knows only the fold's labels: 1 for regression (1 - R^2 of the mean),
    // the entropy of the class frequencies for classifiers (the log-loss of predicting them).
    private static double PriorLoss(ModelKind kind, double[] labels, int classes)
    {
        if (labels.Length == 0)
        {
            return double.NaN;
        }

        if (kind == ModelKind.Regression)
        {
            return 1;
        }

        var counts = new int[classes];
        foreach (double label in labels)
        {
            counts[(int)label]++;
        }

        return -counts.Where(count => count > 0).Sum(count => (double)count / labels.Length * Math.Log((double)count / labels.Length));
    }

    // Reads the member's held-out scores into the rows of the fold, which the view keeps in the data's order.
    private static void Score(ModelKind kind, IDataView scored, string member, int[] rows, double[] scores, int k, int count, int outputs)
    {
        string source = MemberScores.SourceColumn(kind);
        DataViewSchema.Column column = scored.Schema.GetColumnOrNull(source)
            ?? throw new InvalidOperationException($"{member} writes no '{source}' column{(kind == ModelKind.BinaryClassification ? " (binary members must be calibrated, so that they write Probability)" : string.Empty)}.");
        using DataViewRowCursor cursor = scored.GetRowCursor([column]);
        var reader = new MemberScores(kind, cursor, member);
        int row = 0;
        while (cursor.MoveNext())
        {
            if (row < rows.Length)
            {
                reader.Read(scores.AsSpan(((rows[row] * count) + k) * outputs, outputs));
            }

            row++;
        }

        if (row != rows.Length)
        {
            throw new InvalidOperationException($"{member} scored {row} of the fold's {rows.Length} rows; an ensemble member must keep every row it is given.");
        }
    }

    // The member's loss on one fold, as the rule measures it (log-loss, or 1 - R^2 against the fold's own variance).
    private static double Loss(ModelKind kind, double[] scores, double[] labels, int[] rows, int k, int count, int outputs, int classes)
    {
        int[] labelled = [.. rows.Where(row => !double.IsNaN(labels[row]))];
        if (labelled.Length == 0)
        {
            return double.NaN;
        }

        var single = new double[labelled.Length * outputs];
        var foldLabels = new double[labelled.Length];
        for (int i = 0; i < labelled.Length; i++)
        {
            scores.AsSpan(((labelled[i] * count) + k) * outputs, outputs).CopyTo(single.AsSpan(i * outputs, outputs));
            foldLabels[i] = labels[labelled[i]];
        }

        double[] classLabels = [.. Enumerable.Range(0, kind == ModelKind.Regression ? 0 : classes).Select(c => (double)c)];
        int[] truth = ViscositySearch.TruthIndices(kind, classLabels, foldLabels);
        double scale = kind == ModelKind.Regression ? ViscositySearch.LabelDeviation(foldLabels) : 1;
        return ViscositySearch.Loss(kind, single, foldLabels, truth, scale);
    }

    // The labels in the rule's terms (NaN where missing) and the class count (2 for binary, the key count for multiclass).
    private static (double[] Labels, int Classes) ReadLabels(ModelKind kind, IDataView input, string name)
    {
        DataViewSchema.Column column = input.Schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(input), $"The label column '{name}' is not in the input; the members' losses are measured on it.");
        DataViewType type = column.Type;
        var labels = new List<double>();
        using DataViewRowCursor cursor = input.GetRowCursor([column]);
        switch (kind)
        {
            case ModelKind.Regression when type == NumberDataViewType.Single:
                ValueGetter<float> single = cursor.GetGetter<float>(column);
                float value = 0;
                while (cursor.MoveNext())
                {
                    single(ref value);
                    labels.Add(value);
                }

                return ([.. labels], 0);
            case ModelKind.Regression when type == NumberDataViewType.Double:
                ValueGetter<double> number = cursor.GetGetter<double>(column);
                double target = 0;
                while (cursor.MoveNext())
                {
                    number(ref target);
                    labels.Add(target);
                }

                return ([.. labels], 0);
            case ModelKind.BinaryClassification when type == BooleanDataViewType.Instance:
                ValueGetter<bool> flag = cursor.GetGetter<bool>(column);
                bool positive = false;
                while (cursor.MoveNext())
                {
                    flag(ref positive);
                    labels.Add(positive ? 1 : 0);
                }

                return ([.. labels], 2);
            case ModelKind.MulticlassClassification when type is KeyDataViewType { RawType: var raw } key && raw == typeof(uint):
                ValueGetter<uint> keyGetter = cursor.GetGetter<uint>(column);
                uint keyValue = 0;
                while (cursor.MoveNext())
                {
                    keyGetter(ref keyValue);
                    labels.Add(keyValue == 0 ? double.NaN : keyValue - 1.0);
                }

                return ([.. labels], checked((int)key.Count));
            default:
                string expected = kind switch
                {
                    ModelKind.Regression => "Single or Double",
                    ModelKind.BinaryClassification => "Boolean",
                    _ => "a key of UInt32 (MapValueToKey)",
                };
                throw new ArgumentOutOfRangeException(nameof(input), $"The label column '{name}' holds {type}; a {kind} ensemble needs {expected}.");
        }
    }
}
