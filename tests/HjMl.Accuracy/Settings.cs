using System.Globalization;

namespace HjMl.Accuracy;

/// <summary>The command line: which data sets, where they are, HjMl's columns, the protocol and where the report goes.</summary>
internal sealed class Settings
{
    /// <summary>What --help prints.</summary>
    public const string Usage = """
        HjMl.Accuracy: HjMl's Hopf–Cole trainers (ML.NET plug-in) against ML.NET's LightGbm, FastTree and linear trainers.

          --hjml Name=Value,...   an HjMl column: the plug-in's trainer options set by property name (e.g.
                                  --hjml NumberOfSupportPoints=64,Viscosity=0.2); repeat for several columns; none
                                  runs one column with the plug-in's defaults, and an empty value adds that column
          --datasets a,b          the data sets to run (default: all of iris, breast_cancer, digits, diabetes,
                                  adult, mnist-10000 that a data folder holds)
          --data FOLDER           a folder with the CSV files; repeatable, searched in order (default:
                                  ../shared/data beside the repository, then the repository's data/)
          --peers a,b             ML.NET's columns to run (default: LightGbm,FastTree,Linear; 'none' for HjMl's
                                  alone, for quick experiments: the gap columns then stay empty)
          --folds K               k of the cross-validation (default 5; mnist-10000 always uses one 80/20 hold-out)
          --seed S                the seed of the splits and of every MLContext (default 1)
          --output FILE           also write the Markdown report there
          --command TEXT          the command recorded in the report (scripts/accuracy passes its own)
          --machine TEXT          an extra line about the machine for the report; repeatable
        """;

    /// <summary>HjMl's columns; the plug-in's defaults when none were given.</summary>
    public List<HjMlConfiguration> Configurations { get; } = [];

    /// <summary>The data sets asked for by name; empty for every one found.</summary>
    public List<string> DataSets { get; } = [];

    /// <summary>The data folders, in search order.</summary>
    public List<string> DataFolders { get; } = [];

    /// <summary>ML.NET's peers to run, by column heading; all of them unless --peers named some.</summary>
    public List<string> Peers { get; } = [.. Learner.Peers.Select(peer => peer.Name)];

    /// <summary>k.</summary>
    public int Folds { get; private set; } = 5;

    /// <summary>The seed.</summary>
    public int Seed { get; private set; } = 1;

    /// <summary>The report's path, or null for the console only.</summary>
    public string? Output { get; private set; }

    /// <summary>The command recorded in the report.</summary>
    public string? Command { get; private set; }

    /// <summary>Extra machine lines.</summary>
    public List<string> Machine { get; } = [];

    /// <summary>True when --help was asked for.</summary>
    public bool Help { get; private set; }

    /// <summary>Parses <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An unknown argument, a missing value or a bad option (the message names it).</exception>
    public static Settings Parse(IReadOnlyList<string> args)
    {
        var settings = new Settings();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--hjml":
                    settings.Configurations.Add(HjMlConfiguration.Parse(Value()));
                    break;
                case "--datasets":
                    settings.DataSets.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--data":
                    settings.DataFolders.Add(Value());
                    break;
                case "--peers":
                    settings.Peers.Clear();
                    settings.Peers.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(name => name != "none"));
                    break;
                case "--folds":
                    settings.Folds = Positive(args[i], Value(), minimum: 2);
                    break;
                case "--seed":
                    settings.Seed = Positive(args[i], Value(), minimum: 0);
                    break;
                case "--output":
                    settings.Output = Value();
                    break;
                case "--command":
                    settings.Command = Value();
                    break;
                case "--machine":
                    settings.Machine.Add(Value());
                    break;
                case "--help" or "-h":
                    settings.Help = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}' (see --help).");
            }
        }

        string? unknown = settings.DataSets.FirstOrDefault(name => DataSet.All.All(set => set.Name != name));
        if (unknown is not null)
        {
            throw new ArgumentException($"--datasets: no data set is named '{unknown}'; the sets are {string.Join(", ", DataSet.All.Select(set => set.Name))}.");
        }

        string? unknownPeer = settings.Peers.FirstOrDefault(name => Learner.Peers.All(peer => peer.Name != name));
        if (unknownPeer is not null)
        {
            throw new ArgumentException($"--peers: no peer is named '{unknownPeer}'; the peers are {string.Join(", ", Learner.Peers.Select(peer => peer.Name))} (or none).");
        }

        if (settings.Configurations.Count == 0)
        {
            settings.Configurations.Add(HjMlConfiguration.Defaults);
        }

        return settings;
    }

    private static int Positive(string name, string value, int minimum)
        => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number) && number >= minimum
            ? number
            : throw new ArgumentException($"{name} {value}: expected an integer ≥ {minimum}.");
}
