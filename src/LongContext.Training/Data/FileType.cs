using System.Runtime.InteropServices;

namespace LongContext.Training.Data;

/// <summary>What a directory entry is, found without opening it.</summary>
internal enum FileKind
{
    Regular,
    Directory,
    SymbolicLink,
    NamedPipe,
    Socket,
    CharacterDevice,
    BlockDevice,
    /// <summary>The entry could not be examined (<see cref="FileTypeResult.Error"/> says why).</summary>
    Unknown,
}

/// <summary>The kind of an entry, or why it could not be examined (errno text, e.g. a symbolic link loop).</summary>
internal readonly record struct FileTypeResult(FileKind Kind, string? Error = null)
{
    public bool IsLoop => Error == FileType.LoopMessage;
    public bool IsMissing => Error == FileType.MissingMessage;
}

/// <summary>
/// File types from <c>statx(2)</c>, so nothing is opened to learn them: opening a named pipe blocks until a writer
/// appears, and .NET's <see cref="FileSystemInfo"/> cannot tell a pipe, socket or device from a regular file.
/// Where statx is not available (not Linux/glibc) it falls back to what .NET reports (links, folders, the rest
/// taken as regular files).
/// </summary>
internal static partial class FileType
{
    internal const string LoopMessage = "symbolic link loop";
    internal const string MissingMessage = "not found";

    const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1;
    const int Eloop = 40, Enoent = 2, Eacces = 13, Enotdir = 20, Enametoolong = 36;
    static bool statxMissing = !OperatingSystem.IsLinux();

    /// <summary>The entry at <paramref name="path"/>; with <paramref name="followLinks"/>, what a symbolic link finally points to.</summary>
    public static FileTypeResult Of(string path, bool followLinks)
    {
        if (!statxMissing)
        {
            try
            {
                if (statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, out var buffer) == 0) return new(KindOf(buffer.Mode));
                int errno = Marshal.GetLastPInvokeError();
                return new(FileKind.Unknown, errno switch
                {
                    Eloop => LoopMessage,
                    Enoent => MissingMessage,
                    Eacces => "permission denied",
                    Enotdir => "a path component is not a folder",
                    Enametoolong => "name too long",
                    _ => Marshal.GetPInvokeErrorMessage(errno),
                });
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                statxMissing = true;
            }
        }
        return Fallback(path, followLinks);
    }

    static FileTypeResult Fallback(string path, bool followLinks)
    {
        try
        {
            FileSystemInfo info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                if (!followLinks) return new(FileKind.SymbolicLink);
                info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            }
            if (!info.Exists && !Directory.Exists(info.FullName)) return new(FileKind.Unknown, MissingMessage);
            return new(info.Attributes.HasFlag(FileAttributes.Directory) ? FileKind.Directory : FileKind.Regular);
        }
        catch (IOException e)
        {
            return new(FileKind.Unknown, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return new(FileKind.Unknown, e.Message);
        }
    }

    static FileKind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.NamedPipe,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        _ => FileKind.Unknown,
    };

    /// <summary>"named pipe", "socket", … for the skip reason of an entry that is not a regular file.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.NamedPipe => "named pipe",
        FileKind.Socket => "socket",
        FileKind.CharacterDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Directory => "folder",
        FileKind.SymbolicLink => "symbolic link",
        FileKind.Regular => "regular file",
        _ => "unknown file type",
    };

    /// <summary>struct statx (linux/stat.h): the same layout on every Linux architecture; only stx_mode is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    struct Statx
    {
        [FieldOffset(28)] public ushort Mode;
    }

    [LibraryImport("libc.so.6", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, out Statx buffer);
}
