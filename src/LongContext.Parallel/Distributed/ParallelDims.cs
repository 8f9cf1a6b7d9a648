namespace LongContext.Parallel.Distributed;

/// <summary>
/// Degrees of a data-parallel × context-parallel mesh (torchtitan's <c>ParallelDims</c>). The degrees multiply to
/// the world size; one of them may be given as -1 and is then inferred. Ranks are laid out dp-major
/// (rank = dp_rank × cp + cp_rank), so a context-parallel group holds consecutive ranks: on one node, those are the
/// GPUs joined by NVLink, where the ring's K/V traffic belongs.
/// </summary>
public sealed record ParallelDims
{
    public int Dp { get; }
    public int Cp { get; }
    public int WorldSize => Dp * Cp;
    public bool DpEnabled => Dp > 1;
    public bool CpEnabled => Cp > 1;
    /// <summary>What a sequence length must be divisible by: 2·cp for the zigzag layout (2·cp chunks), else 1.</summary>
    public int SeqLenDivisor => CpEnabled ? 2 * Cp : 1;

    ParallelDims(int dp, int cp) => (Dp, Cp) = (dp, cp);

    /// <summary>Checks the degrees against <paramref name="worldSize"/>, inferring a -1.</summary>
    public static ParallelDims Resolve(int worldSize, int dp = -1, int cp = 1)
    {
        if (worldSize < 1) throw new ConfigException($"world size {worldSize}: must be at least 1.");
        foreach (var (flag, v) in new[] { ("dp", dp), ("cp", cp) })
            if (v == 0 || v < -1) throw new ConfigException($"--{flag} {v}: a parallel degree must be ≥ 1, or -1 to infer it from the world size.");
        if (dp == -1 && cp == -1) throw new ConfigException("--dp and --cp are both -1: at most one degree can be inferred; give the other.");
        if (dp == -1 || cp == -1)
        {
            int known = dp == -1 ? cp : dp;
            if (worldSize % known != 0)
                throw new ConfigException($"--{(dp == -1 ? "cp" : "dp")} {known} does not divide the world size {worldSize}: choose a divisor of {worldSize}.");
            if (dp == -1) dp = worldSize / cp; else cp = worldSize / dp;
        }
        if (dp * cp != worldSize)
            throw new ConfigException($"--dp {dp} × --cp {cp} = {dp * cp}, but the world size is {worldSize}: the degrees must multiply to the number of ranks (pass -1 for one of them to infer it).");
        return new ParallelDims(dp, cp);
    }

    /// <summary>This rank's coordinates in the mesh.</summary>
    public (int DpRank, int CpRank) Coordinates(int rank) =>
        rank >= 0 && rank < WorldSize ? (rank / Cp, rank % Cp) : throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {WorldSize}");

    public int RankOf(int dpRank, int cpRank) => dpRank * Cp + cpRank;

    public override string ToString() => $"dp {Dp} × cp {Cp}";
}
