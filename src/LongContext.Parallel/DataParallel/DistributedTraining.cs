using LongContext.Parallel.Distributed;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// What a training command needs to take part in a launched run: the distributed context from the launcher's
/// variables (`longctx launch`, torchrun, srun), a dp mesh over it and the <see cref="DataParallelTopology"/>; for a
/// plain run (no launcher), the single-process topology. Under a launcher a world of one still gets the data-parallel
/// topology over its group (on CUDA: NCCL), so `longctx launch --nproc-per-node 1` exercises the whole path.
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

    public static DistributedTraining Start(Device device, DataParallelOptions? options = null, DistributedOptions? distributed = null)
    {
        var ctx = DistributedContext.Initialize(device, distributed);
        if (ctx.World.Backend == "single") return new DistributedTraining(ctx, null, null);
        DeviceMesh? mesh = null;
        try
        {
            mesh = DeviceMesh.Create(ctx.World, ParallelDims.Resolve(ctx.WorldSize));
            return new DistributedTraining(ctx, mesh, new DataParallelTopology(mesh, options, ctx.Store));
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
