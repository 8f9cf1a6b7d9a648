using System.Diagnostics;
using System.Text;

namespace LongContext.Tests.Cli;

/// <summary>
/// The real `longctx` (built into the test output) as a child process, for what only a process shows: signals, exit
/// codes, crashes at teardown. Output is collected as it arrives; the process is killed if a test leaves it running.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder stdout = new(), stderr = new();
    readonly List<string> stdoutLines = [];

    CliProcess(Process process) => this.process = process;

    public static CliProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "longctx.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var child = new CliProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        child.process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (child.stdout)
            {
                child.stdout.AppendLine(e.Data);
                child.stdoutLines.Add(e.Data);
            }
        };
        child.process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (child.stderr) child.stderr.AppendLine(e.Data);
        };
        child.process.Start();
        child.process.BeginOutputReadLine();
        child.process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The dotnet host running this test (dotnet test sets DOTNET_HOST_PATH), else `dotnet` on PATH.</summary>
    static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public int Id => process.Id;
    public string Stdout { get { lock (stdout) return stdout.ToString(); } }
    public string Stderr { get { lock (stderr) return stderr.ToString(); } }
    public bool HasExited => process.HasExited;

    /// <summary>Waits for a stdout line matching <paramref name="predicate"/>; fails if the process exits or time runs out.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (stdout)
                if (stdoutLines.FirstOrDefault(predicate) is string line) return line;
            if (process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no matching output line (exited: {process.HasExited}); stdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Sends a POSIX signal by name (INT, TERM) with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", name, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -s {name} {process.Id} failed with exit code {kill.ExitCode}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the process did not exit within {timeout.TotalSeconds} s; stdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        process.WaitForExit();   // flushes the redirected output
        return process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        process.Dispose();
    }
}
