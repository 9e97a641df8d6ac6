namespace HjMl.Persistence;

/// <summary>
/// Replaces a file all at once: the new bytes go to a temporary file in the same directory, are flushed to disk, and
/// only then is the temporary file moved over the destination. Readers see the old file or the new one, never a
/// half-written one, and a failure (an exception from the writer, a full disk) leaves the old file as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically replacing any existing file.</summary>
    /// <exception cref="DirectoryNotFoundException">The destination's directory does not exist.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string destination = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(destination) ?? throw new ArgumentException($"'{path}' names no file (it is a root directory).", nameof(path));
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Cannot write '{path}': the directory '{directory}' does not exist.");
        }

        if (Directory.Exists(destination))
        {
            throw new IOException($"Cannot write '{path}': it is a directory.");
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
