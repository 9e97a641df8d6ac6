namespace HjMl.Persistence;

/// <summary>
/// Replaces a file all at once: the new bytes go to a temporary file in the same directory, are flushed to disk, and
/// only then is the temporary file moved over the destination. Readers see the old file or the new one, never a
/// half-written one, and a failure (an exception from the writer, a full disk) leaves the old file as it was and no
/// temporary file behind.
/// </summary>
/// <remarks>
/// <para>
/// A symbolic link is followed: the file it points at is replaced and the link stays. The replaced file's permissions
/// are kept, and on Linux its owner and group where the process may set them (as root; an owner may keep the group).
/// Only regular files are replaced: a FIFO, device or socket at the path (or at a link's target) is refused with an
/// <see cref="IOException"/> that names it, since writing there is not saving a file and replacing it would remove
/// the node.
/// </para>
/// <para>
/// A file with several hard links is replaced under this name only: the other names keep the previous content, as
/// they must when the new bytes arrive by rename (writing in place would let a reader see a half-written file).
/// </para>
/// </remarks>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically replacing any existing file.</summary>
    /// <exception cref="DirectoryNotFoundException">The destination's directory does not exist.</exception>
    /// <exception cref="IOException">The destination (or a symbolic link's target) is a directory, FIFO, device or socket, or a link that cannot be followed.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        FileTarget target = FileTarget.Resolve(Path.GetFullPath(path), path);
        string destination = target.Path;
        string shown = destination == Path.GetFullPath(path) ? $"'{path}'" : $"'{path}' (a link to '{destination}')";
        string directory = Path.GetDirectoryName(destination) ?? throw new ArgumentException($"'{path}' names no file (it is a root directory).", nameof(path));
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Cannot write {shown}: the directory '{directory}' does not exist.");
        }

        if (target.NonRegularKind is { } kind)
        {
            throw new IOException($"Cannot write {shown}: it is {kind}, not a regular file; HjMl saves by replacing a regular file, so give the path of a file.");
        }

        // Same directory, so the final move is a rename within one file system (atomic on POSIX, MoveFileEx on Windows).
        string temporary = Path.Combine(directory, $".{Path.GetFileName(destination)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            // Owner before mode: chown may clear the set-user-ID and set-group-ID bits the mode then restores.
            target.CopyOwnershipTo(temporary);
            if (target.Mode is { } mode && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, mode);
            }

            File.Move(temporary, destination, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (IOException)
        {
            // The original failure matters more than a leftover temporary file; its name starts with '.' and ends '.tmp'.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
