using HjMl.Tests.Support;

namespace HjMl.Tests.Architecture;

/// <summary>
/// The layout rules of issue 14 ("One house"), read from the source tree: no source file over 800 lines, and within
/// each project the first-level folders depend on each other one way only (the rule is <see cref="FolderDependencies"/>).
/// </summary>
public class SourceLayoutTests
{
    private const int MaximumLines = 800;

    public static TheoryData<string> Projects => ["src/HjMl", "src/HjMl.Cli", "src/HjMl.MLNet"];

    [Fact]
    public void NoSourceFileIsOver800Lines()
    {
        string source = Path.Combine(TestData.RepositoryRoot, "src");
        string[] tooLong = [.. Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(TestData.RepositoryRoot, path).Replace('\\', '/'))
            .Where(path => !path.Split('/').Any(part => part is "bin" or "obj"))
            .Select(path => (Path: path, Lines: File.ReadLines(Path.Combine(TestData.RepositoryRoot, path)).Count()))
            .Where(file => file.Lines > MaximumLines)
            .OrderByDescending(file => file.Lines)
            .Select(file => $"{file.Path} has {file.Lines} lines")];

        Assert.True(tooLong.Length == 0, $"{tooLong.Length} source file(s) over {MaximumLines} lines: {string.Join("; ", tooLong)}");
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void FoldersOfAProjectDependOnEachOtherOneWayOnly(string project)
    {
        FolderDependencies dependencies = FolderDependencies.Read(Path.Combine(TestData.RepositoryRoot, project));
        IReadOnlyList<IReadOnlyList<string>> cycles = dependencies.Cycles();

        Assert.True(dependencies.Folders.Count > 1, $"{project} has {dependencies.Folders.Count} folders; the rule needs the source tree");
        Assert.True(cycles.Count == 0, $"{project}: {cycles.Count} group(s) of folders depend on each other: {string.Join(" | ", cycles.Select(c => dependencies.Describe(c)))}");
    }

    [Fact]
    public void DependencyRuleSeesUsingsQualifiedNamesAndVisibleTypesButNotCommentsStringsOrNestedTypes()
    {
        FolderDependencies dependencies = FolderDependencies.Of(
        [
            File("Base/Thing.cs", "namespace P.Base;\npublic sealed class Thing { }\npublic delegate void Scorer(int row);"),
            File("Shared/Helper.cs", "namespace P;\ninternal static class Helper { internal sealed class Hidden { } }"),
            File("Quiet/Gadget.cs", "namespace P.Quiet;\npublic enum Gadget { One }"),
            File("Imports/A.cs", "using P.Base;\n\nnamespace P.Imports;\ninternal static class A { }"),
            File("Relative/B.cs", "namespace P.Relative;\ninternal static class B { static object Make() => new Base.Thing(); }"),
            File("Full/C.cs", "namespace P.Full;\ninternal static class C { static object Make() => new global::P.Base.Thing(); }"),
            File("Enclosing/D.cs", "namespace P.Enclosing;\ninternal static class D { static string Name => nameof(Helper); }"),
            File("Delegates/E.cs", "using P.Base;\nnamespace P.Delegates;\ninternal static class E { static Scorer? S; }"),
            File(
                "Silent/F.cs",
                """"
                namespace P.Silent;
                // Quiet.Gadget and P.Quiet.Gadget in a comment; /* Gadget */ too.
                internal static class F
                {
                    static string Text => $"{Console.Error} Quiet.Gadget {{Helper}} {"P.Quiet.Gadget"}" + @"Quiet.Gadget ""x""" + 'Q';
                    static object? Nested => default(Hidden);
                }
                """"),
        ]);

        Assert.Equal(["Delegates -> Base", "Enclosing -> Shared", "Full -> Base", "Imports -> Base", "Relative -> Base"], Render(dependencies));
        Assert.Empty(dependencies.Cycles());
        Assert.Equal(["Relative/B.cs: Base.Thing"], dependencies.Evidence("Relative", "Base"));

        FolderDependencies cyclic = FolderDependencies.Of(
        [
            File("Up/U.cs", "using P.Down;\nnamespace P.Up;\ninternal static class U { }"),
            File("Down/V.cs", "namespace P.Down;\ninternal static class V { static object Make() => new Up.U(); }"),
            File("Side/W.cs", "using P.Up;\nnamespace P.Side;\ninternal static class W { }"),
        ]);
        IReadOnlyList<string> cycle = Assert.Single(cyclic.Cycles());
        Assert.Equal(["Down", "Up"], cycle);
        Assert.Equal("Down <-> Up: Down -> Up (Down/V.cs: Up.U); Up -> Down (Up/U.cs: using P.Down)", cyclic.Describe(cycle));

        FolderDependencies ring = FolderDependencies.Of(
        [
            File("X/X.cs", "using P.Y;\nnamespace P.X;\ninternal static class X1 { }"),
            File("Y/Y.cs", "using P.Z;\nnamespace P.Y;\ninternal static class Y1 { }"),
            File("Z/Z.cs", "using P.X;\nnamespace P.Z;\ninternal static class Z1 { }"),
        ]);
        IReadOnlyList<string> through = Assert.Single(ring.Cycles());
        Assert.Equal(["X", "Y", "Z"], through);
        Assert.StartsWith("X, Y, Z: X -> Y (X/X.cs: using P.Y); Y -> Z", ring.Describe(through));

        static SourceFile File(string path, string text) => SourceFile.Parse(path, path[..path.IndexOf('/')], text);

        static string[] Render(FolderDependencies graph) => [.. graph.Edges.Select(e => $"{e.From} -> {e.To}").Order(StringComparer.Ordinal)];
    }
}
