namespace LongContext.Parallel.Distributed;

/// <summary>
/// The dp and cp sub-groups of a world group for <see cref="ParallelDims"/>. Building it is collective (every rank
/// of <see cref="World"/> must call <see cref="Create"/>); disposing it disposes the sub-groups, not the world.
/// </summary>
public sealed class DeviceMesh : IDisposable
{
    public ParallelDims Dims { get; }
    public IProcessGroup World { get; }
    /// <summary>Ranks holding the same sequence shard of different batches (gradients are reduced here).</summary>
    public IProcessGroup Dp { get; }
    /// <summary>Ranks sharing one sequence (K/V travel here).</summary>
    public IProcessGroup Cp { get; }
    public int DpRank => Dp.Rank;
    public int CpRank => Cp.Rank;

    DeviceMesh(ParallelDims dims, IProcessGroup world, IProcessGroup dp, IProcessGroup cp) => (Dims, World, Dp, Cp) = (dims, world, dp, cp);

    public static DeviceMesh Create(IProcessGroup world, ParallelDims dims)
    {
        if (dims.WorldSize != world.Size)
            throw new DistributedException($"mesh {dims} needs {dims.WorldSize} ranks, but group '{world.Name}' has {world.Size}.");
        var (dpRank, cpRank) = dims.Coordinates(world.Rank);
        var cp = world.Split(color: dpRank, key: cpRank, name: "cp");
        var dp = world.Split(color: cpRank, key: dpRank, name: "dp");
        return new DeviceMesh(dims, world, dp, cp);
    }

    public void Dispose()
    {
        Dp.Dispose();
        Cp.Dispose();
    }
}
