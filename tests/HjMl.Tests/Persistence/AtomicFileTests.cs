using System.Diagnostics;
using HjMl.Cli;
using HjMl.Persistence;
using HjMl.Tests.Support;

namespace HjMl.Tests.Persistence;

/// <summary>
/// Saving replaces only what it should (issue 19, item 3): through a symbolic link it writes the link's target and keeps
/// the link, it keeps the replaced file's permissions and owner, it refuses FIFOs and devices, and any failure it can
/// catch leaves no temporary file.
/// </summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-atomic-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void SavingThroughASymbolicLinkReplacesItsTargetAndKeepsTheLink()
    {
        string target = Path.Combine(folder, "real.hjml"), link = Path.Combine(folder, "link.hjml");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(link, "real.hjml");
        AtomicFile.Write(link, stream => stream.Write("new"u8));
        Assert.Equal("real.hjml", new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(["link.hjml", "real.hjml"], Names());
    }

    [Fact]
    public void SavingThroughAChainOfLinksAndADanglingLinkWritesTheFinalTarget()
    {
        string target = Path.Combine(folder, "final.hjml");
        File.CreateSymbolicLink(Path.Combine(folder, "second"), target);
        File.CreateSymbolicLink(Path.Combine(folder, "first"), Path.Combine(folder, "second"));
        AtomicFile.Write(Path.Combine(folder, "first"), stream => stream.Write("made"u8));
        Assert.Equal("made", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(Path.Combine(folder, "first")).LinkTarget);
        Assert.NotNull(new FileInfo(Path.Combine(folder, "second")).LinkTarget);
    }

    [Fact]
    public void ALinkLoopIsRefusedNamingThePath()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // symbolic links need privileges there
        }

        string a = Path.Combine(folder, "a"), b = Path.Combine(folder, "b");
        File.CreateSymbolicLink(a, b);
        File.CreateSymbolicLink(b, a);
        var problem = Assert.Throws<IOException>(() => AtomicFile.Write(a, stream => stream.Write("x"u8)));
        Assert.Contains($"Cannot write '{a}'", problem.Message);
        Assert.Equal(["a", "b"], Names());
    }

    [Fact]
    public void SavingKeepsTheReplacedFilesPermissions()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix modes
        }

        string path = Path.Combine(folder, "private.hjml");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        AtomicFile.Write(path, stream => stream.Write("new"u8));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void SavingAsRootKeepsTheReplacedFilesOwnerAndGroup()
    {
        string path = Path.Combine(folder, "owned.hjml");
        File.WriteAllText(path, "old");
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !Run("chown", "12345:23456", path))
        {
            return; // only root may give a file away; other users keep their own files' owner by default
        }

        AtomicFile.Write(path, stream => stream.Write("new"u8));
        FileTarget written = FileTarget.Resolve(path, path);
        Assert.Equal(12345u, written.Owner);
        Assert.Equal(23456u, written.Group);
    }

    [Fact]
    public void AFifoIsRefusedAndStaysAFifo()
    {
        string fifo = Path.Combine(folder, "pipe");
        if (!OperatingSystem.IsLinux() || !Run("mkfifo", fifo))
        {
            return; // mkfifo is a Unix tool; the refusal reads the file type from statx on Linux
        }

        var problem = Assert.Throws<IOException>(() => AtomicFile.Write(fifo, stream => stream.Write("x"u8)));
        Assert.Contains("a FIFO (named pipe), not a regular file", problem.Message);
        Assert.Equal("a FIFO (named pipe)", FileTarget.Resolve(fifo, fifo).NonRegularKind);
        Assert.Equal(["pipe"], Names());
    }

    [Fact]
    public void ALinkToADeviceIsRefusedAndTheDeviceIsLeftAlone()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/null"))
        {
            return;
        }

        string link = Path.Combine(folder, "null.hjml");
        File.CreateSymbolicLink(link, "/dev/null");
        var problem = Assert.Throws<IOException>(() => ModelFile.Save(PrototypeModels.Classifier(TestData.Load("iris.csv"), 2, 0.5), link));
        Assert.Contains("a link to '/dev/null'", problem.Message);
        Assert.Contains("a character device", problem.Message);
        Assert.Equal("a character device", FileTarget.Resolve("/dev/null", "/dev/null").NonRegularKind);
    }

    [Fact]
    public void AnyFailureTheWriterRaisesLeavesNoTemporaryFile()
    {
        string path = Path.Combine(folder, "model.hjml");
        File.WriteAllText(path, "old");
        Assert.Throws<OperationCanceledException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half"u8);
            throw new OperationCanceledException();
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["model.hjml"], Names());
    }

    [Fact]
    public void TheCommandLinesOutWritesThroughALinkAndRefusesAFifo()
    {
        string data = Path.Combine(TestData.Folder, "iris.csv");
        string model = Path.Combine(folder, "iris.hjml"), target = Path.Combine(folder, "predictions.csv"), link = Path.Combine(folder, "out.csv");
        Assert.Equal(0, Program.Run(["train", "--data", data, "--task", "multiclass", "--epochs", "2", "--out", model], new StringWriter(), new StringWriter()));
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(link, target);
        Assert.Equal(0, Program.Run(["predict", "--model", model, "--data", data, "--out", link], new StringWriter(), new StringWriter()));
        Assert.StartsWith("PredictedLabel", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(link).LinkTarget);

        string fifo = Path.Combine(folder, "fifo.csv");
        if (OperatingSystem.IsLinux() && Run("mkfifo", fifo))
        {
            var error = new StringWriter();
            Assert.Equal(2, Program.Run(["predict", "--model", model, "--data", data, "--out", fifo], new StringWriter(), error));
            Assert.Contains("not a regular file", error.ToString());
        }
    }

    private string[] Names() => [.. Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private static bool Run(string tool, params string[] arguments)
    {
        try
        {
            using Process? process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true });
            process?.WaitForExit();
            return process?.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
