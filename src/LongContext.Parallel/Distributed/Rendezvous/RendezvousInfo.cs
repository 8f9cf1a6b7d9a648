using System.Collections;
using System.Globalization;

namespace LongContext.Parallel.Distributed.Rendezvous;

/// <summary>
/// Who this process is in a multi-process job, read from the variables launchers set: torchrun's and
/// `longctx launch`'s (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or SLURM's under srun
/// (SLURM_PROCID, SLURM_STEP_NUM_TASKS/SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID, the first host of
/// SLURM_STEP_NODELIST/SLURM_JOB_NODELIST). torchrun's win when both are present (torchrun inside srun).
/// </summary>
public sealed record RendezvousInfo(
    int Rank, int WorldSize, int LocalRank, int LocalWorldSize, int NodeRank, string MasterAddr, int MasterPort, int StorePort, string Source)
{
    /// <summary>Overrides the port of our rendezvous store (default MASTER_PORT, or MASTER_PORT + 1 beside torchrun's agent store).</summary>
    public const string StorePortVariable = "LONGCTX_STORE_PORT";

    public static RendezvousInfo? FromEnvironment() => FromVariables(ReadEnvironment());

    /// <summary>Null when no launcher variables are set (a plain single-process run).</summary>
    public static RendezvousInfo? FromVariables(IReadOnlyDictionary<string, string> env)
    {
        if (env.ContainsKey("WORLD_SIZE")) return FromTorchrun(env);
        // srun sets SLURM_STEP_NUM_TASKS; an sbatch script alone (SLURM_NTASKS but no step) is one process, not rank 0 of N.
        if (env.ContainsKey("SLURM_PROCID") && env.ContainsKey("SLURM_STEP_NUM_TASKS")) return FromSlurm(env);
        return null;
    }

    static RendezvousInfo FromTorchrun(IReadOnlyDictionary<string, string> env)
    {
        int world = Int(env, "WORLD_SIZE", min: 1);
        int rank = Int(env, "RANK", min: 0);
        if (rank >= world) throw new DistributedException($"RANK={rank} is not below WORLD_SIZE={world}.");
        int localWorld = env.ContainsKey("LOCAL_WORLD_SIZE") ? Int(env, "LOCAL_WORLD_SIZE", min: 1) : world;
        int localRank = env.ContainsKey("LOCAL_RANK") ? Int(env, "LOCAL_RANK", min: 0) : rank % localWorld;
        int nodeRank = env.ContainsKey("GROUP_RANK") ? Int(env, "GROUP_RANK", min: 0) : env.ContainsKey("NODE_RANK") ? Int(env, "NODE_RANK", min: 0) : rank / localWorld;
        string? addr = env.GetValueOrDefault("MASTER_ADDR");
        if (string.IsNullOrWhiteSpace(addr))
        {
            if (localWorld < world) throw new DistributedException("MASTER_ADDR is not set: a multi-node job needs rank 0's host name or address in MASTER_ADDR.");
            addr = "127.0.0.1";
        }
        if (!env.ContainsKey("MASTER_PORT") && world > 1) throw new DistributedException("MASTER_PORT is not set: give the port rank 0 listens on (torchrun and `longctx launch` set it).");
        int port = env.ContainsKey("MASTER_PORT") ? Int(env, "MASTER_PORT", min: 1) : 29500;
        // torchrun's static rendezvous keeps its own c10d store on MASTER_PORT; ours then takes the next port.
        bool agentStore = string.Equals(env.GetValueOrDefault("TORCHELASTIC_USE_AGENT_STORE"), "True", StringComparison.OrdinalIgnoreCase);
        string source = env.ContainsKey("TORCHELASTIC_RUN_ID") ? "torchrun" : env.ContainsKey("LONGCTX_LAUNCH") ? "longctx launch" : "environment";
        return new RendezvousInfo(rank, world, localRank, localWorld, nodeRank, addr, port, StorePortFrom(env, agentStore ? port + 1 : port), source);
    }

    static RendezvousInfo FromSlurm(IReadOnlyDictionary<string, string> env)
    {
        int world = Int(env, "SLURM_STEP_NUM_TASKS", min: 1);
        int rank = Int(env, "SLURM_PROCID", min: 0);
        int localRank = env.ContainsKey("SLURM_LOCALID") ? Int(env, "SLURM_LOCALID", min: 0) : 0;
        int nodeRank = env.ContainsKey("SLURM_NODEID") ? Int(env, "SLURM_NODEID", min: 0) : 0;
        int localWorld = TasksOnNode(env.GetValueOrDefault("SLURM_STEP_TASKS_PER_NODE") ?? env.GetValueOrDefault("SLURM_TASKS_PER_NODE"), nodeRank) ?? world;
        string addr = env.GetValueOrDefault("MASTER_ADDR") is { Length: > 0 } a ? a
            : SlurmNodeList.FirstHost(env.GetValueOrDefault("SLURM_STEP_NODELIST") ?? env.GetValueOrDefault("SLURM_JOB_NODELIST") ?? env.GetValueOrDefault("SLURM_NODELIST")
                ?? throw new DistributedException("under srun but SLURM_STEP_NODELIST/SLURM_JOB_NODELIST is not set: set MASTER_ADDR to rank 0's host."));
        // One port per job (as PyTorch Lightning derives it), so two jobs sharing a node do not collide.
        int port = env.ContainsKey("MASTER_PORT") ? Int(env, "MASTER_PORT", min: 1)
            : 15000 + (int)(long.TryParse(env.GetValueOrDefault("SLURM_JOB_ID"), out long job) ? job % 10000 : 0);
        return new RendezvousInfo(rank, world, localRank, localWorld, nodeRank, addr, port, StorePortFrom(env, port), "slurm");
    }

    /// <summary>SLURM's "4(x2),2" form: tasks on node <paramref name="node"/>.</summary>
    internal static int? TasksOnNode(string? tasksPerNode, int node)
    {
        if (string.IsNullOrWhiteSpace(tasksPerNode)) return null;
        int seen = 0;
        foreach (var part in tasksPerNode.Split(','))
        {
            var m = System.Text.RegularExpressions.Regex.Match(part.Trim(), @"^(\d+)(?:\(x(\d+)\))?$");
            if (!m.Success) return null;
            int count = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            seen += m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 1;
            if (node < seen) return count;
        }
        return null;
    }

    static int StorePortFrom(IReadOnlyDictionary<string, string> env, int fallback) =>
        env.ContainsKey(StorePortVariable) ? Int(env, StorePortVariable, min: 1) : fallback;

    static int Int(IReadOnlyDictionary<string, string> env, string name, int min)
    {
        var v = env.GetValueOrDefault(name);
        if (v is null || !int.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min)
            throw new DistributedException($"{name}={v ?? "(unset)"}: expected an integer ≥ {min}.");
        return n;
    }

    static Dictionary<string, string> ReadEnvironment()
    {
        var env = new Dictionary<string, string>();
        // An empty variable (WORLD_SIZE= in a script) counts as unset.
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Value is string v && v.Trim().Length > 0) env[(string)e.Key] = v;
        return env;
    }

    /// <summary>
    /// The CUDA ordinal this rank uses: 0 when the launcher left one device visible (`longctx launch`, srun with
    /// --gpus-per-task), else LOCAL_RANK (torchrun leaves every GPU visible).
    /// </summary>
    public int CudaDevice(int visibleDevices)
    {
        if (visibleDevices < 1) throw new DistributedException($"rank {Rank} asked for a GPU but none is visible (CUDA_VISIBLE_DEVICES={Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "(unset)"}).");
        if (visibleDevices == 1) return 0;
        if (LocalRank >= visibleDevices)
            throw new DistributedException($"LOCAL_RANK={LocalRank} but only {visibleDevices} GPUs are visible on this node: start at most {visibleDevices} ranks per node.");
        return LocalRank;
    }
}
