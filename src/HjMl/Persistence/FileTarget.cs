using System.Runtime.InteropServices;
using System.Text;

namespace HjMl.Persistence;

/// <summary>
/// What a save is about to replace: the path after following symbolic links, and, for an existing file, its type,
/// permissions, owner and group and its number of hard links. On Linux these come from statx(2), whose record has the
/// same layout on every architecture; elsewhere the type is only file or directory and the owner is not read.
/// </summary>
internal readonly record struct FileTarget(string Path, bool Exists, string? NonRegularKind, UnixFileMode? Mode, uint? Owner, uint? Group, uint Links)
{
    // statx(2) constants (linux/stat.h, linux/fcntl.h): AT_FDCWD, STATX_BASIC_STATS and the file type bits of st_mode.
    private const int CurrentDirectory = -100;
    private const uint BasicStatistics = 0x7ff;
    private const int TypeMask = 0xF000;

    private static readonly nint StatxAddress = Export("statx");
    private static readonly nint ChownAddress = Export("chown");

    /// <summary>Follows <paramref name="fullPath"/> through symbolic links and describes what is there.</summary>
    /// <exception cref="IOException">The links form a loop or cannot be followed.</exception>
    public static FileTarget Resolve(string fullPath, string shownPath)
    {
        string path = fullPath;
        var link = new FileInfo(fullPath);
        if (link.LinkTarget is not null)
        {
            try
            {
                // The final target: a save through a link replaces what the link points at and keeps the link.
                path = link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? fullPath;
            }
            catch (IOException loop)
            {
                throw new IOException($"Cannot write '{shownPath}': it is a symbolic link that cannot be followed ({loop.Message}).", loop);
            }
        }

        if (Directory.Exists(path))
        {
            return new FileTarget(path, true, "a directory", null, null, null, 1);
        }

        if (!File.Exists(path))
        {
            return new FileTarget(path, false, null, null, null, null, 0);
        }

        return Describe(path);
    }

    /// <summary>Gives <paramref name="path"/> the owner and group of the replaced file where the process may (root may; an owner may change the group to one of its own).</summary>
    public unsafe void CopyOwnershipTo(string path)
    {
        if (ChownAddress == 0 || Owner is not { } owner || Group is not { } group)
        {
            return;
        }

        byte[] name = NullTerminated(path);
        fixed (byte* text = name)
        {
            var chown = (delegate* unmanaged[Cdecl]<byte*, uint, uint, int>)ChownAddress;
            if (chown(text, owner, group) != 0)
            {
                // Not permitted to give the file away: keep at least the group where the owner belongs to it.
                _ = chown(text, uint.MaxValue, group);
            }
        }
    }

    private static unsafe FileTarget Describe(string path)
    {
        UnixFileMode? mode = OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(path);
        if (StatxAddress == 0)
        {
            return new FileTarget(path, true, null, mode, null, null, 1);
        }

        byte* record = stackalloc byte[256];
        byte[] name = NullTerminated(path);
        int result;
        fixed (byte* text = name)
        {
            result = ((delegate* unmanaged[Cdecl]<int, byte*, int, uint, byte*, int>)StatxAddress)(CurrentDirectory, text, 0, BasicStatistics, record);
        }

        if (result != 0)
        {
            return new FileTarget(path, true, null, mode, null, null, 1);
        }

        // struct statx: stx_nlink at byte 16, stx_uid 20, stx_gid 24, stx_mode (16 bits) 28.
        uint links = *(uint*)(record + 16);
        uint owner = *(uint*)(record + 20);
        uint group = *(uint*)(record + 24);
        int type = *(ushort*)(record + 28) & TypeMask;
        string? kind = type switch
        {
            0x8000 => null,
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a directory",
            _ => "not a regular file",
        };
        return new FileTarget(path, true, kind, mode, owner, group, links);
    }

    private static byte[] NullTerminated(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    // libc is already in the process on Linux; its symbols are found through the main program's handle.
    private static nint Export(string name)
        => OperatingSystem.IsLinux() && NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), name, out nint address) ? address : 0;
}
