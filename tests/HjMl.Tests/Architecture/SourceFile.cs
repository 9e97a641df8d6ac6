using System.Text;
using System.Text.RegularExpressions;

namespace HjMl.Tests.Architecture;

/// <summary>
/// What the folder-dependency rule reads from one C# file: its code with comments and literal text removed (the code in
/// interpolation holes is kept), its namespace, its using directives and the types it declares at namespace level.
/// A text reading, not a compiler's: enough for a project whose files each hold one namespace declaration.
/// </summary>
public sealed partial class SourceFile
{
    private SourceFile(string path, string folder, string code)
    {
        Path = path;
        Folder = folder;
        Code = code;
        Match namespaceMatch = NamespaceDeclaration().Match(code);
        Namespace = namespaceMatch.Success ? namespaceMatch.Groups["name"].Value : string.Empty;
        Usings = [.. UsingDirective().Matches(code).Select(m => m.Groups["name"].Value)];
        int topLevelDepth = namespaceMatch.Success && namespaceMatch.Groups["block"].Success ? 1 : 0;
        var declared = new List<string>();
        int depth = 0;
        foreach (Match token in BracesAndDeclarations().Matches(code))
        {
            switch (token.Value)
            {
                case "{":
                    depth++;
                    break;
                case "}":
                    depth--;
                    break;
                default:
                    if (depth == topLevelDepth)
                    {
                        declared.Add(token.Groups["type"].Value);
                    }

                    break;
            }
        }

        DeclaredTypes = declared;
    }

    /// <summary>The path relative to the project folder, with '/' separators.</summary>
    public string Path { get; }

    /// <summary>The project's first-level folder holding the file, or empty for a file at the project's root.</summary>
    public string Folder { get; }

    /// <summary>The code without comments and literal text.</summary>
    public string Code { get; }

    /// <summary>The declared namespace, or empty (the global namespace).</summary>
    public string Namespace { get; }

    /// <summary>The names a using directive imports (plain, static, alias or global), as written.</summary>
    public IReadOnlyList<string> Usings { get; }

    /// <summary>The types declared at namespace level (not nested ones).</summary>
    public IReadOnlyList<string> DeclaredTypes { get; }

    /// <summary>
    /// The namespaces a name written in this file is looked up in, innermost first: the file's namespace and each
    /// enclosing one, down to the global namespace (written as empty).
    /// </summary>
    public IEnumerable<string> EnclosingNamespaces
    {
        get
        {
            for (string name = Namespace; name.Length > 0; name = name.Contains('.') ? name[..name.LastIndexOf('.')] : string.Empty)
            {
                yield return name;
            }

            yield return string.Empty;
        }
    }

    /// <summary>Reads every .cs file under <paramref name="projectFolder"/>, leaving out bin/ and obj/.</summary>
    public static IReadOnlyList<SourceFile> ReadProject(string projectFolder)
    {
        var files = new List<SourceFile>();
        foreach (string path in Directory.EnumerateFiles(projectFolder, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = System.IO.Path.GetRelativePath(projectFolder, path).Replace('\\', '/');
            string[] parts = relative.Split('/');
            if (parts[0] is "bin" or "obj")
            {
                continue;
            }

            files.Add(Parse(relative, parts.Length > 1 ? parts[0] : string.Empty, File.ReadAllText(path)));
        }

        return files;
    }

    /// <summary>Reads one file's text.</summary>
    public static SourceFile Parse(string path, string folder, string text) => new(path, folder, StripCommentsAndLiterals(text));

    /// <summary>
    /// The text with comments, character literals and the literal parts of strings replaced by spaces or empty quotes;
    /// the code inside interpolation holes stays, since names used there are references too.
    /// </summary>
    public static string StripCommentsAndLiterals(string text)
    {
        var code = new StringBuilder(text.Length);
        int i = 0;
        ReadCode(text, ref i, code, stopAtBrace: false);
        return code.ToString();
    }

    // Copies code until the end of the text or, inside an interpolation hole, the '}' that closes it.
    private static void ReadCode(string text, ref int i, StringBuilder code, bool stopAtBrace)
    {
        int nesting = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '/' && At(text, i + 1, '/'))
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && At(text, i + 1, '*'))
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 2;
                code.Append(' ');
            }
            else if (c == '\'')
            {
                i++;
                while (i < text.Length && text[i] != '\'')
                {
                    i += text[i] == '\\' ? 2 : 1;
                }

                i++;
                code.Append("' '");
            }
            else if (StringStart(text, i, out int prefixLength, out bool interpolated, out bool verbatim, out int quotes))
            {
                i += prefixLength;
                ReadString(text, ref i, code, interpolated, verbatim, quotes);
            }
            else
            {
                if (stopAtBrace && c == '}' && nesting == 0)
                {
                    i++;
                    return;
                }

                nesting += c switch { '{' or '(' or '[' => 1, '}' or ')' or ']' => -1, _ => 0 };
                code.Append(c);
                i++;
            }
        }
    }

    // A string literal starts here: "...", @"...", $"...", $@"...", @$"..." or a raw """...""" (with as many $ as it likes).
    private static bool StringStart(string text, int i, out int prefixLength, out bool interpolated, out bool verbatim, out int quotes)
    {
        int j = i;
        interpolated = false;
        verbatim = false;
        while (j < text.Length && (text[j] == '$' || text[j] == '@'))
        {
            interpolated |= text[j] == '$';
            verbatim |= text[j] == '@';
            j++;
        }

        quotes = 0;
        while (j + quotes < text.Length && text[j + quotes] == '"')
        {
            quotes++;
        }

        // "" is an empty string, """ or more opens a raw string.
        quotes = quotes >= 3 ? quotes : Math.Min(quotes, 1);
        prefixLength = j - i + quotes;
        return quotes > 0;
    }

    private static void ReadString(string text, ref int i, StringBuilder code, bool interpolated, bool verbatim, int quotes)
    {
        code.Append("\"\"");
        string closing = new('"', quotes);
        while (i < text.Length)
        {
            char c = text[i];
            if (quotes >= 3 && string.CompareOrdinal(text, i, closing, 0, quotes) == 0)
            {
                i += quotes;
                return;
            }

            if (quotes == 1 && c == '"')
            {
                if (verbatim && At(text, i + 1, '"'))
                {
                    i += 2;
                    continue;
                }

                i++;
                return;
            }

            if (quotes == 1 && !verbatim && c == '\\')
            {
                i += 2;
                continue;
            }

            if (interpolated && c == '{')
            {
                if (At(text, i + 1, '{'))
                {
                    i += 2;
                    continue;
                }

                i++;
                code.Append(' ');
                ReadCode(text, ref i, code, stopAtBrace: true);
                code.Append(' ');
                continue;
            }

            i++;
        }
    }

    private static bool At(string text, int index, char c) => index < text.Length && text[index] == c;

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[\w.]+)\s*(?:;|(?<block>\{))", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?<name>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"[{}]|\b(?:record\s+(?:struct|class)|class|struct|interface|enum|record)\s+@?(?!where\b)(?<type>[A-Za-z_]\w*)|\bdelegate\s+[\w<>\[\],.?\s]+?\s(?<type>[A-Za-z_]\w*)\s*[<(]")]
    private static partial Regex BracesAndDeclarations();
}
