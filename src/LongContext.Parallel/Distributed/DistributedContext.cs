using LongContext.Core.Native;
using LongContext.Parallel.Distributed.Rendezvous;
using LongContext.Parallel.Distributed.Store;
using LongContext.Parallel.Nccl;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>How <see cref="DistributedContext.Initialize"/> picks and runs the world group.</summary>
/// <param name="Backend">auto (NCCL on CUDA, TCP on CPU, single without launcher variables), nccl, tcp or single;
/// LONGCTX_DIST_BACKEND overrides auto.</param>
/// <param name="Timeout">Per-operation timeout (default LONGCTX_DIST_TIMEOUT or 300 s).</param>
/// <param name="ExitGrace">After a group fails, how long the process may take to stop by itself before it is ended.</param>
public sealed record DistributedOptions(string Backend = "auto", TimeSpan? Timeout = null, TimeSpan? ExitGrace = null)
{
    public const string BackendVariable = "LONGCTX_DIST_BACKEND";
}

/// <summary>
/// The entry point commands call: reads the launcher's variables (torchrun, `longctx launch`, srun), makes this
/// rank's device current, connects the store (rank 0 hosts it) and builds the world group: NCCL on CUDA, TCP on CPU,
/// a <see cref="SingleProcessGroup"/> for a plain run. WORLD_SIZE=1 on CUDA still goes through NCCL, so
/// `longctx launch --nproc-per-node 1` exercises it. A failed group ends the process after
/// <see cref="DistributedOptions.ExitGrace"/> if its code does not stop by itself (a rank blocked in a GPU call).
/// </summary>
public sealed class DistributedContext : IDisposable
{
    readonly IStore? store;
    readonly ProgressBoard? board;
    readonly TimeSpan exitGrace;
    int failing;

    public RendezvousInfo? Rendezvous { get; }
    /// <summary>The rendezvous store (null for a single-process run): more groups can be built over it.</summary>
    public IStore? Store => store;
    public IProcessGroup World { get; }
    /// <summary>This rank's device (cuda:LOCAL_RANK, or cuda:0 when one GPU is visible).</summary>
    public Device Device { get; }
    public int Rank => World.Rank;
    public int WorldSize => World.Size;
    public int LocalRank => Rendezvous?.LocalRank ?? 0;
    public bool IsDistributed => World.Size > 1;
    /// <summary>Rank 0: the one that writes metrics, reports and exports.</summary>
    public bool IsMain => World.Rank == 0;

    DistributedContext(RendezvousInfo? info, IProcessGroup world, Device device, IStore? store, ProgressBoard? board, TimeSpan exitGrace) =>
        (Rendezvous, World, Device, this.store, this.board, this.exitGrace) = (info, world, device, store, board, exitGrace);

    /// <summary>A context for a run without launcher variables (or tests): one rank, on <paramref name="device"/>.</summary>
    public static DistributedContext Single(Device device) => new(null, new SingleProcessGroup(device), device, null, null, TimeSpan.Zero);

    public static DistributedContext Initialize(Device device, DistributedOptions? options = null)
    {
        options ??= new DistributedOptions();
        var info = RendezvousInfo.FromEnvironment();
        string backend = ChooseBackend(options.Backend, info, device);
        if (backend == "single")
        {
            if (info is { WorldSize: > 1 }) throw new DistributedException($"backend 'single' cannot run WORLD_SIZE={info.WorldSize} ranks.");
            return Single(device);
        }
        if (info is null) throw new DistributedException($"backend '{backend}' needs the launcher's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): start the command with `longctx launch`, torchrun --no-python or srun.");
        var timeout = options.Timeout ?? DistributedTimeouts.Default;
        if (backend == "nccl")
        {
            if (device.type != DeviceType.CUDA) throw new DistributedException($"backend nccl needs --device cuda (got {device}); CPU runs use the tcp backend.");
            MulticastDefaults.Apply();
            int index = info.CudaDevice(CudaDevice.Count());
            CudaDevice.Set(index);
            device = torch.device(DeviceType.CUDA, index);
        }
        var store = TcpStore.Connect(info.MasterAddr, info.StorePort, timeout, hostServer: info.Rank == 0);
        ProgressBoard? board = null;
        try
        {
            board = new ProgressBoard(TcpStore.Connect(info.MasterAddr, store.Port, timeout), info.Rank, timeout);
            var ctx = (DistributedContext?)null;
            var services = new GroupServices(board, e => ctx?.OnFailure(e));
            IProcessGroup world = backend == "nccl"
                ? NcclProcessGroup.Create(store, info.Rank, info.WorldSize, device.index, timeout, services, "nccl")
                : TcpProcessGroup.Create(store, info.Rank, info.WorldSize, timeout, advertise: null, prefix: "tcp", services);
            ctx = new DistributedContext(info, world, device, store, board, options.ExitGrace ?? TimeSpan.FromSeconds(15));
            return ctx;
        }
        catch
        {
            board?.Dispose();
            store.Dispose();
            throw;
        }
    }

    static string ChooseBackend(string requested, RendezvousInfo? info, Device device)
    {
        string b = (requested == "auto" ? Environment.GetEnvironmentVariable(DistributedOptions.BackendVariable) : null) ?? requested;
        b = b.Trim().ToLowerInvariant();
        if (b is not ("auto" or "nccl" or "tcp" or "single"))
            throw new DistributedException($"distributed backend '{b}': expected auto, nccl, tcp or single ({DistributedOptions.BackendVariable}).");
        if (b != "auto") return b;
        if (info is null) return "single";
        if (device.type == DeviceType.CUDA) return "nccl";
        return info.WorldSize == 1 ? "single" : "tcp";
    }

    void OnFailure(DistributedException e)
    {
        if (Interlocked.Exchange(ref failing, 1) == 1) return;
        new Thread(() =>
        {
            Thread.Sleep(exitGrace);
            Console.Error.WriteLine($"longctx: rank {Rank}: {e.Message}");
            Console.Error.WriteLine($"longctx: rank {Rank} did not stop within {exitGrace.TotalSeconds:F0} s of this failure; exiting.");
            Environment.Exit(1);
        }) { IsBackground = true, Name = "longctx failure exit" }.Start();
    }

    /// <summary>
    /// Stops the heartbeats and the world group. Rank 0 keeps the store up until every rank has left (bounded by the
    /// timeout), so no rank loses the store while it is still shutting down.
    /// </summary>
    public void Dispose()
    {
        board?.Dispose();
        World.Dispose();
        if (store is null) return;
        try
        {
            long left = store.Add("shutdown/left", 1);
            if (Rank == 0)
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Min(30, World.Timeout.TotalSeconds));
                while (left < WorldSize && DateTime.UtcNow < deadline && failing == 0)
                {
                    Thread.Sleep(20);
                    left = store.Add("shutdown/left", 0);
                }
            }
        }
        catch (DistributedException) { } // the store host already left: nothing to wait for
        store.Dispose();
    }
}
