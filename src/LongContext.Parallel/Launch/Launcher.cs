using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Rendezvous;

namespace LongContext.Parallel.Launch;

/// <param name="Gpus">auto: one visible GPU per rank when the node has GPUs (CUDA_VISIBLE_DEVICES set per child);
/// none: leave CUDA_VISIBLE_DEVICES alone (CPU ranks, or every rank sees every GPU); or a list like "0,1,2,3".</param>
/// <param name="TerminateGrace">After SIGTERM, how long ranks get to exit before SIGKILL.</param>
/// <param name="Environment">Extra variables for every rank (over the launcher's own environment).</param>
public sealed record LaunchOptions(int NprocPerNode, int Nnodes = 1, int NodeRank = 0, string? MasterAddr = null, int MasterPort = 0,
    string Gpus = "auto", TimeSpan? TerminateGrace = null, IReadOnlyDictionary<string, string>? Environment = null);

/// <summary>
/// `longctx launch`: starts one process per local rank with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
/// LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT), one GPU each, and the multicast switches off; prefixes
/// each rank's output lines with "[rank k]"; forwards SIGINT/SIGTERM; when a rank fails, stops the others (after 2 s
/// in which they may report the failure themselves: SIGTERM, then SIGKILL after the grace period) and returns the first
/// failure's exit code.
/// </summary>
public static partial class Launcher
{
    const int SigInt = 2, SigKill = 9, SigTerm = 15;
    static readonly TimeSpan ReportWindow = TimeSpan.FromSeconds(2);

