using System.IO.Hashing;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// Content hashes of checkpoint files: XxHash128 (non-cryptographic, ~20 GB/s, enough to catch flipped or torn
/// bytes), computed while the file is written (<see cref="HashingStream"/>) and checked on resume.
/// </summary>
public static class ContentHash
{
    public const string Algorithm = "xxh128";

    /// <summary>The hash of a file's bytes, read in 1 MiB pieces.</summary>
    public static string OfFile(string path)
    {
        var hash = new XxHash128();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        hash.Append(stream);
        return Hex(hash);
    }

    public static string Hex(XxHash128 hash) => Convert.ToHexStringLower(hash.GetCurrentHash());
}

/// <summary>A write-only stream that hashes and counts what passes through it on the way to <paramref name="inner"/> (left open).</summary>
public sealed class HashingStream(Stream inner) : Stream
{
    readonly XxHash128 hash = new();

    public long Written { get; private set; }
    public string Hash => ContentHash.Hex(hash);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.Append(buffer);
        inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
