using LongContext;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// How data-parallel ranks share the work of a step (`--zero`, `--grad-bucket-mb`).
/// </summary>
/// <param name="Zero">0: AdamW replicated on every rank, gradients all-reduced. 1: fp32 masters and moments sharded
/// over the ranks (12 bytes per parameter ÷ dp), gradients all-reduced, updated parameters all-gathered. 2: as 1, and
/// gradients reduce-scattered to their owner as the backward produces them (every micro-step), so each rank keeps
/// only its shard of them (4 bytes per parameter ÷ dp, fp32) instead of the whole model's.</param>
/// <param name="BucketMegabytes">Gradients travel in flat buckets of about this size (parameters in reverse order,
/// the order the backward completes them); a larger bucket means fewer, larger collectives.</param>
/// <param name="Overlap">Launch each bucket's reduction as soon as the backward has finished its layers (false: all
/// after the backward; for measuring the overlap).</param>
public sealed record DataParallelOptions(int Zero = 0, double BucketMegabytes = 25, bool Overlap = true)
{
    public DataParallelOptions Validate()
    {
        if (Zero is < 0 or > 2) throw new ConfigException($"--zero {Zero}: expected 0 (replicated AdamW), 1 (sharded optimizer state) or 2 (sharded optimizer state and gradients).");
        if (!double.IsFinite(BucketMegabytes) || BucketMegabytes <= 0) throw new ConfigException($"--grad-bucket-mb {BucketMegabytes}: must be a positive number of MiB, e.g. 25.");
        return this;
    }

    public long BucketBytes => Math.Max(1, (long)(BucketMegabytes * (1 << 20)));
}
