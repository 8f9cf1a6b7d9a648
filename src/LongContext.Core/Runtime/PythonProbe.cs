using System.Diagnostics;

namespace LongContext.Core.Runtime;

/// <summary>Asks the machine's Python (PYTHON or python3) one question, e.g. where PyTorch keeps its libraries.</summary>
public static class PythonProbe
{
    /// <summary>The trimmed stdout of `python3 -c code`, or null when Python is absent, fails or hangs.</summary>
    public static string? Run(string code, int timeoutMs = 30_000)
    {
        try
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("PYTHON") ?? "python3", ["-c", code])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs)) { p.Kill(); return null; }
            return p.ExitCode == 0 ? output.Result.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no python3 on this machine
        }
    }
}
