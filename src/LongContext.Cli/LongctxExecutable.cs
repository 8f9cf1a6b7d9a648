namespace LongContext.Cli;

/// <summary>How to start this `longctx` again as a child process (the launcher and `selftest dist` spawn ranks).</summary>
internal static class LongctxExecutable
{
    /// <summary>The program and the arguments that precede a subcommand: the apphost, or `dotnet longctx.dll`.</summary>
    public static (string Program, string[] Prefix) Resolve()
    {
        var dll = typeof(LongCtxApp).Assembly.Location;
        if (string.IsNullOrEmpty(dll)) return (Environment.ProcessPath!, []); // single-file publish: the process is longctx
        var apphost = Path.Combine(Path.GetDirectoryName(dll)!, OperatingSystem.IsWindows() ? "longctx.exe" : "longctx");
        if (File.Exists(apphost)) return (apphost, []);
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return (host, [dll]);
    }
}
