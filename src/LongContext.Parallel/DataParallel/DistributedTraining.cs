using LongContext.Parallel.ContextParallel;
using LongContext.Parallel.Distributed;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// What a training command needs to take part in a launched run: the distributed context from the launcher's
/// variables (`longctx launch`, torchrun, srun), a dp × cp mesh over it (cp from `--context-parallel`, dp the rest of
/// the world) and the <see cref="DataParallelTopology"/> on it; for a plain run (no launcher), the single-process
/// topology. Under a launcher a world of one still gets the data-parallel topology over its group (on CUDA: NCCL), so
/// `longctx launch --nproc-per-node 1` exercises the whole path.
/// </summary>
public sealed class DistributedTraining : IDisposable
{
    readonly DistributedContext context;
    readonly DeviceMesh? mesh;
    readonly DataParallelTopology? dataParallel;

    DistributedTraining(DistributedContext context, DeviceMesh? mesh, DataParallelTopology? dataParallel) =>
        (this.context, this.mesh, this.dataParallel) = (context, mesh, dataParallel);

    /// <summary>This rank's device (cuda:LOCAL_RANK under a launcher on CUDA).</summary>
    public Device Device => context.Device;
    public ITrainingTopology Topology => (ITrainingTopology?)dataParallel ?? SingleProcessTopology.Instance;
    public int Rank => context.Rank;
    public int WorldSize => context.WorldSize;
    /// <summary>Rank 0: prints progress and results (every rank runs the same command).</summary>
    public bool IsMain => context.IsMain;
    /// <summary>"single", "tcp", "nccl" or "thread".</summary>
    public string Backend => context.World.Backend;

    /// <summary>The mesh's degrees (dp × cp); dp 1 × cp 1 for a plain run.</summary>
    public ParallelDims Dims => mesh?.Dims ?? ParallelDims.Resolve(1);

    /// <param name="contextParallel">Ranks sharing each sequence (cp; `--context-parallel`); the world size must be a multiple of it.</param>
    /// <param name="cpOptions">The context-parallel attention variant (cp &gt; 1).</param>
    /// <param name="log">Where rank 0 tells the context-parallel attention decisions; the other ranks stay quiet.</param>
    public static DistributedTraining Start(Device device, DataParallelOptions? options = null, DistributedOptions? distributed = null,
        int contextParallel = 1, ContextParallelOptions? cpOptions = null, Action<string>? log = null)
    {
        if (contextParallel < 1) throw new ConfigException($"--context-parallel {contextParallel}: must be at least 1 (1: no context parallelism).");
        var ctx = DistributedContext.Initialize(device, distributed);
        if (ctx.World.Backend == "single")
        {
            if (contextParallel == 1) return new DistributedTraining(ctx, null, null);
            ctx.Dispose();
            throw new ConfigException($"--context-parallel {contextParallel} shares each sequence among {contextParallel} ranks, but this is one process: "
                + $"start the ranks with `longctx launch --nproc-per-node {contextParallel} -- <command> ...` (or torchrun/srun); the world size must be a multiple of {contextParallel}.");
        }
        DeviceMesh? mesh = null;
        try
        {
            if (ctx.WorldSize % contextParallel != 0)
                throw new ConfigException($"--context-parallel {contextParallel} does not divide the world size {ctx.WorldSize}: the ranks form a dp × cp mesh "
                    + $"(dp = world / cp). Use a divisor of {ctx.WorldSize} or launch a multiple of {contextParallel} ranks.");
            mesh = DeviceMesh.Create(ctx.World, ParallelDims.Resolve(ctx.WorldSize, dp: -1, cp: contextParallel));
            var rank0Log = ctx.IsMain ? log : null;
            return new DistributedTraining(ctx, mesh, new DataParallelTopology(mesh, options, ctx.Store, cpOptions, rank0Log));
        }
        catch
        {
            mesh?.Dispose();
            ctx.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        dataParallel?.Dispose();
        mesh?.Dispose();
        context.Dispose();
    }
}
