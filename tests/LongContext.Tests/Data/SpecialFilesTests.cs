using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using LongContext.Training.Data;
using Xunit;

namespace LongContext.Tests.Data;

/// <summary>
/// What a data folder may hold besides text files: named pipes, sockets, device links, symbolic links (to files,
/// folders, nowhere, or in a loop), unreadable folders and oversized files. None may hang or crash a reader, and
/// every one left out is listed with the reason.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SpecialFilesTests
{
    [DllImport("libc.so.6", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);

    [DllImport("libc.so.6", SetLastError = true)]
    static extern int mkdir(byte[] path, uint mode);

    [DllImport("libc.so.6")]
    static extern uint geteuid();

    static string[] Skips(IDocumentSource source) => source.Skipped.Select(s => s.ToString()).ToArray();

    /// <summary>Runs the reader with a deadline; a reader blocked in open() on the pipe is released by opening the
    /// pipe's other end, so a failing run ends instead of hanging the test process.</summary>
    static async Task<List<TextDocument>> ReadWithDeadline(IDocumentSource source, string fifo)
    {
        var read = Task.Run(() => source.ReadDocuments().ToList());
        if (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(20))) != read)
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }
            Assert.Fail("the reader opened the named pipe and blocked on it");
        }
        return await read;
    }

    [Fact]
    public async Task Named_pipe_in_the_data_folder_is_listed_as_not_a_regular_file_and_never_opened()
    {
        using var dir = new TempDir();
        dir.File("a.txt", "alpha");
        dir.File("z.txt", "zulu");
        string fifo = Path.Combine(dir.Path, "m.pipe");
        Assert.Equal(0, mkfifo(fifo, 0x1B6));   // 0666

        var source = new FolderDocumentSource(dir.Path);
        var docs = await ReadWithDeadline(source, fifo);

        Assert.Equal(["a.txt", "z.txt"], docs.Select(d => d.Id));
        Assert.Equal(["m.pipe: not a regular file (named pipe)"], Skips(source));
        Assert.DoesNotContain(source.Describe().Files, f => f.Path == "m.pipe");
    }

    [Fact]
    public void Sockets_and_links_to_devices_are_skipped_as_not_regular_files()
    {
        using var dir = new TempDir();
        dir.File("doc.txt", "text");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir.Path, "server.sock")));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "null.txt"), "/dev/null");

        var source = new FolderDocumentSource(dir.Path);

        Assert.Equal(["doc.txt"], source.ReadDocuments().Select(d => d.Id));
        Assert.Equal(["null.txt: not a regular file (character device, via a symbolic link)", "server.sock: not a regular file (socket)"], Skips(source));
    }

    [Fact]
    public async Task Symbolic_links_to_files_are_read_and_links_that_loop_dangle_or_lead_to_folders_are_listed()
    {
        using var dir = new TempDir();
        using var outside = new TempDir();
        string target = outside.File("shared/notes.txt", "notes kept elsewhere");
        dir.File("sub/own.txt", "own");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "notes.txt"), target);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "loop-a"), Path.Combine(dir.Path, "loop-b"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "loop-b"), Path.Combine(dir.Path, "loop-a"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "gone.txt"), Path.Combine(dir.Path, "missing.txt"));
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "sub", "up"), dir.Path);   // a folder cycle if followed

        var source = new FolderDocumentSource(dir.Path);
        var docs = await Task.Run(() => source.ReadDocuments().ToList()).WaitAsync(TimeSpan.FromSeconds(20));   // a followed cycle never ends

        Assert.Equal(["notes.txt", "sub/own.txt"], docs.Select(d => d.Id));
        Assert.Equal("notes kept elsewhere", docs[0].Text);
        var notes = source.Describe().Files.Single(f => f.Path == "notes.txt");
        Assert.Equal(new FileInfo(target).Length, notes.Bytes);                       // the target's size and mtime key the cache
        Assert.Equal(new FileInfo(target).LastWriteTimeUtc, notes.LastWriteUtc);
        Assert.Equal([
            $"gone.txt: broken symbolic link (target {Path.Combine(dir.Path, "missing.txt")} not found)",
            "loop-a: symbolic link loop (not followed)",
            "loop-b: symbolic link loop (not followed)",
            "sub/up: symbolic link to a folder (not followed)",
        ], Skips(source));
    }

    [Fact]
    public void Files_over_the_size_limit_are_listed_with_the_limit_and_the_option_that_raises_it()
    {
        using var dir = new TempDir();
        dir.File("small.txt", "small");
        dir.File("data/dump.txt", new string('x', 5000));

        var source = new FolderDocumentSource(dir.Path, new FolderSourceOptions { MaxFileBytes = 4096 });

        Assert.Equal(["small.txt"], source.ReadDocuments().Select(d => d.Id));
        Assert.Equal(["data/dump.txt: too large (5,000 bytes > the 4,096-byte limit; raise it with --max-file-bytes)"], Skips(source));
        Assert.Equal(["data/dump.txt", "small.txt"], new FolderDocumentSource(dir.Path, new FolderSourceOptions { MaxFileBytes = 5000 })
            .ReadDocuments().Select(d => d.Id));
    }

    [Fact]
    public void A_folder_that_cannot_be_read_is_listed_not_dropped()
    {
        using var dir = new TempDir();
        dir.File("ok.txt", "fine");
        // A folder whose name is not UTF-8 cannot be opened through .NET by anyone, root included (its name comes
        // back with U+FFFD): an unreadable folder this test can make whatever the user it runs as.
        var raw = Encoding.UTF8.GetBytes(Path.Combine(dir.Path, "latin")).Concat(new byte[] { 0xE9, 0 }).ToArray();
        Assert.Equal(0, mkdir(raw, 0x1FF));
        // chmod 000 stops reads only for non-root users (root bypasses permission bits).
        string locked = Path.Combine(dir.Path, "locked");
        dir.File("locked/secret.txt", "secret");
        File.SetUnixFileMode(locked, UnixFileMode.None);
        try
        {
            var source = new FolderDocumentSource(dir.Path);
            var docs = source.ReadDocuments().Select(d => d.Id).ToList();
            var skips = Skips(source);

            Assert.Contains("latin\uFFFD/: unreadable folder (its name is not valid UTF-8)", skips);
            if (geteuid() != 0)
            {
                Assert.Equal(["ok.txt"], docs);
                Assert.Contains(skips, s => s.StartsWith("locked/: unreadable folder (", StringComparison.Ordinal));
            }
            else Assert.Equal(["locked/secret.txt", "ok.txt"], docs);   // root can read it: nothing to report
        }
        finally { File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [Fact]
    public void Unreadable_file_is_listed_instead_of_failing_the_run()
    {
        using var dir = new TempDir();
        dir.File("ok.txt", "fine");
        string locked = dir.File("locked.txt", "secret");
        File.SetUnixFileMode(locked, UnixFileMode.None);
        if (geteuid() == 0) return;   // root reads a mode-000 file: there is no unreadable file to make here

        var source = new FolderDocumentSource(dir.Path);

        Assert.Equal(["ok.txt"], source.ReadDocuments().Select(d => d.Id));
        Assert.Contains(Skips(source), s => s.StartsWith("locked.txt: unreadable (", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_named_pipe_given_as_the_jsonl_file_is_refused_with_the_reason()
    {
        using var dir = new TempDir();
        string fifo = Path.Combine(dir.Path, "stream.jsonl");
        Assert.Equal(0, mkfifo(fifo, 0x1B6));

        var source = DocumentSources.Open(fifo);
        var e = await Task.Run(() => Assert.Throws<DataException>(() => source.Describe())).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Contains("not a regular file (named pipe)", e.Message);
    }

    [Fact]
    public async Task Jsonl_folders_list_their_special_files_too()
    {
        using var dir = new TempDir();
        dir.File("a.jsonl", "{\"text\": \"one\"}\n");
        string fifo = Path.Combine(dir.Path, "b.jsonl");
        Assert.Equal(0, mkfifo(fifo, 0x1B6));

        var source = new JsonlDocumentSource(dir.Path);
        var docs = await ReadWithDeadline(source, fifo);

        Assert.Equal(["a.jsonl:1"], docs.Select(d => d.Id));
        Assert.Equal(["b.jsonl: not a regular file (named pipe)"], Skips(source));
    }
}
