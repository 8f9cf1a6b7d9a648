using System.Text;

namespace LongContext.Tests.Data;

/// <summary>A scratch folder removed at dispose, with helpers to write corpus files into it.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "longctx-data-" + Guid.NewGuid().ToString("N"));

    public string File(string relative, string text) => Bytes(relative, Encoding.UTF8.GetBytes(text));

    public string Bytes(string relative, byte[] bytes)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, bytes);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
