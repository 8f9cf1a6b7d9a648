using System.CommandLine;

namespace LongContext.Cli.Commands;

/// <summary>Options shared by the commands that read a training corpus.</summary>
public static class DataOptions
{
    public static Option<long?> MaxFileBytes() => new("--max-file-bytes")
    {
        Description = "Files larger than this are skipped (and listed) when --data is a folder (default 8388608 = 8 MiB for text, no limit for .jsonl)",
    };
}
