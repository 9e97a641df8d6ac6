using System.Text.RegularExpressions;

namespace HjMl.Tests.Architecture;

/// <summary>
/// Which first-level folders of a project use which, read from the source text. A file in folder F depends on folder X
/// (X not F) when, outside comments and literal text, it has
/// <list type="number">
/// <item>a using directive (plain, static, alias or global) naming a namespace whose files lie in X, or a type declared in X;</item>
/// <item>a dotted name whose leading segments resolve, as C# resolves them from the file's namespace outwards, to such a
/// namespace: <c>HjMl.Attribution.ModelExplainer</c>, or <c>Attribution.ModelExplainer</c> written in namespace HjMl.Training
/// (a chain such as <c>Console.Error</c> counts only if a namespace <c>...Console</c> exists in the project); or</item>
/// <item>a simple name (not after a '.') of a type declared at namespace level in X, whose namespace the file sees: its own
/// namespace, an enclosing one (how the CLI's commands see the types in namespace HjMl.Cli), or one it imports.</item>
/// </list>
/// Files at the project's root belong to no folder and are neither counted nor counted on.
/// </summary>
public sealed partial class FolderDependencies
{
    private readonly Dictionary<(string From, string To), List<string>> evidence = [];

    private FolderDependencies(IReadOnlyList<SourceFile> files)
    {
        Folders = [.. files.Select(f => f.Folder).Where(f => f.Length > 0).Distinct().Order(StringComparer.Ordinal)];
        var namespaceFolders = files.GroupBy(f => f.Namespace).ToDictionary(g => g.Key, g => g.Select(f => f.Folder).ToHashSet());

        // Every namespace of the project, with the ones that hold no file themselves (HjMl above HjMl.Models).
        HashSet<string> namespaces = [.. files.SelectMany(f => f.EnclosingNamespaces)];
        ILookup<string, (string Namespace, string Folder)> types = files
            .SelectMany(f => f.DeclaredTypes.Select(type => (Type: type, f.Namespace, f.Folder)))
            .ToLookup(t => t.Type, t => (t.Namespace, t.Folder));

        foreach (SourceFile file in files.Where(f => f.Folder.Length > 0))
        {
            void Add(IEnumerable<string> folders, string reference)
            {
                foreach (string folder in folders.Where(x => x.Length > 0 && x != file.Folder))
                {
                    if (!evidence.TryGetValue((file.Folder, folder), out List<string>? list))
                    {
                        evidence[(file.Folder, folder)] = list = [];
                    }

                    string entry = $"{file.Path}: {reference}";
                    if (!list.Contains(entry))
                    {
                        list.Add(entry);
                    }
                }
            }

            // Rule 1: using directives.
            foreach (string name in file.Usings)
            {
                if (namespaceFolders.TryGetValue(name, out HashSet<string>? folders))
                {
                    Add(folders, $"using {name}");
                }
                else if (name.Contains('.'))
                {
                    string owner = name[..name.LastIndexOf('.')], type = name[(name.LastIndexOf('.') + 1)..];
                    Add(types[type].Where(t => t.Namespace == owner).Select(t => t.Folder), $"using {name}");
                }
            }

            // Rule 2: dotted names whose leading segments are a namespace of the project.
            foreach (Match chain in DottedName().Matches(file.Code))
            {
                string[] segments = [.. chain.Value.Split('.').Select(s => s.Trim())];
                string? resolved = file.EnclosingNamespaces.Select(e => e.Length == 0 ? segments[0] : $"{e}.{segments[0]}").FirstOrDefault(namespaces.Contains);
                for (int k = 1; resolved is not null && k < segments.Length; k++)
                {
                    string name = resolved;
                    (string Namespace, string Folder)[] declared = [.. types[segments[k]].Where(t => t.Namespace == name)];
                    if (declared.Length > 0)
                    {
                        Add(declared.Select(t => t.Folder), string.Join('.', segments[..(k + 1)]));
                        break;
                    }

                    string deeper = $"{name}.{segments[k]}";
                    if (!namespaces.Contains(deeper))
                    {
                        Add(namespaceFolders.GetValueOrDefault(name) ?? [], string.Join('.', segments[..(k + 1)]));
                        break;
                    }

                    resolved = deeper;
                }
            }

            // Rule 3: simple names of namespace-level types the file sees.
            HashSet<string> visible = [.. file.EnclosingNamespaces, .. file.Usings];
            foreach (Match name in SimpleName().Matches(file.Code))
            {
                (string Namespace, string Folder)[] declared = [.. types[name.Value].Where(t => visible.Contains(t.Namespace))];
                if (declared.Length > 0 && !declared.Any(t => t.Folder == file.Folder))
                {
                    Add(declared.Select(t => t.Folder), name.Value);
                }
            }
        }
    }