    public static int Run(LaunchOptions o, string program, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var env = ChildEnvironments(o, out string summary);
        stderr.WriteLine($"[launch] {summary}");
        var gate = new object();
        var children = new Process[env.Count];
        int firstFailedRank = -1, firstFailure = 0, signal = 0;
        var changed = new AutoResetEvent(false);

        void Forward(int sig)
        {
            foreach (var c in children)
                if (c is not null && !HasExited(c)) _ = kill(c.Id, sig);
        }

        var registrations = new List<PosixSignalRegistration>();
        foreach (var (posix, sig) in new[] { (PosixSignal.SIGINT, SigInt), (PosixSignal.SIGTERM, SigTerm), (PosixSignal.SIGHUP, SigTerm) })
            registrations.Add(PosixSignalRegistration.Create(posix, ctx =>
            {
                ctx.Cancel = true; // stay alive until the ranks have stopped
                if (Interlocked.CompareExchange(ref signal, sig, 0) == 0)
                {
                    lock (gate) stderr.WriteLine($"[launch] got {(sig == SigInt ? "SIGINT" : "SIGTERM")}: passing it to every rank");
                    Forward(sig);
                    changed.Set();
                }
            }));
        try
        {
            for (int local = 0; local < children.Length; local++)
            {
                int rank = o.NodeRank * o.NprocPerNode + local;
                var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in args) psi.ArgumentList.Add(a);
                psi.Environment.Clear();
                foreach (var (k, v) in env[local]) psi.Environment[k] = v;
                var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) stdout.WriteLine($"[rank {rank}] {e.Data}"); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) stderr.WriteLine($"[rank {rank}] {e.Data}"); };
                p.Exited += (_, _) => changed.Set();
                try { p.Start(); }
                catch (System.ComponentModel.Win32Exception e)
                {
                    Forward(SigKill);
                    throw new DistributedException($"launch: cannot start '{program}': {e.Message}");
                }
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                children[local] = p;
            }
            DateTime? killAt = null, termAt = null;
            while (true)
            {
                bool allDone = true;
                for (int local = 0; local < children.Length; local++)
                {
                    var c = children[local];
                    if (!HasExited(c)) { allDone = false; continue; }
                    if (c.ExitCode != 0 && firstFailedRank < 0 && signal == 0)
                    {
                        firstFailedRank = o.NodeRank * o.NprocPerNode + local;
                        firstFailure = c.ExitCode;
                        lock (gate) stderr.WriteLine($"[launch] rank {firstFailedRank} exited with code {Describe(c.ExitCode)}; stopping the other ranks");
                        // A moment first: peers that noticed the failure say so themselves (naming the rank and the operation).
                        termAt = DateTime.UtcNow + ReportWindow;
                    }
                }
                if (allDone) break;
                if (termAt is { } t && DateTime.UtcNow >= t)
                {
                    Forward(SigTerm);
                    termAt = null;
                    killAt = DateTime.UtcNow + (o.TerminateGrace ?? TimeSpan.FromSeconds(10));
                }
                if (signal != 0 && killAt is null) killAt = DateTime.UtcNow + (o.TerminateGrace ?? TimeSpan.FromSeconds(10));
                if (killAt is { } at && DateTime.UtcNow >= at)
                {
                    lock (gate) stderr.WriteLine("[launch] ranks still running after the grace period: killing them");
                    Forward(SigKill);
                    killAt = DateTime.MaxValue;
                }
                changed.WaitOne(TimeSpan.FromMilliseconds(100));
            }
            foreach (var c in children) c.WaitForExit(); // drains the output readers
            if (signal != 0) return 128 + signal;
            return firstFailedRank >= 0 ? firstFailure : 0;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
            foreach (var c in children)
            {
                if (c is not null && !HasExited(c)) _ = kill(c.Id, SigKill);
                c?.Dispose();
            }
        }
    }

    /// <summary>Each local rank's full environment, and one line describing the launch.</summary>
    internal static List<Dictionary<string, string>> ChildEnvironments(LaunchOptions o, out string summary)
    {
        if (o.NprocPerNode < 1) throw new DistributedException($"--nproc-per-node {o.NprocPerNode}: start at least one process.");
        if (o.Nnodes < 1) throw new DistributedException($"--nnodes {o.Nnodes}: must be at least 1.");
        if (o.NodeRank < 0 || o.NodeRank >= o.Nnodes) throw new DistributedException($"--node-rank {o.NodeRank} must be in [0, {o.Nnodes - 1}] for --nnodes {o.Nnodes}.");
        if (o.Nnodes > 1 && (o.MasterAddr is null || o.MasterPort == 0))
            throw new DistributedException("--nnodes > 1 needs --master-addr (node 0's address) and --master-port (the same on every node).");
        string addr = o.MasterAddr ?? "127.0.0.1";
        int port = o.MasterPort != 0 ? o.MasterPort : FreePort();
        var gpus = AssignGpus(o);
        var baseEnv = new Dictionary<string, string>();
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables()) baseEnv[(string)e.Key] = (string?)e.Value ?? "";
        foreach (var (k, v) in o.Environment ?? new Dictionary<string, string>()) baseEnv[k] = v;
        // A launcher started inside torchrun or srun starts a world of its own.
        baseEnv.Remove("TORCHELASTIC_USE_AGENT_STORE");
        baseEnv.Remove(RendezvousInfo.StorePortVariable);
        foreach (var (name, value) in MulticastDefaults.Variables) baseEnv.TryAdd(name, value);
        int world = o.Nnodes * o.NprocPerNode;
        var envs = new List<Dictionary<string, string>>();
        for (int local = 0; local < o.NprocPerNode; local++)
        {
            var env = new Dictionary<string, string>(baseEnv)
            {
                ["RANK"] = (o.NodeRank * o.NprocPerNode + local).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["WORLD_SIZE"] = world.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["LOCAL_RANK"] = local.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["LOCAL_WORLD_SIZE"] = o.NprocPerNode.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["GROUP_RANK"] = o.NodeRank.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["NODE_RANK"] = o.NodeRank.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["MASTER_ADDR"] = addr,
                ["MASTER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["LONGCTX_LAUNCH"] = "1",
            };
            if (gpus is not null) env["CUDA_VISIBLE_DEVICES"] = gpus[local];
            envs.Add(env);
        }
        summary = $"{o.NprocPerNode} rank(s) on node {o.NodeRank} of {o.Nnodes} (world {world}), master {addr}:{port}, " +
            (gpus is null ? "GPUs not assigned" : "GPU per rank " + string.Join(",", gpus));
        return envs;
    }

    static string[]? AssignGpus(LaunchOptions o)
    {
        if (o.Gpus == "none") return null;
        IReadOnlyList<string> available = o.Gpus == "auto" ? NvidiaGpus.Visible() : o.Gpus.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (available.Count == 0)
        {
            if (o.Gpus == "auto") return null; // a CPU machine: ranks use the TCP backend
            throw new DistributedException($"--gpus '{o.Gpus}': expected auto, none or a list like 0,1,2,3.");
        }
        if (available.Count < o.NprocPerNode)
            throw new DistributedException($"--nproc-per-node {o.NprocPerNode} but {available.Count} GPU(s) are available ({string.Join(",", available)}): " +
                "start at most one rank per GPU, or pass --gpus none for CPU ranks.");
        return [.. available.Take(o.NprocPerNode)];
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Any, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static bool HasExited(Process p)
    {
        try { return p.HasExited; }
        catch (InvalidOperationException) { return true; }
    }

    static string Describe(int code) => code > 128 && code < 160 ? $"{code} (signal {code - 128}{(code - 128 == SigKill ? ", SIGKILL: killed or out of memory" : "")})" : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