    /// <summary>The project's first-level folders.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>The folder pairs (from, to) where some file of the first uses the second.</summary>
    public IEnumerable<(string From, string To)> Edges => evidence.Keys;

    /// <summary>Reads the project in <paramref name="projectFolder"/>.</summary>
    public static FolderDependencies Read(string projectFolder) => new(SourceFile.ReadProject(projectFolder));

    /// <summary>The dependencies among the given files (the rule's own tests build projects from strings).</summary>
    public static FolderDependencies Of(IReadOnlyList<SourceFile> files) => new(files);

    /// <summary>Where <paramref name="from"/> uses <paramref name="to"/>: "file: reference" entries, or none.</summary>
    public IReadOnlyList<string> Evidence(string from, string to) => evidence.TryGetValue((from, to), out List<string>? list) ? list : [];

    /// <summary>
    /// The groups of folders that depend on each other, directly or through others (the strongly connected components
    /// of more than one folder), each sorted by name; empty when the dependencies run one way.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        // Tarjan's algorithm over the folder graph.
        var index = new Dictionary<string, int>();
        var lowLink = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var cycles = new List<IReadOnlyList<string>>();
        foreach (string folder in Folders.Where(f => !index.ContainsKey(f)))
        {
            Visit(folder);
        }

        return [.. cycles.OrderBy(c => c[0], StringComparer.Ordinal)];

        void Visit(string folder)
        {
            index[folder] = lowLink[folder] = index.Count;
            stack.Push(folder);
            foreach (string next in Edges.Where(e => e.From == folder).Select(e => e.To).Order(StringComparer.Ordinal))
            {
                if (!index.TryGetValue(next, out int nextIndex))
                {
                    Visit(next);
                    lowLink[folder] = Math.Min(lowLink[folder], lowLink[next]);
                }
                else if (stack.Contains(next))
                {
                    lowLink[folder] = Math.Min(lowLink[folder], nextIndex);
                }
            }

            if (lowLink[folder] == index[folder])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    component.Add(member);
                }
                while (member != folder);
                if (component.Count > 1)
                {
                    cycles.Add([.. component.Order(StringComparer.Ordinal)]);
                }
            }
        }
    }

    /// <summary>
    /// One line per group of folders that depend on each other: the folders, then each dependency inside the group with
    /// up to <paramref name="examples"/> places that create it.
    /// </summary>
    public string Describe(IReadOnlyList<string> cycle, int examples = 3)
    {
        IEnumerable<string> edges = Edges.Where(e => cycle.Contains(e.From) && cycle.Contains(e.To))
            .OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal)
            .Select(e =>
            {
                IReadOnlyList<string> places = Evidence(e.From, e.To);
                string more = places.Count > examples ? $", and {places.Count - examples} more" : string.Empty;
                return $"{e.From} -> {e.To} ({string.Join(", ", places.Take(examples))}{more})";
            });
        if (cycle.Count == 2)
        {
            return $"{cycle[0]} <-> {cycle[1]}: {string.Join("; ", edges)}";
        }

        // In a larger group, the pairs that use each other directly are where to start cutting.
        string[] twoWay = [.. Edges.Where(e => cycle.Contains(e.From) && string.CompareOrdinal(e.From, e.To) < 0 && evidence.ContainsKey((e.To, e.From)))
            .Select(e => $"{e.From} <-> {e.To}").Order(StringComparer.Ordinal)];
        string pairs = twoWay.Length > 0 ? $" (two-way: {string.Join(", ", twoWay)})" : string.Empty;
        return $"{string.Join(", ", cycle)}{pairs}: {string.Join("; ", edges)}";
    }

    [GeneratedRegex(@"(?<!\.\s*)(?<![\w@])[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)+")]
    private static partial Regex DottedName();

    [GeneratedRegex(@"(?<!\.\s*)(?<![\w@])[A-Z_]\w*\b")]
    private static partial Regex SimpleName();
}
